// Sign-in: password, then the second factor when the account has one; back to where the
// user was when their session ended.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { logIn, logInMfa, setPasswordWithToken } from "../api/session";
import type { LoginResponse } from "../api/types";
import { useSignIn } from "../auth/session";
import { LanguageSwitch, ThemeToggle } from "../components/Layout";
import { Button, Field, Input, errorText } from "../components/ui";
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

export default function Login() {
  const { t } = useTranslation();
  const signIn = useSignIn();
  const { search } = useLocation();
  const next = safeNext(search.get("next"));
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [ticket, setTicket] = useState<string | null>(null);
  const [code, setCode] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const finish = async (res: LoginResponse) => {
    if (res.access_token) {
      await signIn(res.access_token);
      navigate(next, { replace: true });
    } else if (res.mfa_required && res.mfa_ticket) {
      setTicket(res.mfa_ticket);
      setCode("");
    }
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = ticket ? await logInMfa({ mfa_ticket: ticket, code: code.trim() }) : await logIn({ email, password });
      await finish(res);
    } catch (err) {
      setError(errorText(err, t));
    } finally {
      setBusy(false);
    }
  };

  return (
    <AuthFrame
      title={ticket ? t("login.mfaTitle") : t("login.title")}
      subtitle={ticket ? t("login.mfaHint") : search.get("next") ? t("login.expired") : undefined}
    >
      <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
        {ticket ? (
          <Field label={t("login.code")}>
            {(id) => (
              <Input
                id={id}
                name="code"
                value={code}
                onChange={(e) => setCode(e.target.value)}
                autoComplete="one-time-code"
                inputMode="text"
                autoFocus
                required
              />
            )}
          </Field>
        ) : (
          <>
            <Field label={t("login.email")}>
              {(id) => (
                <Input
                  id={id}
                  name="email"
                  type="email"
                  value={email}
                  onChange={(e) => setEmail(e.target.value)}
                  autoComplete="username"
                  autoFocus
                  required
                />
              )}
            </Field>
            <Field label={t("login.password")}>
              {(id) => (
                <Input
                  id={id}
                  name="password"
                  type="password"
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                  autoComplete="current-password"
                  required
                />
              )}
            </Field>
          </>
        )}
        {error && (
          <p role="alert" className="rounded-xl bg-rose-500/10 px-3 py-2 text-sm text-rose-700 dark:text-rose-300">
            {error}
          </p>
        )}
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
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (password !== repeat) {
      setError(t("login.mismatch"));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await setPasswordWithToken({ token: search.get("token") ?? "", password });
      setDone(true);
    } catch (err) {
      setError(errorText(err, t));
    } finally {
      setBusy(false);
    }
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
          <Field label={t("login.newPassword")}>
            {(id) => (
              <Input
                id={id}
                type="password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                autoComplete="new-password"
                minLength={10}
                required
              />
            )}
          </Field>
          <Field label={t("login.repeatPassword")}>
            {(id) => (
              <Input
                id={id}
                type="password"
                value={repeat}
                onChange={(e) => setRepeat(e.target.value)}
                autoComplete="new-password"
                required
              />
            )}
          </Field>
          {error && (
            <p role="alert" className="rounded-xl bg-rose-500/10 px-3 py-2 text-sm text-rose-700 dark:text-rose-300">
              {error}
            </p>
          )}
          <Button type="submit" variant="primary" busy={busy}>
            {t("common.action.save")}
          </Button>
        </form>
      )}
    </AuthFrame>
  );
}
