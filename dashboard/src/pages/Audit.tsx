// The audit log, newest first, fifty at a time; platform admins also read the platform's.
import { useState } from "react";
import { useInfiniteQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { auditLogQuery, type AuditScope } from "../api/audit";
import type { AuditEntry } from "../api/types";
import { useSession } from "../auth/session";
import { Button, Card, EmptyState, ErrorState, FormError, Loading, PageHeader, Restricted, Tabs } from "../components/ui";
import { actorKind, actorName, allEntries, compactDetail } from "../lib/auditLog";
import { formatDateTime, formatRelative } from "../lib/format";
import { Table } from "../components/fields";

type Scope = AuditScope;

export default function Audit(_props: { params: Record<string, string> }) {
  const { t } = useTranslation();
  const { isAdmin, me } = useSession();
  const [scope, setScope] = useState<Scope>(isAdmin ? "org" : "platform");
  if (!isAdmin && !me.platform_admin) return <Restricted title={t("audit.title")} message={t("audit.adminOnly")} />;
  const scopes: { value: Scope; label: string }[] = [
    ...(isAdmin ? [{ value: "org" as const, label: t("audit.org") }] : []),
    ...(me.platform_admin ? [{ value: "platform" as const, label: t("audit.platform") }] : []),
  ];
  return (
    <div className="flex flex-col gap-5">
      <PageHeader
        title={t("audit.title")}
        subtitle={t("audit.subtitle")}
        actions={scopes.length > 1 && <Tabs value={scope} onChange={setScope} options={scopes} label={t("audit.scope")} />}
      />
      <AuditLog key={scope} scope={scope} />
    </div>
  );
}

function AuditLog({ scope }: { scope: Scope }) {
  const { t } = useTranslation();
  const log = useInfiniteQuery(auditLogQuery(scope));
  if (log.isPending) return <Loading />;
  // A failed next page keeps the pages already shown; only a failed first page replaces them.
  if (log.data === undefined) return <ErrorState error={log.error} retry={() => void log.refetch()} />;
  const entries = allEntries(log.data.pages);
  return (
    <Card>
      {entries.length === 0 ? (
        <EmptyState title={t("audit.empty")} />
      ) : (
        <Table
          variant="caps"
          testId="audit-list"
          columns={[
            t("audit.col.time"),
            t("audit.col.actor"),
            t("audit.col.action"),
            t("audit.col.target"),
            t("audit.col.ip"),
            t("audit.col.detail"),
          ]}
        >
          {entries.map((e) => (
            <AuditRow key={e.id} entry={e} />
          ))}
        </Table>
      )}
      <div className="mt-3 flex flex-col items-center gap-2">
        <FormError error={log.isFetchNextPageError ? log.error : null} />
        {log.hasNextPage ? (
          <Button busy={log.isFetchingNextPage} onClick={() => void log.fetchNextPage()} data-testid="audit-more">
            {t("common.action.more")}
          </Button>
        ) : (
          entries.length > 0 && <p className="text-xs text-muted">{t("audit.end")}</p>
        )}
      </div>
    </Card>
  );
}

function AuditRow({ entry }: { entry: AuditEntry }) {
  const { t, i18n } = useTranslation();
  const kind = actorKind(entry.actor);
  const detail = compactDetail(entry.detail, 100);
  return (
    <tr className="border-t border-slate-400/20 align-top" data-testid="audit-row">
      <td className="px-2 py-2 whitespace-nowrap tabular-nums">
        <time dateTime={new Date(entry.ts_ms).toISOString()} title={formatRelative(entry.ts_ms, i18n.language)}>
          {formatDateTime(entry.ts_ms, i18n.language)}
        </time>
      </td>
      <td className="px-2 py-2 whitespace-nowrap">
        <span>{actorName(entry.actor)}</span>
        {kind !== "user" && <span className="ml-1 text-xs text-muted">({t(`audit.actor.${kind}`)})</span>}
      </td>
      <td className="px-2 py-2 whitespace-nowrap">
        <code className="font-mono text-xs">{entry.action}</code>
      </td>
      <td className="px-2 py-2 break-all">{entry.target || "–"}</td>
      <td className="px-2 py-2 whitespace-nowrap">{entry.ip ? <code className="font-mono text-xs">{entry.ip}</code> : "–"}</td>
      <td className="min-w-48 max-w-sm px-2 py-2">
        {detail.text ? (
          <code className="font-mono text-xs break-all text-muted" title={detail.truncated ? detail.full : undefined}>
            {detail.text}
          </code>
        ) : (
          "–"
        )}
      </td>
    </tr>
  );
}
