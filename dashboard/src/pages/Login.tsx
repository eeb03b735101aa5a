// Sign-in: password, then the second factor when the account has one; back to where the
// user was when their session ended.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { logIn, logInMfa, setPasswordWithToken } from "../api/session";
import type { LoginResponse } from "../api/types";
import { useSignIn } from "../auth/session";
import { LanguageSwitch, ThemeToggle } from "../components/Layout";
import { TextField } from "../components/fields";
import { Button, ErrorBanner, errorText } from "../components/ui";
import { navigate, useLocation } from "../lib/router";

/** Only a path of this app: `next` comes from the address bar. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/login")) return "/";
  return next;
}

export function AuthFrame({ title, subtitle, children }: { title: string; subtitle?: string; children: React.ReactNode }) {
  const { t } = useTranslation();
  return (
    <div className="flex min-h-screen flex-col items-center justify-center p-4">
      <div className="absolute top-3 right-3 flex items-center gap-2">
        <LanguageSwitch />
        <ThemeToggle />
      </div>
      <main className="glass w-full max-w-sm rounded-3xl p-6 sm:p-8">
        <div className="mb-6 flex items-center gap-3">
          <img src="/favicon.svg" alt="" width="36" height="36" />
          <div>
            <p className="text-lg font-semibold">{t("common.product")}</p>
            <p className="text-xs text-muted">{t("login.subtitle")}</p>
          </div>
        </div>
        <h1 className="mb-1 text-xl font-semibold">{title}</h1>
        {subtitle && <p className="mb-4 text-sm text-muted">{subtitle}</p>}
        {children}
      </main>
    </div>
  );
}

/**
 * A form that calls the server without a query: `run` marks it busy, clears the last error and
 * keeps the new one's words.
 */
function useSubmitting() {
  const { t } = useTranslation();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (err) {
      setError(errorText(err, t));
    } finally {
      setBusy(false);
    }
  };
  return { error, setError, busy, run };
}

export default function Login() {
  const { t } = useTranslation();
  const signIn = useSignIn();
  const { search } = useLocation();
  const next = safeNext(search.get("next"));
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [ticket, setTicket] = useState<string | null>(null);
  const [code, setCode] = useState("");
  const { error, busy, run } = useSubmitting();

  const finish = async (res: LoginResponse) => {
    if (res.access_token) {
      await signIn(res.access_token);
      navigate(next, { replace: true });
    } else if (res.mfa_required && res.mfa_ticket) {
      setTicket(res.mfa_ticket);
      setCode("");
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const res = ticket ? await logInMfa({ mfa_ticket: ticket, code: code.trim() }) : await logIn({ email, password });
      await finish(res);
    });
  };

  return (
    <AuthFrame
      title={ticket ? t("login.mfaTitle") : t("login.title")}
      subtitle={ticket ? t("login.mfaHint") : search.get("next") ? t("login.expired") : undefined}
    >
      <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
        {ticket ? (
          <TextField
            label={t("login.code")}
            name="code"
            value={code}
            onChange={setCode}
            autoComplete="one-time-code"
            inputMode="text"
            autoFocus
            required
          />
        ) : (
          <>
            <TextField
              label={t("login.email")}
              name="email"
              type="email"
              value={email}
              onChange={setEmail}
              autoComplete="username"
              autoFocus
              required
            />
            <TextField
              label={t("login.password")}
              name="password"
              type="password"
              value={password}
              onChange={setPassword}
              autoComplete="current-password"
              required
            />
          </>
        )}
        <ErrorBanner>{error}</ErrorBanner>
        <Button type="submit" variant="primary" busy={busy}>
          {ticket ? t("login.verify") : t("login.submit")}
        </Button>
        {ticket && (
          <Button variant="ghost" onClick={() => setTicket(null)}>
            {t("login.useOther")}
          </Button>
        )}
      </form>
    </AuthFrame>
  );
}

export function SetPassword() {
  const { t } = useTranslation();
  const { search } = useLocation();
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [done, setDone] = useState(false);
  const { error, setError, busy, run } = useSubmitting();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (password !== repeat) {
      setError(t("login.mismatch"));
      return;
    }
    void run(async () => {
      await setPasswordWithToken({ token: search.get("token") ?? "", password });
      setDone(true);
    });
  };
  return (
    <AuthFrame title={t("login.setPasswordTitle")} subtitle={t("login.setPasswordHint")}>
      {done ? (
        <div className="flex flex-col gap-4">
          <p role="status">{t("login.setPasswordDone")}</p>
          <Button variant="primary" onClick={() => navigate("/login", { replace: true })}>
            {t("login.submit")}
          </Button>
        </div>
      ) : (
        <form onSubmit={submit} className="flex flex-col gap-4">
          <TextField
            label={t("login.newPassword")}
            type="password"
            value={password}
            onChange={setPassword}
            autoComplete="new-password"
            minLength={10}
            required
          />
          <TextField
            label={t("login.repeatPassword")}
            type="password"
            value={repeat}
            onChange={setRepeat}
            autoComplete="new-password"
            required
          />
          <ErrorBanner>{error}</ErrorBanner>
          <Button type="submit" variant="primary" busy={busy}>
            {t("common.action.save")}
          </Button>
        </form>
      )}
    </AuthFrame>
  );
}
