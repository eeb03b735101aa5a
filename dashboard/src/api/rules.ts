// Alert rules. The server answers a change with the rule, but the list is read again: it is
// sorted and other admins may have changed it.
import { queryOptions, useMutation, useQueryClient } from "@tanstack/react-query";
import { call } from "./http";
import type { RuleSpec } from "./types";

export const ruleKeys = {
  all: () => ["rules"] as const,
};

export const rulesQuery = () =>
  queryOptions({
    queryKey: ruleKeys.all(),
    queryFn: ({ signal }) => call("get", "/rules", { signal }),
  });

/** Creates a rule, or replaces the spec of the one with `id`; the dialog closes once the list is fresh. */
export function useSaveRule(id: string | null, onSaved?: () => void) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (spec: RuleSpec) =>
      id !== null ? call("put", "/rules/{id}", { path: { id }, body: spec }) : call("post", "/rules", { body: spec }),
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: ruleKeys.all() });
      onSaved?.();
    },
  });
}

/** A rule is switched on or off by sending its whole spec again (PUT replaces it). */
export function useToggleRule(id: string, spec: RuleSpec) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (enabled: boolean) => call("put", "/rules/{id}", { path: { id }, body: { ...spec, enabled } }),
    onSuccess: () => queries.invalidateQueries({ queryKey: ruleKeys.all() }),
  });
}

export function useDeleteRule(id: string) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: () => call("delete", "/rules/{id}", { path: { id } }),
    onSuccess: () => queries.invalidateQueries({ queryKey: ruleKeys.all() }),
  });
}
