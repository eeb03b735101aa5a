// Enrollment keys: what an agent presents once to join the organisation.
import { queryOptions, useMutation, useQueryClient } from "@tanstack/react-query";
import { call } from "./http";
import type { CreateEnrollKey, CreatedEnrollKey } from "./types";

export const enrollKeys = {
  all: () => ["enroll-keys"] as const,
};

export const enrollKeysQuery = () =>
  queryOptions({
    queryKey: enrollKeys.all(),
    queryFn: ({ signal }) => call("get", "/enroll-keys", { signal }),
  });

/** The answer holds the secret, shown once; the list only knows the new key's prefix. */
export function useCreateEnrollKey(onCreated: (created: CreatedEnrollKey) => void) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateEnrollKey) => call("post", "/enroll-keys", { body }),
    onSuccess: (created) => {
      onCreated(created);
      void queries.invalidateQueries({ queryKey: enrollKeys.all() });
    },
  });
}

export function useRevokeEnrollKey(id: string) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: () => call("delete", "/enroll-keys/{id}", { path: { id } }),
    onSuccess: () => void queries.invalidateQueries({ queryKey: enrollKeys.all() }),
  });
}
