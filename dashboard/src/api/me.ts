// The signed-in user: who they are (the session keeps it, auth/session.tsx), invitations,
// password, MFA and sessions. Nothing here is in the query cache: after a change the session
// reloads /me or ends, which the callers decide.
import { useMutation } from "@tanstack/react-query";
import { refreshSession } from "./client";
import { call } from "./http";
import type { ChangePasswordRequest, CodeRequest, RecoveryCodes, TotpEnrollment } from "./types";

export const getMe = () => call("get", "/me");

export function useAnswerInvitation(orgId: string, onAnswered: () => void) {
  return useMutation({
    mutationFn: (accept: boolean) => call("post", "/me/invitations/{org_id}", { path: { org_id: orgId }, body: { accept } }),
    onSuccess: onAnswered,
  });
}

/** Every session ends on success, this one included. */
export function useChangePassword(onChanged: () => void) {
  return useMutation({
    mutationFn: async (body: ChangePasswordRequest) => {
      // A wrong current password is answered 401, which must not read as an expired session:
      // take a fresh access token first, then send without the refresh-and-retry.
      await refreshSession();
      await call("put", "/me/password", { body, noRefresh: true });
    },
    onSuccess: onChanged,
  });
}

export function useStartTotp(onStarted: (e: TotpEnrollment) => void) {
  return useMutation({ mutationFn: () => call("post", "/me/mfa/totp"), onSuccess: onStarted });
}

export function useConfirmTotp(onConfirmed: (r: RecoveryCodes) => void) {
  return useMutation({ mutationFn: (body: CodeRequest) => call("post", "/me/mfa/totp/confirm", { body }), onSuccess: onConfirmed });
}

export function useDisableTotp(onDisabled: () => void) {
  return useMutation({ mutationFn: (body: CodeRequest) => call("post", "/me/mfa/totp/disable", { body }), onSuccess: onDisabled });
}

/** Ends every session of the user, this one included. */
export function useLogOutEverywhere(onDone: () => void) {
  return useMutation({ mutationFn: () => call("post", "/auth/logout-all"), onSuccess: onDone });
}
