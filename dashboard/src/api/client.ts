// The one door to the API: the access token lives in memory only, the refresh token in an
// HttpOnly cookie the browser sends to /api/v1/auth. A 401 refreshes once and retries; when
// the refresh fails too, the session has expired and the app goes back to the login page.
import type { AccessToken, ErrorBody } from "./types";

export const API = "/api/v1";
const ORG_KEY = "optralis.org";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string | null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

let accessToken: string | null = null;
let refreshing: Promise<boolean> | null = null;
const expiredListeners = new Set<() => void>();

export function setAccessToken(token: string | null) {
  accessToken = token;
}

export function hasAccessToken() {
  return accessToken !== null;
}

export function onSessionExpired(listener: () => void): () => void {
  expiredListeners.add(listener);
  return () => expiredListeners.delete(listener);
}

export function currentOrg(): string | null {
  try {
    return localStorage.getItem(ORG_KEY);
  } catch {
    return null;
  }
}

export function setCurrentOrg(id: string | null) {
  try {
    if (id) localStorage.setItem(ORG_KEY, id);
    else localStorage.removeItem(ORG_KEY);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
}

export function authHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
  const org = currentOrg();
  if (org) headers["X-Optralis-Org"] = org;
  return headers;
}

/** Asks for a new access token with the refresh cookie; concurrent callers share one try. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const res = await fetch(`${API}/auth/refresh`, { method: "POST", credentials: "same-origin" });
      if (!res.ok) return false;
      const body = (await res.json()) as AccessToken;
      accessToken = body.access_token;
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export async function errorFrom(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  let field: string | null | undefined;
  try {
    const body = (await res.json()) as ErrorBody;
    if (body?.error) ({ code, message, field } = body.error);
  } catch {
    // Not JSON (a proxy's page): keep the status text.
  }
  return new ApiError(res.status, code, message, field);
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | null | undefined>;
  signal?: AbortSignal;
  /** Sign-in routes: a 401 there is an answer, not an expired session. */
  noRefresh?: boolean;
}

export function withQuery(path: string, query?: RequestOptions["query"]): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const url = API + withQuery(path, opts.query);
  const send = () => {
    const headers: Record<string, string> = authHeaders();
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      credentials: "same-origin",
      signal: opts.signal,
    });
  };
  let res: Response;
  try {
    res = await send();
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, "network", "The server cannot be reached.");
  }
  if (res.status === 401 && !opts.noRefresh) {
    if (await refreshSession()) {
      // A 401 with a fresh token is an answer (a wrong current password), not an expiry.
      res = await send();
    } else {
      accessToken = null;
      expiredListeners.forEach((l) => l());
    }
  }
  if (!res.ok) throw await errorFrom(res);
  if (res.status === 204) return undefined as T;
  const type = res.headers.get("content-type") ?? "";
  return (type.includes("json") ? await res.json() : await res.text()) as T;
}
