// Organisation settings: the form, its checks and the PATCH body of what changed.
import { allNames, type Language } from "../api/types";

export interface OrgSettings {
  require_mfa: boolean;
  language: Language;
  offline_after_intervals: number;
  degraded_below_score: number;
}

export interface OrgSettingsForm {
  require_mfa: boolean;
  language: string;
  offline_after_intervals: string;
  degraded_below_score: string;
}

/** The languages notifications can be written in (the dashboard's own are in i18n). */
export const NOTIFICATION_LANGUAGES = allNames<Language>({ en: true, fr: true });

function isLanguage(s: string): s is Language {
  return (NOTIFICATION_LANGUAGES as readonly string[]).includes(s);
}
export const OFFLINE_AFTER = { min: 2, max: 100 } as const;
export const DEGRADED_BELOW = { min: 0, max: 100 } as const;

export function settingsForm(org: OrgSettings): OrgSettingsForm {
  return {
    require_mfa: org.require_mfa,
    language: org.language,
    offline_after_intervals: String(org.offline_after_intervals),
    degraded_below_score: String(org.degraded_below_score),
  };
}

function intIn(text: string, range: { min: number; max: number }): number | null {
  if (!/^\s*\d+\s*$/.test(text)) return null;
  const n = Number(text);
  return n >= range.min && n <= range.max ? n : null;
}

export type SettingsField = "language" | "offline_after_intervals" | "degraded_below_score";

/** The changed settings, or the first field that is wrong. An empty body means no change. */
export function settingsPatch(
  org: OrgSettings,
  form: OrgSettingsForm,
): { ok: true; body: Partial<OrgSettings> } | { ok: false; field: SettingsField } {
  const language = form.language;
  if (!isLanguage(language)) return { ok: false, field: "language" };
  const offline = intIn(form.offline_after_intervals, OFFLINE_AFTER);
  if (offline === null) return { ok: false, field: "offline_after_intervals" };
  const degraded = intIn(form.degraded_below_score, DEGRADED_BELOW);
  if (degraded === null) return { ok: false, field: "degraded_below_score" };
  const body: Partial<OrgSettings> = {};
  if (form.require_mfa !== org.require_mfa) body.require_mfa = form.require_mfa;
  if (language !== org.language) body.language = language;
  if (offline !== org.offline_after_intervals) body.offline_after_intervals = offline;
  if (degraded !== org.degraded_below_score) body.degraded_below_score = degraded;
  return { ok: true, body };
}

/** A deletion is confirmed by typing the organisation's exact name. */
export function deleteConfirmed(typed: string, name: string): boolean {
  return typed.trim() === name && name !== "";
}
