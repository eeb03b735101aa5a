// Agent updates without React: versions in order, the fleet's versions counted, a rollout's
// progress as parts of a bar, what an operator may do with a rollout, and the new-rollout
// form to a CreateRollout. The checks mirror crates/server/src/api/updates.rs.
import {
  allNames,
  type AgentRelease,
  type CreateRollout,
  type Machine,
  type Platform,
  type RolloutProgress,
  type RolloutScope,
  type RolloutState,
} from "../api/types";

export const PLATFORMS = allNames<Platform>({ "linux-x86_64": true, "linux-aarch64": true, "windows-x86_64": true });

/** Not finished: a new rollout cancels it. */
export function isUnderWay(state: RolloutState): boolean {
  return state === "running" || state === "paused" || state === "halted";
}

/** Machines move: worth reading again every few seconds (a paused or halted rollout offers nothing new). */
export function isMoving(state: RolloutState): boolean {
  return state === "running";
}

/** The states an operator may move a rollout to from `state`, in the order buttons show. */
export function rolloutActions(state: RolloutState): RolloutState[] {
  switch (state) {
    case "running":
      return ["paused", "cancelled"];
    case "paused":
    case "halted":
      return ["running", "cancelled"];
    default:
      return [];
  }
}

interface Parsed {
  core: number[];
  pre: string[];
}

function parseVersion(v: string): Parsed | null {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(v.trim());
  if (!m) return null;
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ? m[4].split(".") : [] };
}

/** Semantic-version order (a pre-release below its release); unreadable versions below every readable one. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) return pa ? -1 : pb ? 1 : a.localeCompare(b);
  for (let i = 0; i < 3; i++) if (pa.core[i] !== pb.core[i]) return pa.core[i]! - pb.core[i]!;
  if (pa.pre.length === 0 || pb.pre.length === 0) return pb.pre.length - pa.pre.length;
  for (let i = 0; i < Math.min(pa.pre.length, pb.pre.length); i++) {
    const x = pa.pre[i]!;
    const y = pb.pre[i]!;
    if (x === y) continue;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) return Number(x) - Number(y);
    if (nx !== ny) return nx ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return pa.pre.length - pb.pre.length;
}

export interface VersionCount {
  /** "" when the agent has not said. */
  version: string;
  count: number;
}

/** How many machines run each agent version, newest first (decommissioned ones left out). */
export function versionCounts(machines: Machine[]): VersionCount[] {
  const counts = new Map<string, number>();
  for (const m of machines) {
    if (m.decommissioned) continue;
    const v = m.facts.agent_version.trim();
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return [...counts]
    .map(([version, count]) => ({ version, count }))
    .sort((a, b) => (a.version === "" ? 1 : b.version === "" ? -1 : compareVersions(b.version, a.version)));
}

/** The published versions, newest first, each with the platforms it has a build for. */
export function releasedVersions(releases: AgentRelease[]): { version: string; platforms: Platform[] }[] {
  const by = new Map<string, Set<Platform>>();
  for (const r of releases) {
    const set = by.get(r.version) ?? new Set<Platform>();
    set.add(r.platform);
    by.set(r.version, set);
  }
  return [...by]
    .map(([version, set]) => ({ version, platforms: PLATFORMS.filter((p) => set.has(p)) }))
    .sort((a, b) => compareVersions(b.version, a.version));
}

export type ProgressPart = "healthy" | "underWay" | "failed" | "waiting";

/** The bar's parts, in order, each with its machines; empty parts left out. */
export function progressParts(p: RolloutProgress): { part: ProgressPart; count: number }[] {
  const parts: { part: ProgressPart; count: number }[] = [
    { part: "healthy", count: p.healthy },
    { part: "underWay", count: p.pending + p.downloading + p.applied },
    { part: "failed", count: p.failed + p.rolled_back },
    { part: "waiting", count: p.waiting },
  ];
  return parts.filter((x) => x.count > 0);
}

// ---- The new-rollout form ----------------------------------------------------------------

export type ScopeKind = "all" | "groups" | "selector" | "machines";
export const SCOPE_KINDS: ScopeKind[] = ["all", "groups", "selector", "machines"];
export type CanaryMode = "count" | "percent";

export interface RolloutForm {
  version: string;
  scopeKind: ScopeKind;
  groups: string[];
  selector: string;
  machines: string[];
  canaryMode: CanaryMode;
  canary: string;
  haltPercent: string;
  /** Minutes, as typed. */
  healthWindowMin: string;
}

export function newRolloutForm(version = ""): RolloutForm {
  return {
    version,
    scopeKind: "all",
    groups: [],
    selector: "",
    machines: [],
    canaryMode: "count",
    canary: "1",
    haltPercent: "20",
    healthWindowMin: "2",
  };
}

/** Field (as the server names it) → message key. */
export type RolloutFormErrors = Record<string, string>;

function wholeNumber(text: string, min: number, max: number): number | null {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n >= min && n <= max ? n : null;
}

/** The request for the form, or which fields are wrong (message keys). */
export function rolloutBody(f: RolloutForm): { ok: true; body: CreateRollout } | { ok: false; errors: RolloutFormErrors } {
  const errors: RolloutFormErrors = {};
  const scope: RolloutScope = {};
  const body: CreateRollout = { version: f.version.trim(), scope };
  if (!body.version) errors.version = "updates.error.version";
  switch (f.scopeKind) {
    case "groups":
      if (f.groups.length === 0) errors["scope.groups"] = "updates.error.groups";
      scope.groups = [...new Set(f.groups)];
      break;
    case "selector":
      if (!f.selector.trim()) errors["scope.selector"] = "updates.error.selector";
      scope.selector = f.selector.trim();
      break;
    case "machines":
      if (f.machines.length === 0) errors["scope.machines"] = "updates.error.machines";
      scope.machines = [...new Set(f.machines)];
      break;
    case "all":
      break;
  }
  const canary = wholeNumber(f.canary, 0, f.canaryMode === "percent" ? 100 : 1_000_000);
  if (canary === null) errors.canary_count = f.canaryMode === "percent" ? "updates.error.percent" : "updates.error.count";
  else if (f.canaryMode === "percent") body.canary_percent = canary;
  else body.canary_count = canary;
  const halt = wholeNumber(f.haltPercent, 0, 100);
  if (halt === null) errors.halt_failure_percent = "updates.error.percent";
  else body.halt_failure_percent = halt;
  const minutes = Number(f.healthWindowMin.trim().replace(",", "."));
  const seconds = Math.round(minutes * 60);
  if (!f.healthWindowMin.trim() || !Number.isFinite(minutes) || seconds < 30 || seconds > 86_400)
    errors.health_window_s = "updates.error.window";
  else body.health_window_s = seconds;
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, body };
}

/** Where a server error's field shows in the form ("canary_percent" shares the canary field). */
export function rolloutFieldOf(field: string | null | undefined): string | null {
  if (!field) return null;
  if (field === "canary_percent") return "canary_count";
  if (field === "scope") return null;
  return field;
}
