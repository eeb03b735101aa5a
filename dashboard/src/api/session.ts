// Signing in and out. These routes answer 401 as a verdict (a wrong password, an expired
// link), not as an expired session: none of them refreshes and retries.
import { call } from "./http";
import type { components } from "./schema";

type S = components["schemas"];

export const logIn = (body: S["LoginRequest"]) => call("post", "/auth/login", { body, noRefresh: true });

/** The second step when the account has MFA: the ticket from logIn and a code. */
export const logInMfa = (body: S["MfaRequest"]) => call("post", "/auth/mfa", { body, noRefresh: true });

/** A new password through an invitation's or a reset's one-time link. */
export const setPasswordWithToken = (body: S["SetPasswordRequest"]) => call("post", "/auth/password", { body, noRefresh: true });

export const logOut = () => call("post", "/auth/logout", { noRefresh: true });
