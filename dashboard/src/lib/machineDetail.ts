// The machine screen's logic without React: which charts and lines to draw, label checks
// mirroring the server's, the events page's query and paging.
import type { operations } from "../api/schema";
import type { DiskHistory, LatestValues } from "../api/types";

export type ChartName = "cpu" | "memory" | "filesystems" | "diskio" | "network" | "temperature";

export interface ChartLine {
  metric: string;
  instance?: string;
  /** What the legend says. */
  label: string;
  /** Index in the palette: the same colour for one instance's read and write lines. */
  color: number;
  /** Drawn dashed: the second line of a pair (write, sent). */
  dashed?: boolean;
}

export interface ChartPlan {
  name: ChartName;
  unit: string;
  lines: ChartLine[];
  /** Instances left out to keep the chart readable. */
  hidden: number;
}

/** Most instances (mounts, devices, interfaces) drawn on one chart. */
export const MAX_INSTANCES = 8;

/** Units when the catalog has not loaded (the server's catalog says the same). */
const DEFAULT_UNITS: Record<string, string> = {
  "cpu.percent": "%",
  "memory.used_percent": "%",
  "swap.used_percent": "%",
  "filesystem.used_percent": "%",
  "disk.read_bytes_per_s": "B/s",
  "disk.write_bytes_per_s": "B/s",
  "network.rx_bytes_per_s": "B/s",
  "network.tx_bytes_per_s": "B/s",
  "temperature.cpu_c": "°C",
};

type Translate = (key: string, opts?: Record<string, unknown>) => string;

/** The busiest instances first, at most [`MAX_INSTANCES`]. */
function busiest<T>(items: readonly T[], name: (t: T) => string, load: (t: T) => number): { shown: string[]; hidden: number } {
  const sorted = [...items].sort((a, b) => load(b) - load(a) || name(a).localeCompare(name(b)));
  const shown = sorted.slice(0, MAX_INSTANCES).map(name);
  shown.sort((a, b) => a.localeCompare(b));
  return { shown, hidden: Math.max(0, items.length - MAX_INSTANCES) };
}

/** The charts a machine gets, from what its latest report has. */
export function chartPlans(latest: LatestValues | null | undefined, units: Record<string, string>, t: Translate): ChartPlan[] {
  const unit = (metric: string) => units[metric] ?? DEFAULT_UNITS[metric] ?? "";
  const plans: ChartPlan[] = [
    {
      name: "cpu",
      unit: unit("cpu.percent"),
      hidden: 0,
      lines: [{ metric: "cpu.percent", label: t("machine.charts.line.cpu"), color: 0 }],
    },
    {
      name: "memory",
      unit: unit("memory.used_percent"),
      hidden: 0,
      lines: [
        { metric: "memory.used_percent", label: t("machine.charts.line.memory"), color: 0 },
        { metric: "swap.used_percent", label: t("machine.charts.line.swap"), color: 1 },
      ],
    },
  ];
  const fs = busiest(
    latest?.filesystems ?? [],
    (f) => f.mount,
    (f) => (f.total_bytes > 0 ? f.used_bytes / f.total_bytes : 0),
  );
  plans.push({
    name: "filesystems",
    unit: unit("filesystem.used_percent"),
    hidden: fs.hidden,
    lines: fs.shown.map((mount, i) => ({ metric: "filesystem.used_percent", instance: mount, label: mount, color: i })),
  });
  // Disk I/O and network: the busiest instances, each drawn as a pair of lines in one colour,
  // the second (written, sent) dashed. A line is its metric and the legend's words.
  const pairs = <T>(
    name: ChartName,
    items: readonly T[],
    instance: (x: T) => string,
    load: (x: T) => number,
    [metric, label]: [string, string],
    [second, secondLabel]: [string, string],
  ): ChartPlan => {
    const top = busiest(items, instance, load);
    return {
      name,
      unit: unit(metric),
      hidden: top.hidden,
      lines: top.shown.flatMap((name, i) => [
        { metric, instance: name, label: t(label, { name }), color: i },
        { metric: second, instance: name, label: t(secondLabel, { name }), color: i, dashed: true },
      ]),
    };
  };
  plans.push(
    pairs(
      "diskio",
      latest?.disks ?? [],
      (d) => d.device,
      (d) => d.read_bytes_per_s + d.write_bytes_per_s,
      ["disk.read_bytes_per_s", "machine.charts.line.read"],
      ["disk.write_bytes_per_s", "machine.charts.line.write"],
    ),
    pairs(
      "network",
      latest?.networks ?? [],
      (n) => n.interface,
      (n) => n.rx_bytes_per_s + n.tx_bytes_per_s,
      ["network.rx_bytes_per_s", "machine.charts.line.rx"],
      ["network.tx_bytes_per_s", "machine.charts.line.tx"],
    ),
  );
  if (latest?.cpu_temp_c !== null && latest?.cpu_temp_c !== undefined) {
    plans.push({
      name: "temperature",
      unit: unit("temperature.cpu_c"),
      hidden: 0,
      lines: [{ metric: "temperature.cpu_c", label: t("machine.charts.line.temperature"), color: 3 }],
    });
  }
  return plans;
}

/** A health reason's weight with a real minus sign: "−20". */
export function formatWeight(weight: number): string {
  if (weight < 0) return `\u2212${Math.abs(weight)}`;
  return weight > 0 ? `+${weight}` : "0";
}

// Labels: the same rules as the server (Kubernetes syntax).
export const MAX_LABELS = 64;
const NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const DNS_PART = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export type LabelProblem = "key" | "prefix" | "value" | "agent" | "tooMany";

export function labelKeyProblem(key: string): LabelProblem | null {
  const slash = key.indexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : null;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== null && (prefix.length > 253 || !prefix.split(".").every((p) => DNS_PART.test(p)))) return "prefix";
  return NAME.test(name) ? null : "key";
}

export function labelValueProblem(value: string): LabelProblem | null {
  return value === "" || NAME.test(value) ? null : "value";
}

/** What is wrong with adding `key=value` to the API labels, or null. */
export function newLabelProblem(
  key: string,
  value: string,
  labels: Record<string, string>,
  agentLabels: Record<string, string>,
): LabelProblem | null {
  const k = labelKeyProblem(key);
  if (k) return k;
  if (key in agentLabels) return "agent";
  if (!(key in labels) && Object.keys(labels).length >= MAX_LABELS) return "tooMany";
  return labelValueProblem(value);
}

export function withLabel(labels: Record<string, string>, key: string, value: string): Record<string, string> {
  return { ...labels, [key]: value };
}

export function withoutLabel(labels: Record<string, string>, key: string): Record<string, string> {
  const next = { ...labels };
  delete next[key];
  return next;
}

/** Labels sorted by key, for stable chips. */
export function sortedLabels(labels: Record<string, string> | null | undefined): [string, string][] {
  return Object.entries(labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
}

/** A group's colour when it is a #rrggbb value, else a neutral grey. */
export function safeColor(color: string | null | undefined): string {
  return color && /^#[0-9a-fA-F]{6}$/.test(color) ? color : "#94a3b8";
}

// Events.
export const EVENTS_PAGE = 50;

/** How far back events are searched; "" is all that is kept (30 days by default). */
export const EVENT_PERIODS = { "1h": 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000 } as const;
export type EventPeriod = "" | keyof typeof EVENT_PERIODS;

export interface EventFilters {
  severity: "" | "warning" | "error" | "critical";
  source: string;
  q: string;
  period?: EventPeriod;
}

/** The query of GET /machines/{id}/events, typed from the schema. */
export type EventQuery = NonNullable<operations["machine_events"]["parameters"]["query"]>;

export function eventQuery(f: EventFilters, offset: number, now = Date.now()): EventQuery {
  const query: EventQuery = { limit: EVENTS_PAGE, offset: Math.max(0, offset) };
  if (f.period) query.from = now - EVENT_PERIODS[f.period];
  if (f.severity) query.severity = f.severity;
  if (f.source.trim()) query.source = f.source.trim();
  if (f.q.trim()) query.q = f.q.trim();
  return query;
}

export interface PageInfo {
  first: number;
  last: number;
  total: number;
  prev: number | null;
  next: number | null;
}

/** Positions shown ("51–100 of 230") and the offsets of the neighbouring pages. */
export function pageInfo(offset: number, shown: number, total: number, limit = EVENTS_PAGE): PageInfo {
  return {
    first: shown === 0 ? 0 : offset + 1,
    last: offset + shown,
    total,
    prev: offset > 0 ? Math.max(0, offset - limit) : null,
    next: offset + shown < total ? offset + limit : null,
  };
}

export const DISK_COUNTERS = ["reallocated", "pending", "uncorrectable", "media_errors", "grown_defects"] as const;
export type DiskCounter = (typeof DISK_COUNTERS)[number];

/** A disk's history as chart series: temperature, and each counter the disk reports at all. */
export function diskHistorySeries(points: DiskHistory["points"]): {
  temperature: [number, number][];
  counters: { field: DiskCounter; points: [number, number][] }[];
} {
  const pick = (get: (p: DiskHistory["points"][number]) => number | null | undefined): [number, number][] => {
    const out: [number, number][] = [];
    for (const p of points) {
      const v = get(p);
      if (v !== null && v !== undefined && Number.isFinite(v)) out.push([p.ts_ms, v]);
    }
    return out;
  };
  return {
    temperature: pick((p) => p.temperature_c),
    counters: DISK_COUNTERS.map((field) => ({ field, points: pick((p) => p[field]) })).filter((c) => c.points.length > 0),
  };
}
