// Organisations: the current one's settings (["org"], its admins) and the platform's list
// (["orgs"], platform admins). Both show an organisation's name and MFA rule, so a change
// through one makes the other stale.
import { queryOptions, useMutation, useQueryClient } from "@tanstack/react-query";
import { call } from "./http";
import type { CreateOrg, Org, UpdateOrg } from "./types";

export const orgKeys = {
  current: () => ["org"] as const,
  all: () => ["orgs"] as const,
};

export const currentOrgQuery = () =>
  queryOptions({
    queryKey: orgKeys.current(),
    queryFn: ({ signal }) => call("get", "/org", { signal }),
  });

export const orgsQuery = () =>
  queryOptions({
    queryKey: orgKeys.all(),
    queryFn: ({ signal }) => call("get", "/orgs", { signal }),
  });

/** The current organisation's settings: the answer replaces the cached ones. */
export function useUpdateCurrentOrg(onSaved?: (updated: Org) => void) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: UpdateOrg) => call("patch", "/org", { body }),
    onSuccess: (updated) => {
      queries.setQueryData(orgKeys.current(), updated);
      void queries.invalidateQueries({ queryKey: orgKeys.all() });
      onSaved?.(updated);
    },
  });
}

export function useCreateOrg(onCreated?: () => void) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateOrg) => call("post", "/orgs", { body }),
    onSuccess: () => {
      onCreated?.();
      void queries.invalidateQueries({ queryKey: orgKeys.all() });
    },
  });
}

/** A platform admin's change to any organisation; it may be the current one. */
export function useUpdateOrg(id: string, onSaved?: () => void) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: UpdateOrg) => call("patch", "/orgs/{id}", { path: { id }, body }),
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: orgKeys.all() });
      void queries.invalidateQueries({ queryKey: orgKeys.current() });
      onSaved?.();
    },
  });
}

/** What follows depends on whether it was the organisation in use: the page decides (see Orgs.tsx). */
export function useDeleteOrg(id: string, onDeleted: () => Promise<void> | void) {
  return useMutation({
    mutationFn: () => call("delete", "/orgs/{id}", { path: { id } }),
    onSuccess: onDeleted,
  });
}
