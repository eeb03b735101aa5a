// Series from the API turned into what uPlot draws: one shared, sorted x array (seconds) and
// one y array per series. Pure and allocation-light so a 30-day chart stays fast.
import type { AlignedData } from "uplot";

export type Point = [number, number];

/** A point further than this many steps from the previous one starts a new line segment. */
export const GAP_FACTOR = 2.5;

export interface SeriesInput {
  /** `[ts_ms, value]`, oldest first. */
  points: readonly (readonly [number, number])[];
  /** Expected spacing of the points, ms; 0 or less: never break the line. */
  stepMs: number;
}

/**
 * The spacing to expect between points: the bucket width of a rollup, or for raw points
 * (step 0) the machine's report interval.
 */
export function expectedStepMs(stepS: number, intervalS: number | null | undefined): number {
  const step = Math.max(0, stepS) * 1000;
  const interval = Math.max(0, intervalS ?? 0) * 1000;
  return Math.max(step, interval);
}

/** One series' points with a `null` inserted in the middle of each gap. */
export function withGaps(points: SeriesInput["points"], stepMs: number): { xs: number[]; ys: (number | null)[] } {
  const xs: number[] = [];
  const ys: (number | null)[] = [];
  const limit = stepMs > 0 ? stepMs * GAP_FACTOR : Infinity;
  let prev = -Infinity;
  for (const [t, v] of points) {
    if (t <= prev) continue; // out of order or duplicate: keep the first
    if (xs.length > 0 && t - prev > limit) {
      xs.push(Math.round((prev + t) / 2));
      ys.push(null);
    }
    xs.push(t);
    ys.push(Number.isFinite(v) ? v : null);
    prev = t;
  }
  return { xs, ys };
}

/**
 * Aligns several series on one x axis, in seconds as uPlot's time scale wants. A series has
 * `undefined` at the x values only others have (uPlot draws across them) and `null` in its
 * gaps (uPlot breaks the line there).
 */
export function alignSeries(list: readonly SeriesInput[]): AlignedData {
  const parts = list.map((s) => withGaps(s.points, s.stepMs));
  let total = 0;
  for (const p of parts) total += p.xs.length;
  const all = new Float64Array(total);
  let k = 0;
  for (const p of parts) for (const x of p.xs) all[k++] = x;
  all.sort();
  const xsMs: number[] = [];
  for (let i = 0; i < all.length; i++) {
    const x = all[i]!;
    if (i === 0 || x !== all[i - 1]) xsMs.push(x);
  }
  const ys = parts.map((p) => {
    const out: (number | null | undefined)[] = new Array<number | null | undefined>(xsMs.length).fill(undefined);
    let j = 0;
    for (let i = 0; i < p.xs.length; i++) {
      const x = p.xs[i]!;
      while (xsMs[j]! < x) j++;
      out[j] = p.ys[i];
    }
    return out;
  });
  return [xsMs.map((x) => x / 1000), ...ys];
}

/** True when no series has a single value to draw. */
export function isEmptyData(data: AlignedData): boolean {
  for (let i = 1; i < data.length; i++) {
    const ys = data[i]!;
    for (let j = 0; j < ys.length; j++) if (ys[j] !== null && ys[j] !== undefined) return false;
  }
  return true;
}

/** Time axis labels: hours and minutes, with the date under the first tick of each day. */
export function timeTicks(splitsS: readonly number[], incrS: number, locale: string, timeZone?: string): string[] {
  const day = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", timeZone });
  const time = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", timeZone });
  let prevDay = "";
  return splitsS.map((s) => {
    const d = day.format(s * 1000);
    if (incrS >= 86_400) return d;
    const label = d === prevDay ? time.format(s * 1000) : `${time.format(s * 1000)}\n${d}`;
    prevDay = d;
    return label;
  });
}

export type RangeKey = "1h" | "24h" | "7d" | "30d";
export const RANGES: Record<RangeKey, number> = {
  "1h": 3_600_000,
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
  "30d": 30 * 86_400_000,
};
export const RANGE_KEYS = Object.keys(RANGES) as RangeKey[];

/** The window a range covers, ending now. */
export function rangeWindow(range: RangeKey, now: number): { from: number; to: number } {
  return { from: now - RANGES[range], to: now };
}

/**
 * Widens the x axis to the whole range asked for, so an hour with five minutes of data
 * still reads as an hour (empty edges, no values: uPlot draws nothing there).
 */
export function withWindow(data: AlignedData, fromMs: number, toMs: number): AlignedData {
  const xs = data[0] as number[];
  if (xs.length === 0) return data;
  const from = fromMs / 1000;
  const to = toMs / 1000;
  const before = from < xs[0]! ? 1 : 0;
  const after = to > xs[xs.length - 1]! ? 1 : 0;
  if (!before && !after) return data;
  const pad = <T>(arr: readonly T[], first: T, last: T): T[] => [...(before ? [first] : []), ...arr, ...(after ? [last] : [])];
  return [
    pad(xs, from, to),
    ...data.slice(1).map((ys) => pad(ys as readonly (number | null | undefined)[], undefined, undefined)),
  ] as AlignedData;
}
