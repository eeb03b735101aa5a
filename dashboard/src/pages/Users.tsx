// Members of the organisation: invite, roles, disable, reset password or MFA, remove; and the
// organisation's own settings at the top.
import { useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { currentOrgQuery, useUpdateCurrentOrg } from "../api/orgs";
import type { Language, OneTimeLink, Org, Role, User } from "../api/types";
import { useInviteUser, usersQuery, useUserAction, type UserAction } from "../api/users";
import { useSession } from "../auth/session";
import { Badge, Button, Card, CodeBlock, ConfirmButton, PageHeader, QueryView, Restricted, errorText, FormError } from "../components/ui";
import { setPasswordUrl } from "../lib/accounts";
import { formatDateTime, formatRelative } from "../lib/format";
import {
  DEGRADED_BELOW,
  NOTIFICATION_LANGUAGES,
  OFFLINE_AFTER,
  settingsForm,
  settingsPatch,
  type OrgSettingsForm,
  type SettingsField,
} from "../lib/orgSettings";
import { ChoiceSelect, NumberField, SelectField, Table, TextField } from "../components/fields";

const ROLES: readonly Role[] = ["admin", "observer"];
const LANGUAGE_NAMES: Record<Language, string> = { en: "users.org.languageEn", fr: "users.org.languageFr" };

interface LinkNotice {
  email: string;
  kind: "invite" | "reset";
  link: OneTimeLink;
}

export default function Users(_props: { params: Record<string, string> }) {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const [notice, setNotice] = useState<LinkNotice | null>(null);
  if (!isAdmin) return <Restricted title={t("users.title")} message={t("users.adminOnly")} />;
  return (
    <div className="flex flex-col gap-5">
      <PageHeader title={t("users.title")} subtitle={t("users.subtitle")} />
      <OrgSettingsCard />
      {notice && <LinkCard notice={notice} onDone={() => setNotice(null)} />}
      <InviteCard onLink={setNotice} />
      <MembersCard onLink={setNotice} />
    </div>
  );
}

function OrgSettingsCard() {
  const { t } = useTranslation();
  const org = useQuery(currentOrgQuery());
  return (
    <Card title={t("users.org.title")}>
      <QueryView query={org}>{(data) => <OrgSettingsEditor key={data.id} org={data} />}</QueryView>
    </Card>
  );
}

function OrgSettingsEditor({ org }: { org: Org }) {
  const { t } = useTranslation();
  const session = useSession();
  const [form, setForm] = useState<OrgSettingsForm>(() => settingsForm(org));
  const [invalid, setInvalid] = useState<SettingsField | null>(null);
  const [saved, setSaved] = useState(false);
  const save = useUpdateCurrentOrg((updated) => {
    setSaved(true);
    if (updated.require_mfa !== org.require_mfa) void session.reload();
  });
  const set = (patch: Partial<OrgSettingsForm>) => {
    setSaved(false);
    setForm((f) => ({ ...f, ...patch }));
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const checked = settingsPatch(org, form);
    if (!checked.ok) {
      setInvalid(checked.field);
      return;
    }
    setInvalid(null);
    if (Object.keys(checked.body).length === 0) {
      setSaved(true);
      return;
    }
    save.mutate(checked.body);
  };
  const err = (f: SettingsField) => (invalid === f ? t(`users.org.invalid.${f}`) : undefined);
  return (
    <form onSubmit={submit} noValidate className="flex flex-col gap-4" data-testid="org-settings">
      <label className="flex items-start gap-3">
        <input
          type="checkbox"
          className="mt-0.5 h-4 w-4 accent-sky-600"
          checked={form.require_mfa}
          onChange={(e) => set({ require_mfa: e.target.checked })}
          aria-describedby="org-require-mfa-hint"
          data-testid="org-require-mfa"
        />
        <span>
          <span className="block text-sm font-medium">{t("users.org.requireMfa")}</span>
          <span id="org-require-mfa-hint" className="block text-xs text-muted">
            {t("users.org.requireMfaHint")}
          </span>
        </span>
      </label>
      <div className="grid gap-4 sm:grid-cols-3">
        <SelectField
          label={t("users.org.language")}
          error={err("language")}
          options={NOTIFICATION_LANGUAGES}
          optionLabel={(l) => t(LANGUAGE_NAMES[l])}
          value={form.language}
          onChange={(language) => set({ language: language ?? "" })}
          testId="org-language"
        />
        <NumberField
          plain
          label={t("users.org.offlineAfter")}
          hint={t("users.org.offlineAfterHint")}
          error={err("offline_after_intervals")}
          inputMode="numeric"
          inputProps={{ type: "number", ...OFFLINE_AFTER, step: 1 }}
          value={form.offline_after_intervals}
          onChange={(v) => set({ offline_after_intervals: v })}
          testId="org-offline-after"
        />
        <NumberField
          plain
          label={t("users.org.degradedBelow")}
          hint={t("users.org.degradedBelowHint")}
          error={err("degraded_below_score")}
          inputMode="numeric"
          inputProps={{ type: "number", ...DEGRADED_BELOW, step: 1 }}
          value={form.degraded_below_score}
          onChange={(v) => set({ degraded_below_score: v })}
          testId="org-degraded-below"
        />
      </div>
      <div className="flex flex-wrap items-center gap-3">
        <Button type="submit" variant="primary" busy={save.isPending} data-testid="org-settings-save">
          {t("users.org.save")}
        </Button>
        {saved && !save.isPending && (
          <span role="status" className="text-sm text-emerald-700 dark:text-emerald-400">
            {t("users.org.saved")}
          </span>
        )}
        {save.error && (
          <span role="alert" className="text-sm text-rose-600 dark:text-rose-400">
            {errorText(save.error, t)}
          </span>
        )}
      </div>
    </form>
  );
}

function InviteCard({ onLink }: { onLink: (n: LinkNotice) => void }) {
  const { t } = useTranslation();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("observer");
  const [added, setAdded] = useState<string | null>(null);
  const invite = useInviteUser((created) => {
    setEmail("");
    if (created.link) {
      setAdded(null);
      onLink({ email: created.user.email, kind: "invite", link: created.link });
    } else setAdded(t(created.emailed ? "users.invite.emailed" : "users.invite.added", { email: created.user.email }));
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (invite.isPending) return;
    setAdded(null);
    if (email.trim()) invite.mutate({ email: email.trim(), role });
  };
  return (
    <Card title={t("users.invite.title")}>
      <form onSubmit={submit} className="flex flex-col gap-3" data-testid="user-invite">
        <p className="text-xs text-muted">{t("users.invite.hint")}</p>
        <div className="grid items-end gap-3 sm:grid-cols-[1fr_12rem_auto]">
          <TextField
            label={t("users.invite.email")}
            type="email"
            autoComplete="off"
            required
            value={email}
            onChange={setEmail}
            testId="user-invite-email"
          />
          <SelectField
            label={t("users.invite.role")}
            options={ROLES}
            optionLabel={(r) => t(`common.role.${r}`)}
            value={role}
            onChange={(r) => setRole(r ?? "observer")}
            testId="user-invite-role"
          />
          <Button type="submit" variant="primary" busy={invite.isPending} disabled={!email.trim()} data-testid="user-invite-submit">
            {t("users.invite.submit")}
          </Button>
        </div>
        <FormError error={invite.error} />
        {added && (
          <p role="status" className="text-sm text-emerald-700 dark:text-emerald-400">
            {added}
          </p>
        )}
      </form>
    </Card>
  );
}

function LinkCard({ notice, onDone }: { notice: LinkNotice; onDone: () => void }) {
  const { t, i18n } = useTranslation();
  const url = setPasswordUrl(window.location.origin, notice.link.token);
  return (
    <Card
      title={
        notice.kind === "invite"
          ? t("users.link.inviteTitle", { email: notice.email })
          : t("users.link.resetTitle", { email: notice.email })
      }
      className="ring-2 ring-amber-500/50"
      actions={<Button onClick={onDone}>{t("users.link.dismiss")}</Button>}
    >
      <div className="flex flex-col gap-2" data-testid="user-link">
        <p className="text-sm">
          {t("users.link.text", {
            email: notice.email,
            when: formatRelative(notice.link.expires_ms, i18n.language),
            date: formatDateTime(notice.link.expires_ms, i18n.language),
          })}
        </p>
        <CodeBlock code={url} label={t("users.link.copy")} />
      </div>
    </Card>
  );
}

function MembersCard({ onLink }: { onLink: (n: LinkNotice) => void }) {
  const { t } = useTranslation();
  const users = useQuery(usersQuery());
  return (
    <Card title={t("users.list")} className="min-w-0">
      <QueryView query={users} empty={(d) => d.users.length === 0}>
        {(data) => (
          <Table
            variant="caps"
            testId="user-list"
            columns={[
              t("users.col.email"),
              t("users.col.role"),
              t("users.col.mfa"),
              t("users.col.state"),
              { label: t("users.col.actions"), srOnly: true },
            ]}
          >
            {[...data.users]
              .sort((a, b) => a.email.localeCompare(b.email))
              .map((u) => (
                <UserRow key={u.id} user={u} onLink={onLink} />
              ))}
          </Table>
        )}
      </QueryView>
    </Card>
  );
}

type ButtonAction = Exclude<UserAction["kind"], "role">;
const ACTION_TEST_IDS: Record<ButtonAction, string> = {
  enable: "user-enable",
  disable: "user-disable",
  resetPassword: "user-reset-password",
  resetMfa: "user-reset-mfa",
  remove: "user-remove",
};

function UserRow({ user, onLink }: { user: User; onLink: (n: LinkNotice) => void }) {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const [done, setDone] = useState<string | null>(null);
  const self = user.id === session.me.id;
  const act = useUserAction(user.id, {
    onMutate: () => setDone(null),
    onSuccess: (result, a) => {
      if (a.kind === "resetPassword" && result?.link) onLink({ email: user.email, kind: "reset", link: result.link });
      if (a.kind === "resetPassword" && result?.emailed) setDone(t("users.resetEmailed", { email: user.email }));
      if (a.kind === "resetMfa") setDone(t("users.mfaReset", { email: user.email }));
      if (self) void session.reload();
    },
  });
  // A button's words come from its action; every action but enabling asks first, and all
  // wait for the one running.
  const button = (kind: ButtonAction) =>
    kind === "enable" ? (
      <Button variant="ghost" disabled={act.isPending} onClick={() => act.mutate({ kind })} data-testid={ACTION_TEST_IDS[kind]}>
        {t(`users.action.${kind}`)}
      </Button>
    ) : (
      <ConfirmButton
        variant="ghost"
        className={kind === "remove" ? "text-rose-700 dark:text-rose-300" : undefined}
        disabled={act.isPending}
        question={t(`users.confirm.${kind}`, { email: user.email })}
        onConfirm={() => act.mutate({ kind })}
        data-testid={ACTION_TEST_IDS[kind]}
      >
        {t(`users.action.${kind}`)}
      </ConfirmButton>
    );
  return (
    <tr className="border-t border-slate-400/20 align-top" data-testid="user-row">
      <td className="px-2 py-2">
        <span className="font-medium break-all">{user.email}</span>
        {self && (
          <Badge tone="info" className="ml-2">
            {t("users.you")}
          </Badge>
        )}
        <span className="block text-xs text-muted" title={formatDateTime(user.created_ms, i18n.language)}>
          {t("users.col.created")} {formatRelative(user.created_ms, i18n.language)}
        </span>
      </td>
      <td className="px-2 py-2">
        <label className="sr-only" htmlFor={`role-${user.id}`}>
          {t("users.roleOf", { email: user.email })}
        </label>
        <ChoiceSelect
          id={`role-${user.id}`}
          options={ROLES}
          optionLabel={(r) => t(`common.role.${r}`)}
          value={user.role}
          disabled={act.isPending}
          onChange={(role) => role && act.mutate({ kind: "role", role })}
          className="min-w-32 py-1"
          testId="user-role"
        />
      </td>
      <td className="px-2 py-2 whitespace-nowrap">
        {user.mfa_enabled ? <Badge tone="ok">{t("users.mfaOn")}</Badge> : <Badge tone="offline">{t("users.mfaOff")}</Badge>}
      </td>
      <td className="px-2 py-2 whitespace-nowrap">
        {user.disabled ? (
          <Badge tone="critical">{t("users.state.disabled")}</Badge>
        ) : user.pending ? (
          <Badge tone="warning">{t("users.state.pending")}</Badge>
        ) : (
          <Badge tone="online">{t("users.state.active")}</Badge>
        )}
      </td>
      <td className="px-2 py-1">
        <div className="flex justify-end gap-1 whitespace-nowrap">
          {button(user.disabled ? "enable" : "disable")}
          {button("resetPassword")}
          {user.mfa_enabled && button("resetMfa")}
          {button("remove")}
        </div>
        {act.error && (
          <p role="alert" className="mt-1 text-right text-xs text-rose-600 dark:text-rose-400">
            {t("users.actionFailed", { email: user.email, error: errorText(act.error, t) })}
          </p>
        )}
        {done && (
          <p role="status" className="mt-1 text-right text-xs text-emerald-700 dark:text-emerald-400">
            {done}
          </p>
        )}
      </td>
    </tr>
  );
}
