// The signed-in user's own account: organisations, password, second factor, sessions.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useChangePassword, useConfirmTotp, useDisableTotp, useLogOutEverywhere, useStartTotp } from "../api/me";
import type { TotpEnrollment } from "../api/types";
import { useSession } from "../auth/session";
import { Badge, Button, Card, CodeBlock, ConfirmButton, PageHeader, Warning, FormError, useCopy } from "../components/ui";
import { cleanCode, newPasswordProblem, recoveryCodesText, type PasswordProblem } from "../lib/accounts";
import { Table, TextField } from "../components/fields";

export default function Profile(_props: { params: Record<string, string> }) {
  const { t } = useTranslation();
  return (
    <div className="flex flex-col gap-5">
      <PageHeader title={t("profile.title")} subtitle={t("profile.subtitle")} />
      <AccountCard />
      <div className="grid gap-5 lg:grid-cols-2">
        <MfaCard />
        <PasswordCard />
      </div>
      <SessionsCard />
    </div>
  );
}

function AccountCard() {
  const { t } = useTranslation();
  const { me } = useSession();
  return (
    <Card title={t("profile.account.title")}>
      <dl className="mb-4 grid gap-1 text-sm sm:grid-cols-[auto_1fr] sm:gap-x-6">
        <dt className="text-muted">{t("profile.account.email")}</dt>
        <dd className="font-medium break-all" data-testid="profile-email">
          {me.email}
          {me.platform_admin && (
            <Badge tone="info" className="ml-2">
              {t("profile.account.platformAdmin")}
            </Badge>
          )}
        </dd>
      </dl>
      <h3 className="mb-2 text-sm font-medium">{t("profile.account.orgs")}</h3>
      {me.orgs.length === 0 ? (
        <p className="text-sm text-muted">{t("profile.account.noOrgs")}</p>
      ) : (
        <Table
          variant="caps"
          testId="profile-orgs"
          columns={[t("profile.account.org"), t("profile.account.role"), t("profile.account.requireMfa")]}
        >
          {me.orgs.map((o) => (
            <tr key={o.id} className="border-t border-slate-400/20">
              <td className="px-2 py-2">
                {o.name}
                {o.disabled && (
                  <Badge tone="offline" className="ml-2">
                    {t("profile.account.disabled")}
                  </Badge>
                )}
              </td>
              <td className="px-2 py-2">{t(`common.role.${o.role}`)}</td>
              <td className="px-2 py-2">{o.require_mfa ? t("profile.account.yes") : t("profile.account.no")}</td>
            </tr>
          ))}
        </Table>
      )}
    </Card>
  );
}

function PasswordCard() {
  const { t } = useTranslation();
  const { signOut } = useSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [problem, setProblem] = useState<PasswordProblem | null>(null);
  // Every session has ended, this one included.
  const change = useChangePassword(() => void signOut());
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const p = newPasswordProblem(current, next, repeat);
    setProblem(p);
    if (!p && current) change.mutate({ current_password: current, new_password: next });
  };
  const fieldError = (which: "new" | "repeat") => {
    if (!problem) return undefined;
    if (which === "repeat") return problem === "mismatch" ? t("profile.password.problem.mismatch") : undefined;
    return problem === "mismatch" ? undefined : t(`profile.password.problem.${problem}`);
  };
  return (
    <Card title={t("profile.password.title")} className="self-start">
      <form onSubmit={submit} noValidate className="flex flex-col gap-3" data-testid="password-form">
        <TextField
          label={t("profile.password.current")}
          type="password"
          autoComplete="current-password"
          required
          value={current}
          onChange={setCurrent}
          testId="password-current"
        />
        <TextField
          label={t("profile.password.new")}
          hint={t("profile.password.hint")}
          error={fieldError("new")}
          type="password"
          autoComplete="new-password"
          required
          value={next}
          onChange={setNext}
          testId="password-new"
        />
        <TextField
          label={t("profile.password.repeat")}
          error={fieldError("repeat")}
          type="password"
          autoComplete="new-password"
          required
          value={repeat}
          onChange={setRepeat}
          testId="password-repeat"
        />
        <p className="text-xs text-muted">{t("profile.password.warning")}</p>
        <FormError error={change.error} />
        <div>
          <Button
            type="submit"
            variant="primary"
            busy={change.isPending}
            disabled={!current || !next || !repeat}
            data-testid="password-submit"
          >
            {t("profile.password.submit")}
          </Button>
        </div>
      </form>
    </Card>
  );
}

function MfaCard() {
  const { t } = useTranslation();
  const { me } = useSession();
  // Recovery codes stay on screen after the session reloads with mfa_enabled on.
  const [codes, setCodes] = useState<string[] | null>(null);
  const required = me.orgs.find((o) => o.require_mfa && !o.disabled);
  return (
    <Card
      title={t("profile.mfa.title")}
      className="self-start"
      actions={me.mfa_enabled ? <Badge tone="ok">{t("profile.mfa.on")}</Badge> : <Badge tone="offline">{t("profile.mfa.off")}</Badge>}
    >
      <div data-testid="mfa">
        {codes ? (
          <RecoveryCodesView codes={codes} onDone={() => setCodes(null)} />
        ) : me.mfa_enabled ? (
          <MfaOn />
        ) : (
          <>
            {required && <Warning className="mb-3">{t("profile.mfa.required", { org: required.name })}</Warning>}
            <MfaSetup onCodes={setCodes} />
          </>
        )}
      </div>
    </Card>
  );
}

function MfaSetup({ onCodes }: { onCodes: (codes: string[]) => void }) {
  const { t } = useTranslation();
  const { reload } = useSession();
  const [enrollment, setEnrollment] = useState<TotpEnrollment | null>(null);
  const [code, setCode] = useState("");
  const start = useStartTotp((e) => {
    setCode("");
    setEnrollment(e);
  });
  const confirm = useConfirmTotp((r) => {
    onCodes(r.recovery_codes);
    void reload();
  });
  if (!enrollment) {
    return (
      <div className="flex flex-col items-start gap-3">
        <p className="text-sm text-muted">{t("profile.mfa.offText")}</p>
        <Button variant="primary" busy={start.isPending} onClick={() => start.mutate()} data-testid="mfa-setup">
          {t("profile.mfa.setUp")}
        </Button>
        <FormError error={start.error} />
      </div>
    );
  }
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const c = cleanCode(code);
    if (c) confirm.mutate({ code: c });
  };
  return (
    <form onSubmit={submit} className="flex flex-col gap-3">
      <p className="text-sm">{t("profile.mfa.scan")}</p>
      <img
        src={`data:image/png;base64,${enrollment.qr_png_base64}`}
        alt={t("profile.mfa.qrAlt")}
        width={192}
        height={192}
        className="h-48 w-48 self-center rounded-xl bg-white p-2 [image-rendering:pixelated]"
        data-testid="mfa-qr"
      />
      <div>
        <h3 className="mb-1 text-sm font-medium">{t("profile.mfa.secret")}</h3>
        <div data-testid="mfa-secret">
          <CodeBlock code={enrollment.secret} />
        </div>
      </div>
      <TextField
        label={t("profile.mfa.code")}
        hint={t("profile.mfa.codeHint")}
        inputMode="numeric"
        autoComplete="one-time-code"
        maxLength={12}
        required
        value={code}
        onChange={setCode}
        className="max-w-48 font-mono tracking-widest"
        testId="mfa-code"
      />
      <FormError error={confirm.error} />
      <div className="flex flex-wrap gap-2">
        <Button type="submit" variant="primary" busy={confirm.isPending} disabled={!cleanCode(code)} data-testid="mfa-confirm">
          {t("profile.mfa.confirm")}
        </Button>
        <Button onClick={() => setEnrollment(null)}>{t("profile.mfa.cancel")}</Button>
      </div>
    </form>
  );
}

function RecoveryCodesView({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const { t } = useTranslation();
  return (
    <div className="flex flex-col gap-3" data-testid="recovery-codes">
      <h3 className="text-sm font-semibold">{t("profile.mfa.codesTitle")}</h3>
      <Warning className="font-medium">{t("profile.mfa.codesWarning")}</Warning>
      <ul className="grid grid-cols-2 gap-2 rounded-xl bg-slate-950/90 p-3 font-mono text-sm text-slate-100">
        {codes.map((c) => (
          <li key={c} className="select-all">
            {c}
          </li>
        ))}
      </ul>
      <div className="flex flex-wrap gap-2">
        <CopyAllButton text={recoveryCodesText(codes)} />
        <Button variant="primary" onClick={onDone} data-testid="recovery-codes-done">
          {t("profile.mfa.codesDone")}
        </Button>
      </div>
    </div>
  );
}

function CopyAllButton({ text }: { text: string }) {
  const { t } = useTranslation();
  const { copied, copy } = useCopy();
  return (
    <Button onClick={() => copy(text)} data-testid="recovery-codes-copy">
      <span aria-live="polite">{copied ? t("profile.mfa.copied") : t("profile.mfa.copyAll")}</span>
    </Button>
  );
}

function MfaOn() {
  const { t } = useTranslation();
  const { me, reload } = useSession();
  const [code, setCode] = useState("");
  const disable = useDisableTotp(() => {
    setCode("");
    void reload();
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const c = code.trim();
    if (c) disable.mutate({ code: c });
  };
  return (
    <form onSubmit={submit} className="flex flex-col gap-3">
      <p className="text-sm text-muted">{t("profile.mfa.onText")}</p>
      <p className="text-sm" data-testid="recovery-codes-left">
        {t("profile.mfa.codesLeft", { count: me.recovery_codes_left })}
      </p>
      <TextField
        label={t("profile.mfa.disableCode")}
        autoComplete="one-time-code"
        required
        value={code}
        onChange={setCode}
        className="max-w-64 font-mono"
        testId="mfa-disable-code"
      />
      <FormError error={disable.error} />
      <div>
        <Button type="submit" variant="danger" busy={disable.isPending} disabled={!code.trim()} data-testid="mfa-disable">
          {t("profile.mfa.disable")}
        </Button>
      </div>
    </form>
  );
}

function SessionsCard() {
  const { t } = useTranslation();
  const { signOut } = useSession();
  const logoutAll = useLogOutEverywhere(() => void signOut());
  return (
    <Card title={t("profile.sessions.title")}>
      <div className="flex flex-wrap items-center justify-between gap-3">
        <p className="text-sm text-muted">{t("profile.sessions.text")}</p>
        <ConfirmButton
          variant="danger"
          busy={logoutAll.isPending}
          question={t("profile.sessions.confirm")}
          onConfirm={() => logoutAll.mutate()}
          data-testid="logout-all"
        >
          {t("profile.sessions.logoutAll")}
        </ConfirmButton>
      </div>
      <FormError className="mt-2" error={logoutAll.error} />
    </Card>
  );
}
