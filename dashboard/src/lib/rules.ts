// Alert rules without React: the form's state to a RuleSpec and back, the words that sum a
// rule up, and scopes (shared with silences). Names come from the generated schema; the
// checks mirror crates/server/src/alerting/rules.rs.
import {
  allNames,
  type AlertSeverity,
  type EventSeverity,
  type MetricName,
  type RuleKind,
  type RuleScope,
  type RuleSpec,
  type ThresholdOp,
  type Verdict,
} from "../api/types";
import { formatNumber, formatRate } from "./format";

export type { RuleKind };
export const RULE_KINDS = allNames<RuleKind>({ metric: true, offline: true, health: true, disk: true, events: true, agent: true });

/** The metrics a metric rule may watch (the server's RULE_METRICS, a subset of the series). */
export const RULE_METRICS = [
  "cpu.percent",
  "memory.used_percent",
  "swap.used_percent",
  "filesystem.used_percent",
  "temperature.cpu_c",
  "disk.busy_percent",
  "network.rx_bytes_per_s",
  "network.tx_bytes_per_s",
] as const satisfies readonly MetricName[];
export type RuleMetric = (typeof RULE_METRICS)[number];

export const SEVERITIES = allNames<AlertSeverity>({ info: true, warning: true, critical: true });
export const EVENT_SEVERITIES = allNames<EventSeverity>({ warning: true, error: true, critical: true });
/** The verdicts a disk rule fires on (`ok` never does). */
export const DISK_VERDICTS = ["warning", "failing"] as const satisfies readonly Exclude<Verdict, "ok">[];
export type DiskVerdict = (typeof DISK_VERDICTS)[number];
export type Op = ThresholdOp;

export type MetricUnit = "%" | "°C" | "B/s";

export function metricUnit(metric: string): MetricUnit {
  if (metric === "temperature.cpu_c") return "°C";
  if (metric.startsWith("network.")) return "B/s";
  return "%";
}

/** A threshold in its metric's unit: "90 %", "85 °C", "1.2 MB/s". */
export function formatThreshold(metric: string, value: number, locale: string): string {
  switch (metricUnit(metric)) {
    case "°C":
      return `${formatNumber(value, locale, 1)} °C`;
    case "B/s":
      return formatRate(value, locale);
    default:
      return `${formatNumber(value, locale, 1)} %`;
  }
}

export function isRuleKind(kind: string): kind is RuleKind {
  return (RULE_KINDS as readonly string[]).includes(kind);
}

function isMetric(metric: string | null | undefined): metric is RuleMetric {
  return (RULE_METRICS as readonly string[]).includes(metric ?? "");
}

// ---- Durations -------------------------------------------------------------------------

export const DURATION_UNITS = { s: 1, min: 60, h: 3_600, d: 86_400 } as const;
export type DurationUnit = keyof typeof DURATION_UNITS;

export interface DurationInput {
  value: string;
  unit: DurationUnit;
}

/** Seconds as the largest unit that divides them: 600 → 10 min, 90 → 90 s, 0 → 0 min. */
export function splitDuration(seconds: number, zeroUnit: DurationUnit = "min"): DurationInput {
  if (!seconds) return { value: "0", unit: zeroUnit };
  for (const unit of ["d", "h", "min"] as const) {
    const size = DURATION_UNITS[unit];
    if (seconds % size === 0) return { value: String(seconds / size), unit };
  }
  return { value: String(seconds), unit: "s" };
}

/** Whole seconds, or null when the value is not a non-negative number. Empty means 0. */
export function joinDuration(d: DurationInput): number | null {
  const text = d.value.trim().replace(",", ".");
  if (text === "") return 0;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) return null;
  return Math.round(n * DURATION_UNITS[d.unit]);
}

// ---- Scopes --------------------------------------------------------------------------

export interface ScopeForm {
  machine: string;
  groups: string[];
  selector: string;
}

export const EMPTY_SCOPE: ScopeForm = { machine: "", groups: [], selector: "" };

export function scopeToForm(scope: RuleScope | null | undefined): ScopeForm {
  return { machine: scope?.machine ?? "", groups: [...(scope?.groups ?? [])], selector: scope?.selector ?? "" };
}

/** Only the parts given: an empty scope covers the whole organisation. */
export function scopeFromForm(f: ScopeForm): RuleScope {
  const scope: RuleScope = {};
  if (f.machine.trim()) scope.machine = f.machine.trim();
  const groups = [...new Set(f.groups.map((g) => g.trim()).filter(Boolean))];
  if (groups.length) scope.groups = groups;
  if (f.selector.trim()) scope.selector = f.selector.trim();
  return scope;
}

export function isWholeOrg(scope: RuleScope | null | undefined): boolean {
  return !scope?.machine && !(scope?.groups?.length ?? 0) && !scope?.selector;
}

// ---- The form --------------------------------------------------------------------------

export interface RuleForm {
  name: string;
  kind: RuleKind;
  severity: AlertSeverity;
  enabled: boolean;
  metric: RuleMetric;
  op: Op;
  threshold: string;
  clear: string;
  diskVerdict: DiskVerdict;
  eventSeverity: EventSeverity;
  eventPattern: string;
  window: DurationInput;
  for: DurationInput;
  reminder: DurationInput;
  scope: ScopeForm;
}

/** What the threshold and clear fields start with for each kind. */
const KIND_DEFAULTS: Record<RuleKind, { threshold: string; clear: string }> = {
  metric: { threshold: "90", clear: "" },
  health: { threshold: "50", clear: "60" },
  events: { threshold: "1", clear: "" },
  offline: { threshold: "", clear: "" },
  disk: { threshold: "", clear: "" },
  agent: { threshold: "", clear: "" },
};

export function newRuleForm(kind: RuleKind = "metric"): RuleForm {
  return {
    name: "",
    kind,
    severity: "warning",
    enabled: true,
    metric: "cpu.percent",
    op: "above",
    ...KIND_DEFAULTS[kind],
    diskVerdict: "warning",
    eventSeverity: "error",
    eventPattern: "",
    window: { value: "1", unit: "h" },
    for: { value: kind === "metric" ? "5" : "0", unit: "min" },
    reminder: { value: "0", unit: "h" },
    scope: { ...EMPTY_SCOPE, groups: [] },
  };
}

/** Another kind: the threshold means something else there, so it starts over. */
export function withKind(form: RuleForm, kind: RuleKind): RuleForm {
  if (kind === form.kind) return form;
  return { ...form, kind, ...KIND_DEFAULTS[kind] };
}

function numberText(n: number | null | undefined): string {
  return n === null || n === undefined ? "" : String(n);
}

export function ruleToForm(spec: RuleSpec): RuleForm {
  const kind: RuleKind = isRuleKind(spec.kind) ? spec.kind : "metric";
  const base = newRuleForm(kind);
  return {
    ...base,
    name: spec.name,
    severity: spec.severity,
    enabled: spec.enabled ?? true,
    metric: isMetric(spec.metric) ? spec.metric : base.metric,
    op: spec.op === "below" ? "below" : "above",
    threshold: spec.threshold === null || spec.threshold === undefined ? base.threshold : String(spec.threshold),
    clear: numberText(spec.clear),
    diskVerdict: spec.disk_verdict === "failing" ? "failing" : "warning",
    eventSeverity: spec.event_severity ?? base.eventSeverity,
    eventPattern: spec.event_pattern ?? "",
    window: spec.window_s ? splitDuration(spec.window_s) : base.window,
    for: splitDuration(spec.for_s ?? 0),
    reminder: splitDuration(spec.reminder_s ?? 0, "h"),
    scope: scopeToForm(spec.scope),
  };
}

/** Field (as the server names it) → message key; empty when the form can be sent. */
export type FormErrors = Record<string, string>;

function parseNumber(text: string): number | null | undefined {
  const t = text.trim().replace(",", ".");
  if (t === "") return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/** The RuleSpec for the form, or the fields that are not numbers (the server checks ranges). */
export function buildRuleSpec(f: RuleForm): { spec: RuleSpec; errors: FormErrors } {
  const errors: FormErrors = {};
  const spec: RuleSpec = {
    name: f.name.trim(),
    kind: f.kind,
    severity: f.severity,
    enabled: f.enabled,
    scope: scopeFromForm(f.scope),
    for_s: 0,
    reminder_s: 0,
  };
  if (!spec.name) errors.name = "rules.error.required";

  const duration = (field: string, d: DurationInput): number => {
    const s = joinDuration(d);
    if (s === null) errors[field] = "rules.error.duration";
    return s ?? 0;
  };
  spec.for_s = duration("for_s", f.for);
  spec.reminder_s = duration("reminder_s", f.reminder);

  const number = (field: "threshold" | "clear", required: boolean): number | undefined => {
    const n = parseNumber(f[field]);
    if (n === null) errors[field] = "rules.error.number";
    else if (n === undefined && required) errors[field] = "rules.error.required";
    return n ?? undefined;
  };
  const put = (key: "threshold" | "clear", value: number | undefined) => {
    if (value !== undefined) spec[key] = value;
  };

  switch (f.kind) {
    case "metric":
      spec.metric = f.metric;
      spec.op = f.op;
      put("threshold", number("threshold", true));
      put("clear", number("clear", false));
      break;
    case "health":
      put("threshold", number("threshold", true));
      put("clear", number("clear", false));
      break;
    case "disk":
      spec.disk_verdict = f.diskVerdict;
      break;
    case "events":
      spec.event_severity = f.eventSeverity;
      if (f.eventPattern.trim()) spec.event_pattern = f.eventPattern.trim();
      put("threshold", number("threshold", false));
      spec.window_s = duration("window_s", f.window);
      break;
    case "agent":
      spec.window_s = duration("window_s", f.window);
      break;
    case "offline":
      break;
  }
  return { spec, errors };
}

/** The form field a server error names: "scope.selector" → "selector". */
export function ruleFieldOf(field: string | null | undefined): string | null {
  if (!field) return null;
  return field.replace(/^scope\./, "").replace(/\[\d+\]$/, "");
}

// ---- Words -----------------------------------------------------------------------------

/** What the page needs to say a rule's condition in the reader's language. */
export type RuleSummary =
  | { kind: "metric"; metric: string; op: Op; threshold: number | null; forS: number }
  | { kind: "offline"; forS: number }
  | { kind: "health"; threshold: number | null; forS: number }
  | { kind: "disk"; verdict: DiskVerdict; forS: number }
  | { kind: "events"; count: number; severity: EventSeverity; pattern: string | null; windowS: number; forS: number }
  | { kind: "agent"; windowS: number; forS: number }
  | { kind: "unknown"; raw: string; forS: number };

export function summarise(spec: RuleSpec): RuleSummary {
  const forS = spec.for_s ?? 0;
  switch (spec.kind) {
    case "metric":
      return {
        kind: "metric",
        metric: spec.metric ?? "",
        op: spec.op === "below" ? "below" : "above",
        threshold: spec.threshold ?? null,
        forS,
      };
    case "offline":
      return { kind: "offline", forS };
    case "health":
      return { kind: "health", threshold: spec.threshold ?? null, forS };
    case "disk":
      return { kind: "disk", verdict: spec.disk_verdict === "failing" ? "failing" : "warning", forS };
    case "events":
      return {
        kind: "events",
        count: spec.threshold ?? 1,
        severity: spec.event_severity ?? "error",
        pattern: spec.event_pattern || null,
        windowS: spec.window_s ?? 3_600,
        forS,
      };
    case "agent":
      return { kind: "agent", windowS: spec.window_s ?? 3_600, forS };
    default:
      return { kind: "unknown", raw: spec.kind, forS };
  }
}
