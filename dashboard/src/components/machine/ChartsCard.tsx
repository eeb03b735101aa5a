// The machine's charts over 1 h to 30 days. On the 1 h range the series follow the live
// stream: the latest report's time is part of their query key, plus a 30 s refresh.
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { useQueries, useQuery } from "@tanstack/react-query";
import { metricCatalogQuery, seriesQuery } from "../../api/machines";
import type { Machine, Series } from "../../api/types";
import { chartPlans, type ChartPlan } from "../../lib/machineDetail";
import { setSearch, useLocation } from "../../lib/router";
import { RANGES, RANGE_KEYS, alignSeries, expectedStepMs, isEmptyData, withWindow, type RangeKey } from "../../lib/series";
import { TimeChart, chartColor } from "../TimeChart";
import { Badge, Card, EmptyState, ErrorState, Spinner, Tabs, errorText } from "../ui";

const CHART_HEIGHT = 200;

function parseRange(v: string | null): RangeKey {
  return RANGE_KEYS.includes(v as RangeKey) ? (v as RangeKey) : "1h";
}

function RangeTabs({ value, onChange }: { value: RangeKey; onChange: (r: RangeKey) => void }) {
  const { t } = useTranslation();
  return (
    <Tabs
      value={value}
      onChange={onChange}
      options={RANGE_KEYS.map((r) => ({ value: r, label: t(`machine.charts.ranges.${r}`) }))}
      label={t("machine.charts.range")}
      testId={(r) => `range-${r}`}
      nowrap
    />
  );
}

export function ChartsCard({ machine }: { machine: Machine }) {
  const { t } = useTranslation();
  const { search } = useLocation();
  const range = parseRange(search.get("range"));
  const catalog = useQuery({ ...metricCatalogQuery(), staleTime: Infinity });
  const units = useMemo(() => Object.fromEntries((catalog.data?.metrics ?? []).map((m) => [m.name, m.unit])), [catalog.data]);
  const plans = useMemo(() => chartPlans(machine.latest, units, t), [machine.latest, units, t]);
  const tail = range === "1h" ? (machine.latest?.ts_ms ?? 0) : 0;
  return (
    <Card
      title={t("machine.charts.title")}
      actions={
        <>
          {range === "1h" && <Badge tone="online">{t("machine.charts.live")}</Badge>}
          <RangeTabs value={range} onChange={(r) => setSearch({ range: r === "1h" ? null : r })} />
        </>
      }
    >
      <p className="mb-3 text-xs text-muted">{t("machine.charts.hint")}</p>
      <div className="grid gap-4 lg:grid-cols-2">
        {plans.map((plan) => (
          <ChartPanel
            key={plan.name}
            plan={plan}
            machineId={machine.id}
            range={range}
            tail={tail}
            intervalS={machine.interval_s ?? machine.latest?.interval_s ?? 0}
          />
        ))}
      </div>
    </Card>
  );
}

function ChartPanel({
  plan,
  machineId,
  range,
  tail,
  intervalS,
}: {
  plan: ChartPlan;
  machineId: string;
  range: RangeKey;
  tail: number;
  intervalS: number;
}) {
  const { t } = useTranslation();
  const results = useQueries({
    queries: plan.lines.map((line) => ({
      ...seriesQuery(machineId, line, range, tail),
      // A new report keeps the lines on screen while they refresh; a new range does not.
      placeholderData: (prev: Series | undefined, prevQuery?: { queryKey: readonly unknown[] }) =>
        prevQuery?.queryKey[4] === range ? prev : undefined,
      refetchInterval: range === "1h" ? 30_000 : range === "24h" ? 300_000 : (false as const),
      staleTime: range === "1h" ? 10_000 : 60_000,
      // Each report makes new 1 h keys: the old ones need not linger.
      gcTime: range === "1h" ? 60_000 : 300_000,
    })),
  });
  // Recomputed only when some line's data changes, not on every render.
  const stamp = results.map((r) => `${r.dataUpdatedAt}/${r.isPlaceholderData ? 1 : 0}/${r.data?.points.length ?? -1}`).join(",");
  const fetchedAt = Math.max(0, ...results.map((r) => r.dataUpdatedAt));
  const data = useMemo(
    () =>
      withWindow(
        alignSeries(results.map((r) => ({ points: r.data?.points ?? [], stepMs: expectedStepMs(r.data?.step_s ?? 0, intervalS) }))),
        fetchedAt - RANGES[range],
        fetchedAt,
      ),
    // `stamp` stands for `results`, a new array on every render: the data only when a line's data changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [stamp, intervalS, fetchedAt, range],
  );
  const lines = useMemo(() => plan.lines.map((l) => ({ label: l.label, color: chartColor(l.color), dashed: l.dashed })), [plan.lines]);
  const pending = results.some((r) => r.isPending);
  const failed = results.filter((r) => r.error);
  const title = t(`machine.charts.name.${plan.name}`);

  let body;
  if (plan.lines.length === 0) body = <EmptyState title={t("machine.charts.nothing")} />;
  else if (pending && isEmptyData(data))
    body = (
      <div role="status" className="flex items-center justify-center text-muted" style={{ height: CHART_HEIGHT }}>
        <Spinner />
        <span className="sr-only">{t("common.state.loading")}</span>
      </div>
    );
  else if (failed.length === results.length)
    body = <ErrorState error={failed[0]!.error} retry={() => failed.forEach((r) => void r.refetch())} />;
  else if (isEmptyData(data)) body = <EmptyState title={t("machine.charts.empty")} />;
  else
    body = (
      <TimeChart data={data} lines={lines} unit={plan.unit} height={CHART_HEIGHT} label={title} timeLabel={t("machine.charts.time")} />
    );

  return (
    <section data-testid={`chart-${plan.name}`} aria-label={title} className="min-w-0 rounded-xl border border-slate-400/20 p-3">
      <div className="mb-2 flex items-center justify-between gap-2">
        <h3 className="text-sm font-semibold">{title}</h3>
        {pending && !isEmptyData(data) && <Spinner small />}
      </div>
      {body}
      {plan.hidden > 0 && <p className="mt-1 text-xs text-muted">{t("machine.charts.hidden", { count: plan.hidden })}</p>}
      {failed.length > 0 && failed.length < results.length && (
        <p role="alert" className="mt-1 text-xs text-rose-600 dark:text-rose-400">
          {t("machine.charts.partial", { message: errorText(failed[0]!.error, t) })}
        </p>
      )}
    </section>
  );
}
