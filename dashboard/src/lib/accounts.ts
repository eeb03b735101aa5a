// Accounts: one-time set-password links, new-password checks and recovery codes.

/** The page where the holder of a one-time token chooses a password. */
export function setPasswordUrl(origin: string, token: string): string {
  return `${origin.replace(/\/+$/, "")}/set-password?token=${encodeURIComponent(token)}`;
}

/** The server's bounds (auth/password.rs). */
export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 1024;

export type PasswordProblem = "tooShort" | "tooLong" | "mismatch" | "same";

/** What is wrong with a new password before asking the server, or null. */
export function newPasswordProblem(current: string, next: string, repeat: string): PasswordProblem | null {
  const length = [...next].length;
  if (length < PASSWORD_MIN) return "tooShort";
  if (length > PASSWORD_MAX) return "tooLong";
  if (next === current) return "same";
  if (next !== repeat) return "mismatch";
  return null;
}

/** Recovery codes to copy or save: one a line. */
export function recoveryCodesText(codes: string[]): string {
  return codes.join("\n");
}

/** A code as typed: spaces (from grouping) dropped. */
export function cleanCode(code: string): string {
  return code.replace(/\s+/g, "");
}
