// The machine's system events (journald, Windows Event Log), filtered and paged by 50.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { eventsQuery } from "../../api/machines";
import type { EventPage, EventSourceState } from "../../api/types";
import { formatDateTime, formatNumber, formatRelative } from "../../lib/format";
import { EVENT_PERIODS, EVENTS_PAGE, pageInfo, type EventFilters, type EventPeriod } from "../../lib/machineDetail";

const PERIODS = Object.keys(EVENT_PERIODS) as (keyof typeof EVENT_PERIODS)[];
import { Button, Card, EmptyState, QueryView, SeverityBadge, Spinner } from "../ui";
import { SelectField, SeveritySelect, Table, TextField } from "../fields";
import { EVENT_SEVERITIES } from "../../lib/rules";

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setV(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return v;
}

export function EventsCard({ machineId }: { machineId: string }) {
  const { t } = useTranslation();
  const [severity, setSeverity] = useState<EventFilters["severity"]>("");
  const [source, setSource] = useState("");
  const [q, setQ] = useState("");
  const [period, setPeriod] = useState<EventPeriod>("");
  const [offset, setOffset] = useState(0);
  const filters: EventFilters = { severity, source: useDebounced(source, 300), q: useDebounced(q, 300), period };
  const events = useQuery({ ...eventsQuery(machineId, filters, offset), placeholderData: keepPreviousData });
  // Another filter starts again from the first page.
  const filter =
    <V,>(set: (value: V) => void) =>
    (value: V) => {
      set(value);
      setOffset(0);
    };
  return (
    <Card title={t("machine.events.title")} actions={events.isFetching && !events.isPending ? <Spinner small /> : undefined}>
      <div data-testid="events">
        <form className="mb-3 grid gap-3 sm:grid-cols-2 lg:grid-cols-4" role="search" onSubmit={(e) => e.preventDefault()}>
          <SelectField
            label={t("machine.events.period")}
            anyLabel={t("machine.events.periodAll")}
            options={PERIODS}
            optionLabel={(p) => t(`machine.events.periodLast.${p}`)}
            value={period}
            onChange={filter((p) => setPeriod(p ?? ""))}
            testId="events-period"
          />
          <SeveritySelect
            label={t("machine.events.severity")}
            options={EVENT_SEVERITIES}
            anyLabel={t("machine.events.anySeverity")}
            value={severity}
            onChange={filter((s) => setSeverity(s ?? ""))}
            testId="events-severity"
          />
          <TextField
            label={t("machine.events.source")}
            hint={t("machine.events.sourceHint")}
            value={source}
            autoComplete="off"
            onChange={filter(setSource)}
            testId="events-source"
          />
          <TextField label={t("machine.events.q")} type="search" value={q} autoComplete="off" onChange={filter(setQ)} testId="events-q" />
        </form>
        <QueryView query={events}>
          {(page) => (
            <>
              <SourceState state={page.source_state} />
              {page.events.length === 0 ? <EmptyState title={t("machine.events.none")} /> : <EventTable page={page} />}
              <Pager offset={page.offset ?? offset} shown={page.events.length} total={page.total} onPage={setOffset} />
            </>
          )}
        </QueryView>
      </div>
    </Card>
  );
}

function SourceState({ state }: { state: EventSourceState | null | undefined }) {
  const { t, i18n } = useTranslation();
  if (!state) return null;
  return (
    <div className="mb-3 flex flex-col gap-1 text-sm" data-testid="events-source-state">
      {state.state === "unavailable" && (
        <p role="status" className="rounded-xl bg-amber-400/15 p-3 text-amber-900 dark:text-amber-200">
          {t("machine.events.unavailable", { reason: state.reason ?? "–" })}
        </p>
      )}
      {state.state === "unknown" && <p className="text-muted">{t("machine.events.unknown")}</p>}
      {state.state === "available" && state.source && (
        <p className="text-xs text-muted">{t("machine.events.sourceIs", { source: state.source })}</p>
      )}
      {state.suppressed_total > 0 && (
        <p className="text-xs text-muted">
          {t("machine.events.suppressed", {
            count: state.suppressed_total,
            formatted: formatNumber(state.suppressed_total, i18n.language),
          })}
        </p>
      )}
    </div>
  );
}

const th = "px-2 py-2 text-left text-xs font-medium text-muted";

function EventTable({ page }: { page: EventPage }) {
  const { t, i18n } = useTranslation();
  const locale = i18n.language;
  return (
    <Table
      variant="plain"
      cell={th}
      className="min-w-[46rem]"
      columns={[
        t("machine.events.time"),
        t("machine.events.severity"),
        t("machine.events.source"),
        t("machine.events.message"),
        { label: t("machine.events.count"), className: "text-right" },
      ]}
    >
      {page.events.map((e) => (
        <tr key={e.id} className="border-b border-slate-400/10 align-top last:border-0" data-testid="event-row">
          <td className="px-2 py-2 whitespace-nowrap">
            <time dateTime={new Date(e.ts_ms).toISOString()}>{formatDateTime(e.ts_ms, locale)}</time>
            {e.count > 1 && e.last_ts_ms > e.ts_ms && (
              <div className="text-xs text-muted" title={formatDateTime(e.last_ts_ms, locale)}>
                {t("machine.events.lastAt", { when: formatRelative(e.last_ts_ms, locale) })}
              </div>
            )}
          </td>
          <td className="px-2 py-2">
            <SeverityBadge severity={e.severity} />
          </td>
          <td className="max-w-[12rem] px-2 py-2 break-words">{e.source}</td>
          <td className="min-w-[18rem] px-2 py-2 break-words whitespace-pre-wrap">{e.message}</td>
          <td className="px-2 py-2 text-right tabular-nums">{formatNumber(e.count, locale)}</td>
        </tr>
      ))}
    </Table>
  );
}

function Pager({ offset, shown, total, onPage }: { offset: number; shown: number; total: number; onPage: (offset: number) => void }) {
  const { t, i18n } = useTranslation();
  const p = pageInfo(offset, shown, total, EVENTS_PAGE);
  if (p.prev === null && p.next === null) return null;
  const n = (v: number) => formatNumber(v, i18n.language);
  return (
    <nav className="mt-3 flex flex-wrap items-center justify-between gap-2" aria-label={t("machine.events.title")}>
      <span className="text-sm text-muted" aria-live="polite">
        {t("machine.events.range", { first: n(p.first), last: n(p.last), total: n(p.total) })}
      </span>
      <div className="flex gap-2">
        <Button disabled={p.prev === null} onClick={() => p.prev !== null && onPage(p.prev)} data-testid="events-prev">
          {t("machine.events.prev")}
        </Button>
        <Button disabled={p.next === null} onClick={() => p.next !== null && onPage(p.next)} data-testid="events-next">
          {t("machine.events.next")}
        </Button>
      </div>
    </nav>
  );
}
