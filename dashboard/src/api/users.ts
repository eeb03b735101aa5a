// The organisation's users: invitations, roles, disabling, resets and removal.
import { queryOptions, useMutation, useQueryClient } from "@tanstack/react-query";
import { call } from "./http";
import type { CreatedUser, CreateUser, PasswordReset, Role } from "./types";

export const userKeys = {
  all: () => ["users"] as const,
};

export const usersQuery = () =>
  queryOptions({
    queryKey: userKeys.all(),
    queryFn: ({ signal }) => call("get", "/users", { signal }),
  });

/** The answer carries the invitation link when no mail was sent; the page shows it. */
export function useInviteUser(onInvited: (created: CreatedUser) => void) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateUser) => call("post", "/users", { body }),
    onSuccess: (created) => {
      void queries.invalidateQueries({ queryKey: userKeys.all() });
      onInvited(created);
    },
  });
}

/** What an admin does to one user. */
export type UserAction =
  | { kind: "role"; role: Role }
  | { kind: "disable" }
  | { kind: "enable" }
  | { kind: "resetPassword" }
  | { kind: "resetMfa" }
  | { kind: "remove" };

/** The request of an action; only a password reset answers something (its link). */
export async function actOnUser(id: string, a: UserAction): Promise<PasswordReset | void> {
  const path = { id };
  switch (a.kind) {
    case "role":
      return void (await call("patch", "/users/{id}", { path, body: { role: a.role } }));
    case "disable":
    case "enable":
      return void (await call("patch", "/users/{id}", { path, body: { disabled: a.kind === "disable" } }));
    case "resetPassword":
      return call("post", "/users/{id}/password-reset", { path });
    case "resetMfa":
      return void (await call("post", "/users/{id}/mfa-reset", { path }));
    case "remove":
      return void (await call("delete", "/users/{id}", { path }));
  }
}

/** Every action shows in the list (role, disabled, MFA, gone). */
export function useUserAction(
  id: string,
  handlers: { onMutate?: () => void; onSuccess?: (result: PasswordReset | void, a: UserAction) => void },
) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (a: UserAction) => actOnUser(id, a),
    onMutate: handlers.onMutate,
    onSuccess: (result, a) => {
      void queries.invalidateQueries({ queryKey: userKeys.all() });
      handlers.onSuccess?.(result, a);
    },
  });
}
