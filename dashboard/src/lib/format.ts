// Numbers, sizes, rates and times for people, in the interface's language.

export function formatNumber(value: number, locale: string, digits = 0): string {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(value);
}

export function formatPercent(value: number | null | undefined, locale: string, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: digits }).format(value / 100);
}

const BYTE_UNITS: Record<string, string[]> = {
  en: ["B", "KB", "MB", "GB", "TB", "PB"],
  fr: ["o", "Ko", "Mo", "Go", "To", "Po"],
};

/** Binary multiples (1 KB = 1024 B), as df and the file managers people know show them. */
export function formatBytes(bytes: number | null | undefined, locale: string, digits = 1): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "–";
  const units = BYTE_UNITS[lang(locale)] ?? BYTE_UNITS.en!;
  let v = Math.abs(bytes);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const n = new Intl.NumberFormat(locale, { maximumFractionDigits: i === 0 ? 0 : digits }).format(Math.sign(bytes) * v);
  return `${n} ${units[i]}`;
}

export function formatRate(bytesPerS: number | null | undefined, locale: string): string {
  if (bytesPerS === null || bytesPerS === undefined) return "–";
  return `${formatBytes(bytesPerS, locale)}/s`;
}

/** Uptime and other spans: the two largest units, "3 d 4 h", "12 min". */
export function formatDuration(seconds: number, locale: string): string {
  const fr = lang(locale) === "fr";
  const units: [number, string][] = [
    [86_400, fr ? "j" : "d"],
    [3_600, "h"],
    [60, "min"],
    [1, "s"],
  ];
  let rest = Math.max(0, Math.floor(seconds));
  const parts: string[] = [];
  for (const [size, name] of units) {
    if (rest >= size || (size === 1 && parts.length === 0)) {
      parts.push(`${Math.floor(rest / size)} ${name}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

export function formatDateTime(ms: number | null | undefined, locale: string): string {
  if (ms === null || ms === undefined) return "–";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium" }).format(ms);
}

/** "5 minutes ago", "in 2 hours": the nearest whole unit. */
export function formatRelative(ms: number | null | undefined, locale: string, now = Date.now()): string {
  if (ms === null || ms === undefined) return "–";
  const diff = (ms - now) / 1000;
  const abs = Math.abs(diff);
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  if (abs < 45) return rtf.format(Math.round(diff), "second");
  if (abs < 2_700) return rtf.format(Math.round(diff / 60), "minute");
  if (abs < 64_800) return rtf.format(Math.round(diff / 3_600), "hour");
  if (abs < 2_592_000) return rtf.format(Math.round(diff / 86_400), "day");
  return rtf.format(Math.round(diff / 2_592_000), "month");
}

/** A metric value in its catalog unit. */
export function formatMetric(value: number | null | undefined, unit: string, locale: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  switch (unit) {
    case "%":
      return formatPercent(value, locale, 1);
    case "B":
      return formatBytes(value, locale);
    case "B/s":
      return formatRate(value, locale);
    case "s":
      return formatDuration(value, locale);
    case "°C":
      return `${formatNumber(value, locale, 1)} °C`;
    case "":
      return formatNumber(value, locale, 2);
    default:
      return `${formatNumber(value, locale, 1)} ${unit}`;
  }
}

function lang(locale: string): string {
  return locale.slice(0, 2).toLowerCase();
}
