// Silences without React: how long, and the request body.
import type { CreateSilence } from "../api/types";
import { scopeFromForm, type ScopeForm } from "./rules";

export const SILENCE_DURATIONS = ["1h", "4h", "24h", "custom"] as const;
export type SilenceDuration = (typeof SILENCE_DURATIONS)[number];

const HOURS: Record<Exclude<SilenceDuration, "custom">, number> = { "1h": 1, "4h": 4, "24h": 24 };

export interface SilenceForm {
  scope: ScopeForm;
  ruleId: string;
  duration: SilenceDuration;
  /** A `datetime-local` value, local time: "2025-06-01T18:30". */
  customEnd: string;
  reason: string;
}

/** A `datetime-local` value for a time, in the browser's zone. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** The time a `datetime-local` value names, or null. */
export function fromLocalInput(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m;
  const ms = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0)).getTime();
  return Number.isFinite(ms) ? ms : null;
}

export function newSilenceForm(now: number, scope: Partial<ScopeForm> = {}, ruleId = ""): SilenceForm {
  return {
    scope: { machine: scope.machine ?? "", groups: scope.groups ?? [], selector: scope.selector ?? "" },
    ruleId,
    duration: "1h",
    customEnd: toLocalInput(now + 24 * 3_600_000),
    reason: "",
  };
}

/** When the silence ends, or null for a custom end that is not a time. */
export function silenceEnd(f: Pick<SilenceForm, "duration" | "customEnd">, now: number): number | null {
  if (f.duration === "custom") return fromLocalInput(f.customEnd);
  return now + HOURS[f.duration] * 3_600_000;
}

export function buildSilence(f: SilenceForm, now: number): { body: CreateSilence; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const ends = silenceEnd(f, now);
  if (ends === null) errors.ends_ms = "alerts.error.endInvalid";
  else if (ends <= now) errors.ends_ms = "alerts.error.endPast";
  const body: CreateSilence = { ends_ms: ends ?? now, scope: scopeFromForm(f.scope) };
  if (f.ruleId) body.rule_id = f.ruleId;
  if (f.reason.trim()) body.reason = f.reason.trim();
  return { body, errors };
}

/** Whether a silence is in force now (the API lists the future ones too). */
export function silenceActive(s: { starts_ms: number; ends_ms: number }, now: number): boolean {
  return s.starts_ms <= now && now < s.ends_ms;
}
