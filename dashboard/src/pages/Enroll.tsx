// Enrollment keys: create one, single-use or expiring if wanted (its secret shown once, with
// the commands that use it), see how many machines each enrolled, revoke.
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { enrollKeysQuery, useCreateEnrollKey, useRevokeEnrollKey } from "../api/enroll";
import type { CreatedEnrollKey, EnrollKey } from "../api/types";
import { useSession } from "../auth/session";
import { Badge, Button, Card, CodeBlock, DeleteButton, FormError, PageHeader, QueryView, Restricted, Warning } from "../components/ui";
import { installCommands } from "../lib/enroll";
import { formatDateTime, formatRelative } from "../lib/format";
import { SelectField, Table } from "../components/fields";

export default function Enroll(_props: { params: Record<string, string> }) {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const [created, setCreated] = useState<CreatedEnrollKey | null>(null);
  if (!isAdmin) return <Restricted title={t("enroll.title")} message={t("enroll.adminOnly")} />;
  return (
    <div className="flex flex-col gap-5">
      <PageHeader title={t("enroll.title")} subtitle={t("enroll.subtitle")} />
      {created && <NewSecret created={created} onDone={() => setCreated(null)} />}
      <KeysCard onCreated={setCreated} hasSecret={created !== null} />
    </div>
  );
}

/** A new key's lifetime, in seconds (null: it never expires). */
const EXPIRY_S = { never: null, hour: 3_600, day: 86_400, week: 604_800 } as const;
const EXPIRIES = Object.keys(EXPIRY_S) as (keyof typeof EXPIRY_S)[];
const USES = ["unlimited", "single"] as const;

function KeysCard({ onCreated, hasSecret }: { onCreated: (c: CreatedEnrollKey) => void; hasSecret: boolean }) {
  const { t } = useTranslation();
  const keys = useQuery(enrollKeysQuery());
  const [uses, setUses] = useState<(typeof USES)[number]>("unlimited");
  const [expiresIn, setExpiresIn] = useState<keyof typeof EXPIRY_S>("never");
  const create = useCreateEnrollKey((c) => {
    onCreated(c);
    window.scrollTo?.({ top: 0, behavior: "smooth" });
  });
  return (
    <Card
      title={t("enroll.keys")}
      actions={
        <Button
          variant="primary"
          busy={create.isPending}
          onClick={() => create.mutate({ max_uses: uses === "single" ? 1 : null, expires_in_s: EXPIRY_S[expiresIn] })}
          data-testid="enroll-key-create"
        >
          {t("enroll.create")}
        </Button>
      }
    >
      <FormError className="mb-3" error={create.error} />
      <div className="mb-3 grid gap-3 sm:grid-cols-2" data-testid="enroll-key-options">
        <SelectField
          label={t("enroll.options.uses")}
          options={USES}
          optionLabel={(u) => t(`enroll.options.${u}`)}
          value={uses}
          onChange={(u) => setUses(u ?? "unlimited")}
          testId="enroll-key-uses"
        />
        <SelectField
          label={t("enroll.options.expires")}
          options={EXPIRIES}
          optionLabel={(k) => t(`enroll.options.${k}`)}
          value={expiresIn}
          onChange={(k) => setExpiresIn(k ?? "never")}
          testId="enroll-key-expiry"
        />
      </div>
      {!hasSecret && <p className="mb-3 text-sm text-muted">{t("enroll.secret.hint")}</p>}
      <QueryView query={keys} empty={(d) => d.keys.length === 0} emptyTitle={t("enroll.empty")}>
        {(data) => (
          <Table
            variant="caps"
            testId="enroll-key-list"
            columns={[
              t("enroll.col.id"),
              t("enroll.col.created"),
              t("enroll.col.uses"),
              t("enroll.col.state"),
              { label: t("enroll.col.actions"), srOnly: true },
            ]}
          >
            {[...data.keys]
              .sort((a, b) => Number(Boolean(a.revoked_ms)) - Number(Boolean(b.revoked_ms)) || b.created_ms - a.created_ms)
              .map((k) => (
                <KeyRow key={k.id} enrollKey={k} now={keys.dataUpdatedAt} />
              ))}
          </Table>
        )}
      </QueryView>
    </Card>
  );
}

/** `now`: when the list was read, so a render shows the same thing each time (expired is as of then). */
function KeyRow({ enrollKey, now }: { enrollKey: EnrollKey; now: number }) {
  const { t, i18n } = useTranslation();
  const revoke = useRevokeEnrollKey(enrollKey.id);
  const revoked = enrollKey.revoked_ms !== null && enrollKey.revoked_ms !== undefined;
  const expiresMs = enrollKey.expires_ms ?? null;
  const expired = expiresMs !== null && expiresMs <= now;
  const uses = enrollKey.uses ?? 0;
  const usedUp = enrollKey.max_uses != null && uses >= enrollKey.max_uses;
  /** "Revoked 3 days ago", the full date on hover. */
  const dated = (key: string, ms: number | null | undefined) => (
    <span title={formatDateTime(ms, i18n.language)}>{t(key, { when: formatRelative(ms, i18n.language) })}</span>
  );
  return (
    <tr className="border-t border-slate-400/20" data-testid="enroll-key-row">
      <td className="px-2 py-2">
        <code className="font-mono text-xs break-all">{enrollKey.id}</code>
      </td>
      <td className="px-2 py-2 whitespace-nowrap" title={formatDateTime(enrollKey.created_ms, i18n.language)}>
        {formatRelative(enrollKey.created_ms, i18n.language)}
      </td>
      <td className="px-2 py-2 whitespace-nowrap" data-testid="enroll-key-uses-count">
        {enrollKey.max_uses != null ? t("enroll.usesOf", { uses, max: enrollKey.max_uses }) : uses}
      </td>
      <td className="px-2 py-2">
        {revoked ? (
          <Badge tone="offline">{dated("enroll.revoked", enrollKey.revoked_ms)}</Badge>
        ) : expired ? (
          <Badge tone="offline">{dated("enroll.expired", expiresMs)}</Badge>
        ) : usedUp ? (
          <Badge tone="offline">{t("enroll.usedUp")}</Badge>
        ) : (
          <span className="flex flex-wrap items-center gap-2">
            <Badge tone="ok">{t("enroll.active")}</Badge>
            {expiresMs !== null && (
              <span className="text-xs text-muted" title={formatDateTime(expiresMs, i18n.language)}>
                {t("enroll.expires", { when: formatRelative(expiresMs, i18n.language) })}
              </span>
            )}
          </span>
        )}
      </td>
      <td className="px-2 py-1 text-right">
        {!revoked && (
          <DeleteButton
            name={enrollKey.id}
            srName
            label={t("enroll.revoke")}
            question={t("enroll.confirmRevoke", { id: enrollKey.id })}
            busy={revoke.isPending}
            onConfirm={() => revoke.mutate()}
            testid="enroll-key-revoke"
          />
        )}
        <FormError small error={revoke.error} />
      </td>
    </tr>
  );
}

function NewSecret({ created, onDone }: { created: CreatedEnrollKey; onDone: () => void }) {
  const { t } = useTranslation();
  const commands = installCommands(window.location.origin, created.secret);
  return (
    <Card
      title={t("enroll.secret.title")}
      className="ring-2 ring-amber-500/50"
      actions={<Button onClick={onDone}>{t("enroll.secret.done")}</Button>}
    >
      <div className="flex flex-col gap-4" data-testid="enroll-secret">
        <Warning className="font-medium">{t("enroll.secret.warning")}</Warning>
        <div>
          <h3 className="mb-1 text-sm font-medium">{t("enroll.secret.label")}</h3>
          <div data-testid="enroll-secret-value">
            <CodeBlock code={created.secret} label={t("enroll.commands.copySecret")} />
          </div>
        </div>
        <h3 className="text-base font-semibold">{t("enroll.commands.title")}</h3>
        <Command
          title={t("enroll.commands.oneLine")}
          note={t("enroll.commands.oneLineNote")}
          code={commands.oneLine}
          copy={t("enroll.commands.copyOneLine")}
          testid="enroll-cmd-oneline"
        />
        <Command
          title={t("enroll.commands.linux")}
          note={t("enroll.commands.linuxNote")}
          code={commands.linux}
          copy={t("enroll.commands.copyLinux")}
          testid="enroll-cmd-linux"
        />
        <Command
          title={t("enroll.commands.service")}
          note={t("enroll.commands.serviceNote")}
          code={commands.linuxService}
          copy={t("enroll.commands.copyService")}
          testid="enroll-cmd-service"
        />
        <Command
          title={t("enroll.commands.windowsOneLine")}
          note={t("enroll.commands.windowsOneLineNote")}
          code={commands.windowsOneLine}
          copy={t("enroll.commands.copyWindowsOneLine")}
          testid="enroll-cmd-windows-oneline"
        />
        <Command
          title={t("enroll.commands.windows")}
          note={t("enroll.commands.windowsNote")}
          code={commands.windows}
          copy={t("enroll.commands.copyWindows")}
          testid="enroll-cmd-windows"
        />
        <p className="text-xs text-muted">{t("enroll.commands.binary")}</p>
      </div>
    </Card>
  );
}

function Command({ title, note, code, copy, testid }: { title: string; note?: string; code: string; copy: string; testid: string }) {
  return (
    <div data-testid={testid}>
      <h4 className="mb-1 text-sm font-medium">{title}</h4>
      <CodeBlock code={code} label={copy} />
      {note && <p className="mt-1 text-xs text-muted">{note}</p>}
    </div>
  );
}
