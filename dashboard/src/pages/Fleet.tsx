// The fleet at a glance: counts by status, then every machine as a card or a table row,
// filtered by text, label selector, group and status. The list is virtualised: only the rows
// on screen exist in the page, so thousands of machines scroll smoothly.
import { useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useWindowVirtualizer } from "@tanstack/react-virtual";
import { useTranslation } from "react-i18next";
import { groupsQuery } from "../api/groups";
import { fleetQuery, fleetSummaryQuery } from "../api/machines";
import type { FleetSummary, Group, Machine } from "../api/types";
import {
  Button,
  Card,
  cx,
  EmptyState,
  errorText,
  ErrorState,
  Input,
  Loading,
  PageHeader,
  Score,
  StatusBadge,
  Tabs,
} from "../components/ui";
import { ChoiceSelect } from "../components/fields";
import { formatDateTime, formatNumber, formatPercent, formatRelative } from "../lib/format";
import {
  allLabels,
  columnsFor,
  filtersFrom,
  machineName,
  statusOf,
  worstFilesystem,
  type FleetFilters,
  type Sort,
  type View,
} from "../lib/fleet";
import { Link, setSearch, useLocation } from "../lib/router";

export default function Fleet() {
  const { t, i18n } = useTranslation();
  const { search } = useLocation();
  const filters = filtersFrom(search);

  const summary = useQuery(fleetSummaryQuery());
  const groups = useQuery(groupsQuery());
  const machines = useQuery({ ...fleetQuery(filters), placeholderData: keepPreviousData });
  const groupById = useMemo(() => new Map((groups.data?.groups ?? []).map((g) => [g.id, g])), [groups.data]);
  const filtered = Boolean(filters.q || filters.selector || filters.group || filters.status);

  return (
    <div>
      <PageHeader
        title={t("fleet.title")}
        subtitle={
          summary.data
            ? t("fleet.subtitle", { count: summary.data.total, shown: formatNumber(summary.data.total, i18n.language) })
            : undefined
        }
      />
      {(summary.error || groups.error) && (
        <p role="alert" className="mb-3 rounded-xl bg-rose-500/10 px-3 py-2 text-sm text-rose-700 dark:text-rose-300">
          {errorText(summary.error ?? groups.error, t)}
        </p>
      )}
      <StatusCounts summary={summary.data} active={filters.status} />
      <FilterBar filters={filters} groups={groups.data?.groups ?? []} />
      {machines.isPending ? (
        <Loading />
      ) : machines.error && !machines.data ? (
        <Card>
          <ErrorState error={machines.error} retry={() => void machines.refetch()} />
        </Card>
      ) : machines.data && machines.data.machines.length === 0 ? (
        <Card>
          {filtered ? (
            <EmptyState title={t("fleet.noMatch")}>
              <Button onClick={() => setSearch({ q: null, selector: null, group: null, status: null })}>{t("fleet.clear")}</Button>
            </EmptyState>
          ) : (
            <EmptyState title={t("fleet.noMachines")}>
              <p className="text-sm">{t("fleet.noMachinesHint")}</p>
            </EmptyState>
          )}
        </Card>
      ) : machines.data ? (
        <>
          {machines.error && <ErrorState error={machines.error} retry={() => void machines.refetch()} />}
          <p className="mb-2 text-sm text-muted" role="status" data-testid="fleet-count">
            {t("fleet.showing", {
              // "machines" agrees with the total: "1 of 1 machine", "3 of 40 machines".
              count: summary.data?.total ?? machines.data.machines.length,
              shown: formatNumber(machines.data.machines.length, i18n.language),
              total: formatNumber(summary.data?.total ?? machines.data.machines.length, i18n.language),
            })}
          </p>
          {filters.view === "table" ? (
            <MachineTable machines={machines.data.machines} groups={groupById} />
          ) : (
            <MachineCards machines={machines.data.machines} groups={groupById} />
          )}
        </>
      ) : null}
    </div>
  );
}

function StatusCounts({ summary, active }: { summary?: FleetSummary; active: string }) {
  const { t, i18n } = useTranslation();
  const tiles: { key: string; value?: number; tone: string }[] = [
    { key: "total", value: summary?.total, tone: "text-slate-900 dark:text-slate-100" },
    { key: "online", value: summary?.online, tone: "text-emerald-600 dark:text-emerald-400" },
    { key: "warning", value: summary?.warning, tone: "text-amber-600 dark:text-amber-400" },
    { key: "critical", value: summary?.critical, tone: "text-rose-600 dark:text-rose-400" },
    { key: "offline", value: summary?.offline, tone: "text-slate-500 dark:text-slate-400" },
  ];
  return (
    <div className="mb-4 grid grid-cols-2 gap-3 sm:grid-cols-5" data-testid="status-counts">
      {tiles.map((tile) => {
        const isTotal = tile.key === "total";
        const label = isTotal ? t("fleet.total") : t(`common.status.${tile.key}`);
        const pressed = isTotal ? active === "" : active === tile.key;
        return (
          <button
            key={tile.key}
            type="button"
            aria-pressed={pressed}
            title={isTotal ? undefined : t("fleet.filterStatus", { status: label })}
            onClick={() => setSearch({ status: isTotal || pressed ? null : tile.key })}
            className={cx("glass rounded-2xl p-3 text-left transition focus-ring hover:-translate-y-0.5", pressed && "ring-2 ring-sky-500")}
            data-testid={`count-${tile.key}`}
          >
            <span className="block text-xs font-medium text-muted">{label}</span>
            <span className={cx("block text-2xl font-semibold tabular-nums", tile.tone)}>
              {tile.value === undefined ? "–" : new Intl.NumberFormat(i18n.language).format(tile.value)}
            </span>
          </button>
        );
      })}
    </div>
  );
}

/** A text field that updates the address bar once typing pauses. */
function DebouncedInput({
  value,
  param,
  ...rest
}: { value: string; param: string } & Omit<React.InputHTMLAttributes<HTMLInputElement>, "value" | "onChange">) {
  const [text, setText] = useState(value);
  const last = useRef(value);
  useEffect(() => {
    if (value !== last.current) {
      last.current = value;
      setText(value);
    }
  }, [value]);
  useEffect(() => {
    if (text === last.current) return;
    const timer = setTimeout(() => {
      last.current = text;
      setSearch({ [param]: text.trim() || null });
    }, 300);
    return () => clearTimeout(timer);
  }, [text, param]);
  return <Input {...rest} value={text} onChange={(e) => setText(e.target.value)} />;
}

function FilterBar({ filters, groups }: { filters: FleetFilters; groups: Group[] }) {
  const { t } = useTranslation();
  const sorts: { value: Sort; label: string }[] = [
    { value: "name", label: t("fleet.sortName") },
    { value: "score", label: t("fleet.sortScoreAsc") },
    { value: "-score", label: t("fleet.sortScoreDesc") },
    { value: "status", label: t("fleet.sortStatus") },
    { value: "-last_seen", label: t("fleet.sortLastSeen") },
  ];
  const group = groups.find((g) => g.id === filters.group);
  return (
    <div className="glass mb-4 flex flex-col gap-3 rounded-2xl p-3 lg:flex-row lg:flex-wrap lg:items-end">
      <label className="flex min-w-0 flex-1 flex-col gap-1 text-sm font-medium">
        {t("fleet.search")}
        <DebouncedInput value={filters.q} param="q" type="search" placeholder={t("fleet.searchPlaceholder")} data-testid="fleet-search" />
      </label>
      <label className="flex min-w-0 flex-1 flex-col gap-1 text-sm font-medium">
        {t("fleet.selector")}
        <DebouncedInput
          value={filters.selector}
          param="selector"
          placeholder={t("fleet.selectorPlaceholder")}
          title={t("fleet.selectorHelp")}
          spellCheck={false}
          className="font-mono"
          data-testid="fleet-selector"
        />
      </label>
      <label className="flex flex-col gap-1 text-sm font-medium lg:w-48">
        {t("fleet.group")}
        <span className="flex items-center gap-2">
          <span
            aria-hidden="true"
            className="h-3 w-3 shrink-0 rounded-full ring-1 ring-slate-400/40"
            style={{ background: group?.color ?? "transparent" }}
          />
          <ChoiceSelect
            value={filters.group}
            anyLabel={t("fleet.allGroups")}
            options={groups.map((g) => g.id)}
            optionLabel={(id) => {
              const g = groups.find((x) => x.id === id);
              return g ? `${g.name} (${g.machine_count})` : id;
            }}
            onChange={(id) => setSearch({ group: id ?? null })}
            testId="fleet-group"
          />
        </span>
      </label>
      <label className="flex flex-col gap-1 text-sm font-medium lg:w-56">
        {t("fleet.sort")}
        <ChoiceSelect
          value={filters.sort}
          options={sorts.map((s) => s.value)}
          optionLabel={(v) => sorts.find((s) => s.value === v)?.label ?? v}
          onChange={(v) => setSearch({ sort: !v || v === "name" ? null : v })}
          testId="fleet-sort"
        />
      </label>
      <Tabs<View>
        label={t("fleet.view")}
        value={filters.view}
        onChange={(v) => setSearch({ view: v === "cards" ? null : v })}
        options={[
          { value: "cards", label: t("fleet.cards") },
          { value: "table", label: t("fleet.table") },
        ]}
      />
    </div>
  );
}

function GroupChips({ ids, groups }: { ids?: string[]; groups: Map<string, Group> }) {
  const list = (ids ?? []).map((id) => groups.get(id)).filter((g): g is Group => Boolean(g));
  if (list.length === 0) return null;
  return (
    <span className="flex flex-wrap gap-1">
      {list.map((g) => (
        <span key={g.id} className="inline-flex items-center gap-1 rounded-full bg-slate-500/10 px-2 py-0.5 text-xs">
          <span aria-hidden="true" className="h-2 w-2 rounded-full" style={{ background: g.color }} />
          {g.name}
        </span>
      ))}
    </span>
  );
}

function Meter({ label, value }: { label: string; value: number | null | undefined }) {
  const { i18n } = useTranslation();
  const v = value ?? null;
  const tone = v === null ? "bg-slate-400" : v >= 90 ? "bg-rose-500" : v >= 75 ? "bg-amber-500" : "bg-emerald-500";
  return (
    <div className="min-w-0">
      <div className="flex justify-between gap-2 text-xs">
        <span className="truncate text-muted">{label}</span>
        <span className="tabular-nums">{formatPercent(v, i18n.language)}</span>
      </div>
      <div className="mt-1 h-1.5 rounded-full bg-slate-400/20" aria-hidden="true">
        <div className={cx("h-1.5 rounded-full", tone)} style={{ width: `${Math.min(100, Math.max(0, v ?? 0))}%` }} />
      </div>
    </div>
  );
}

function MachineCard({ m, groups }: { m: Machine; groups: Map<string, Group> }) {
  const { t, i18n } = useTranslation();
  const fs = worstFilesystem(m.latest);
  const labels = allLabels(m);
  return (
    <Link
      to={`/machines/${encodeURIComponent(m.id)}`}
      className="glass-lite flex h-full flex-col gap-3 rounded-2xl p-4 transition focus-ring hover:-translate-y-0.5"
      data-testid="machine-card"
    >
      <div className="flex items-start justify-between gap-3">
        <div className="min-w-0">
          <p className="truncate font-semibold" data-testid="machine-name">
            {machineName(m)}
          </p>
          <p className="truncate text-xs text-muted">
            {m.facts.os_name} {m.facts.os_version}
            {m.ip ? ` · ${m.ip}` : ""}
          </p>
        </div>
        {m.health && <Score score={m.health.score} label={t("fleet.score")} />}
      </div>
      <div className="flex flex-wrap items-center gap-2">
        <StatusBadge status={statusOf(m)} />
        <span className="text-xs text-muted" title={m.last_seen_ms ? formatDateTime(m.last_seen_ms, i18n.language) : undefined}>
          {formatRelative(m.last_seen_ms, i18n.language)}
        </span>
      </div>
      <div className="grid grid-cols-3 gap-3">
        <Meter label={t("fleet.cpu")} value={m.latest?.cpu_percent} />
        <Meter label={t("fleet.memory")} value={m.latest?.memory_used_percent} />
        <Meter label={fs ? fs.mount : t("fleet.disk")} value={fs?.percent} />
      </div>
      <GroupChips ids={m.groups} groups={groups} />
      {labels.length > 0 && (
        <p className="flex flex-wrap gap-1">
          {labels.slice(0, 4).map(([k, v]) => (
            <span key={k} className="rounded-md bg-slate-500/10 px-1.5 py-0.5 font-mono text-[11px]">
              {k}={v}
            </span>
          ))}
          {labels.length > 4 && <span className="text-xs text-muted">+{labels.length - 4}</span>}
        </p>
      )}
    </Link>
  );
}

function useListOffset<E extends HTMLElement>() {
  const ref = useRef<E>(null);
  const [offset, setOffset] = useState(0);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => {
      setOffset(el.getBoundingClientRect().top + window.scrollY);
      setWidth(el.clientWidth);
    };
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return { ref, offset, width };
}

function MachineCards({ machines, groups }: { machines: Machine[]; groups: Map<string, Group> }) {
  const { ref, offset, width } = useListOffset<HTMLDivElement>();
  const columns = columnsFor(width || 1024);
  const rows = Math.ceil(machines.length / columns);
  const rowHeight = 236;
  const virtual = useWindowVirtualizer({ count: rows, estimateSize: () => rowHeight, overscan: 3, scrollMargin: offset });
  return (
    <div ref={ref} role="list" data-testid="machine-list" style={{ height: virtual.getTotalSize(), position: "relative" }}>
      {virtual.getVirtualItems().map((row) => (
        <div
          key={row.key}
          className="absolute inset-x-0 grid gap-4"
          style={{
            top: 0,
            transform: `translateY(${row.start - virtual.options.scrollMargin}px)`,
            gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))`,
            height: rowHeight - 16,
          }}
        >
          {machines.slice(row.index * columns, row.index * columns + columns).map((m) => (
            <div role="listitem" key={m.id} className="min-w-0">
              <MachineCard m={m} groups={groups} />
            </div>
          ))}
        </div>
      ))}
    </div>
  );
}

function Th({ children, className }: { children: ReactNode; className?: string }) {
  return (
    <th scope="col" className={cx("px-3 py-2 text-left text-xs font-semibold tracking-wide text-muted uppercase", className)}>
      {children}
    </th>
  );
}

const TABLE_COLUMNS = "minmax(12rem,2fr) 7rem 5rem 5rem 5rem minmax(7rem,1fr) minmax(8rem,1.2fr) 8rem";

function MachineTable({ machines, groups }: { machines: Machine[]; groups: Map<string, Group> }) {
  const { t, i18n } = useTranslation();
  const { ref, offset } = useListOffset<HTMLTableSectionElement>();
  const rowHeight = 52;
  const virtual = useWindowVirtualizer({ count: machines.length, estimateSize: () => rowHeight, overscan: 10, scrollMargin: offset });
  // A grid-styled table: real table semantics for assistive technology, fixed row heights
  // for the virtualiser.
  return (
    <div className="glass-lite overflow-x-auto rounded-2xl">
      <table className="block min-w-[60rem]" aria-rowcount={machines.length + 1} data-testid="machine-table">
        <thead className="block border-b border-slate-400/20">
          <tr className="grid" style={{ gridTemplateColumns: TABLE_COLUMNS }}>
            <Th>{t("fleet.name")}</Th>
            <Th>{t("fleet.status")}</Th>
            <Th>{t("fleet.score")}</Th>
            <Th>{t("fleet.cpu")}</Th>
            <Th>{t("fleet.memory")}</Th>
            <Th>{t("fleet.disk")}</Th>
            <Th>{t("fleet.groups")}</Th>
            <Th>{t("fleet.lastSeen")}</Th>
          </tr>
        </thead>
        <tbody ref={ref} className="relative block" style={{ height: virtual.getTotalSize() }}>
          {virtual.getVirtualItems().map((row) => {
            const m = machines[row.index]!;
            const fs = worstFilesystem(m.latest);
            return (
              <tr
                key={m.id}
                aria-rowindex={row.index + 2}
                className="absolute inset-x-0 grid items-center border-b border-slate-400/10 text-sm hover:bg-slate-500/5"
                style={{
                  top: 0,
                  height: rowHeight,
                  transform: `translateY(${row.start - virtual.options.scrollMargin}px)`,
                  gridTemplateColumns: TABLE_COLUMNS,
                }}
                data-testid="machine-row"
              >
                <td className="min-w-0 px-3">
                  <Link
                    to={`/machines/${encodeURIComponent(m.id)}`}
                    className="block truncate font-medium text-sky-700 hover:underline focus-ring dark:text-sky-300"
                  >
                    {machineName(m)}
                  </Link>
                  <span className="block truncate text-xs text-muted">{m.facts.os_name}</span>
                </td>
                <td className="px-3">
                  <StatusBadge status={statusOf(m)} />
                </td>
                <td className="px-3 font-semibold tabular-nums">{m.health?.score ?? "–"}</td>
                <td className="px-3 tabular-nums">{formatPercent(m.latest?.cpu_percent, i18n.language)}</td>
                <td className="px-3 tabular-nums">{formatPercent(m.latest?.memory_used_percent, i18n.language)}</td>
                <td className="truncate px-3 tabular-nums" title={fs?.mount}>
                  {fs ? `${formatPercent(fs.percent, i18n.language)} ${fs.mount}` : "–"}
                </td>
                <td className="min-w-0 overflow-hidden px-3">
                  <GroupChips ids={m.groups} groups={groups} />
                </td>
                <td className="px-3 text-xs text-muted" title={m.last_seen_ms ? formatDateTime(m.last_seen_ms, i18n.language) : undefined}>
                  {formatRelative(m.last_seen_ms, i18n.language)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
