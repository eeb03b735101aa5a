// Who is signed in, in which organisation, and with which role there.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { currentOrg, onSessionExpired, refreshSession, setAccessToken, setCurrentOrg } from "../api/client";
import { getMe } from "../api/me";
import { logOut } from "../api/session";
import type { Me, MyOrg, Role } from "../api/types";
import { navigate } from "../lib/router";

export interface Session {
  me: Me;
  org: MyOrg | null;
  role: Role | null;
  isAdmin: boolean;
  switchOrg: (id: string) => void;
  signOut: () => Promise<void>;
  reload: () => Promise<void>;
}

type State = { phase: "starting" } | { phase: "signed-out" } | { phase: "signed-in"; me: Me };

const SessionContext = createContext<Session | null>(null);
const SignInContext = createContext<(token: string) => Promise<void>>(async () => {});

/** The organisation the API acts in: the saved choice if still a membership, else the first. */
export function pickOrg(me: Me, saved: string | null): MyOrg | null {
  const usable = me.orgs.filter((o) => !o.disabled);
  return usable.find((o) => o.id === saved) ?? usable[0] ?? null;
}

export function loginPath(current: string): string {
  return current.startsWith("/login") ? "/login" : `/login?next=${encodeURIComponent(current)}`;
}

export function SessionProvider({ children, fallback }: { children: ReactNode; fallback: ReactNode }) {
  const [state, setState] = useState<State>({ phase: "starting" });
  const queries = useQueryClient();

  const loadMe = useCallback(async () => {
    const me = await getMe();
    const org = pickOrg(me, currentOrg());
    if (org?.id !== currentOrg() && !me.platform_admin) setCurrentOrg(org?.id ?? null);
    setState({ phase: "signed-in", me });
  }, []);

  useEffect(() => {
    let live = true;
    void (async () => {
      if (await refreshSession()) {
        try {
          await loadMe();
          return;
        } catch {
          // Fall through to the login page.
        }
      }
      if (live) setState({ phase: "signed-out" });
    })();
    return () => {
      live = false;
    };
  }, [loadMe]);

  useEffect(
    () =>
      onSessionExpired(() => {
        setState({ phase: "signed-out" });
        queries.clear();
        navigate(loginPath(window.location.pathname + window.location.search), { replace: true });
      }),
    [queries],
  );

  const signIn = useCallback(
    async (token: string) => {
      setAccessToken(token);
      await loadMe();
    },
    [loadMe],
  );

  const session = useMemo<Session | null>(() => {
    if (state.phase !== "signed-in") return null;
    const me = state.me;
    const saved = currentOrg();
    const org = me.platform_admin && saved ? (me.orgs.find((o) => o.id === saved) ?? null) : pickOrg(me, saved);
    const role: Role | null = org?.role ?? (me.platform_admin ? "admin" : null);
    return {
      me,
      org,
      role,
      isAdmin: role === "admin",
      switchOrg: (id: string) => {
        setCurrentOrg(id);
        queries.clear();
        setState({ phase: "signed-in", me: { ...me } });
        navigate("/");
      },
      signOut: async () => {
        try {
          await logOut();
        } catch {
          // Signed out here whatever the server says.
        }
        setAccessToken(null);
        queries.clear();
        setState({ phase: "signed-out" });
        navigate("/login", { replace: true });
      },
      reload: loadMe,
    };
  }, [state, queries, loadMe]);

  if (state.phase === "starting") return <>{fallback}</>;
  return (
    <SignInContext.Provider value={signIn}>
      <SessionContext.Provider value={session}>{children}</SessionContext.Provider>
    </SignInContext.Provider>
  );
}

/** The session; only for components rendered behind the sign-in gate. */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside a signed-in page");
  return s;
}

export function useOptionalSession(): Session | null {
  return useContext(SessionContext);
}

export function useSignIn() {
  return useContext(SignInContext);
}
