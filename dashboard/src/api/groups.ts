// Groups of machines. A group's list carries member counts, and each machine lists its groups:
// a change of members touches both sides.
import { queryOptions, useMutation, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { call } from "./http";
import { machineKeys } from "./machines";
import type { CreateGroup, GroupMembers, UpdateGroup } from "./types";

export const groupKeys = {
  all: () => ["groups"] as const,
};

export const groupsQuery = () =>
  queryOptions({
    queryKey: groupKeys.all(),
    queryFn: ({ signal }) => call("get", "/groups", { signal }),
  });

/** Members changed: the groups' counts, the machine lists' group columns and each machine's groups. */
function membershipChanged(queries: QueryClient) {
  void queries.invalidateQueries({ queryKey: groupKeys.all() });
  void queries.invalidateQueries({ queryKey: machineKeys.lists() });
  void queries.invalidateQueries({ queryKey: machineKeys.details() });
}

/** Creates a group, or renames / recolours / redescribes the one with `id`. */
export function useSaveGroup(id: string | null, onSaved?: () => void) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateGroup & UpdateGroup) =>
      id !== null ? call("patch", "/groups/{id}", { path: { id }, body }) : call("post", "/groups", { body }),
    onSuccess: () => {
      // Only the list shows a group's name and colour; machines refer to groups by id.
      void queries.invalidateQueries({ queryKey: groupKeys.all() });
      onSaved?.();
    },
  });
}

export function useEditGroupMembers(id: string, onSaved?: () => void) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: GroupMembers) => call("post", "/groups/{id}/machines", { path: { id }, body }),
    onSuccess: () => {
      membershipChanged(queries);
      onSaved?.();
    },
  });
}

/** Deleting a group takes it off its machines too. */
export function useDeleteGroup(id: string) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: () => call("delete", "/groups/{id}", { path: { id } }),
    onSuccess: () => membershipChanged(queries),
  });
}
