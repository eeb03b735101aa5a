// A time chart on uPlot: drag to zoom, double-click to reset, a legend with values in the
// metric's unit, colours for both themes. The uPlot instance lives in a ref: new data goes
// through setData (keeping the zoom), and only a change of lines, unit or language rebuilds it.
import { useEffect, useLayoutEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import uPlot, { type AlignedData, type Axis, type Options, type Scale } from "uplot";
import { formatDateTime, formatMetric } from "../lib/format";
import { timeTicks } from "../lib/series";

export interface TimeChartLine {
  label: string;
  color: string;
  dashed?: boolean;
}

/** Mid-tone colours that read on the light and the dark glass. */
export const CHART_COLORS = ["#0ea5e9", "#8b5cf6", "#10b981", "#f59e0b", "#f43f5e", "#14b8a6", "#6366f1", "#ec4899"];

export function chartColor(i: number): string {
  return CHART_COLORS[i % CHART_COLORS.length]!;
}

const AXIS_FONT = "12px system-ui, -apple-system, sans-serif";

function isDark(): boolean {
  return document.documentElement.classList.contains("dark");
}

const axisText = () => (isDark() ? "#94a3b8" : "#475569");
const gridLine = () => (isDark() ? "rgba(255,255,255,0.08)" : "rgba(15,23,42,0.08)");

let measurer: CanvasRenderingContext2D | null = null;
function textWidth(s: string): number {
  measurer ??= document.createElement("canvas").getContext("2d");
  if (!measurer) return s.length * 7;
  measurer.font = AXIS_FONT;
  return measurer.measureText(s).width;
}

/** Tick steps for bytes: 1, 2, 4 … 512 of each binary unit, so ticks read "256 KB", "1 MB". */
const BYTE_INCRS: number[] = [];
for (let k = 0; k < 6; k++) for (let m = 1; m < 1024; m *= 2) BYTE_INCRS.push(m * 1024 ** k);

function yRange(unit: string): Scale.Range | undefined {
  if (unit === "%") return (_u, _min, max) => [0, Math.max(100, max ?? 0)];
  if (unit === "B/s" || unit === "B") return (_u, _min, max) => [0, max && max > 0 ? max * 1.1 : 1];
  return undefined;
}

function buildOptions(lines: TimeChartLine[], unit: string, locale: string, width: number, height: number, timeLabel: string): Options {
  const yAxis: Axis = {
    stroke: axisText,
    font: AXIS_FONT,
    grid: { stroke: gridLine, width: 1 },
    ticks: { stroke: gridLine, width: 1, size: 4 },
    values: (_u, splits) => splits.map((v) => formatMetric(v, unit, locale)),
    size: (_u, values) => (values?.length ? Math.ceil(Math.max(...values.map((v) => textWidth(String(v))))) + 14 : 40),
    incrs: unit === "B/s" || unit === "B" ? BYTE_INCRS : undefined,
  };
  return {
    width,
    height,
    padding: [12, 20, 0, 4],
    cursor: { drag: { x: true, y: false, setScale: true } },
    legend: { live: true },
    scales: { x: { time: true }, y: { range: yRange(unit) } },
    axes: [
      {
        stroke: axisText,
        font: AXIS_FONT,
        grid: { stroke: gridLine, width: 1 },
        ticks: { stroke: gridLine, width: 1, size: 4 },
        space: 70,
        values: (_u, splits, _axis, _space, incr) => timeTicks(splits, incr, locale),
      },
      yAxis,
    ],
    series: [
      { label: timeLabel, value: (_u, v) => (v === null || v === undefined ? "–" : formatDateTime(v * 1000, locale)) },
      ...lines.map((l) => ({
        label: l.label,
        stroke: l.color,
        width: 1.5,
        dash: l.dashed ? [6, 4] : undefined,
        fill: lines.length === 1 ? `${l.color}22` : undefined,
        spanGaps: false,
        value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? "–" : formatMetric(v, unit, locale)),
      })),
    ],
  };
}

/** Replaces the data, keeping a zoomed-in x range as it was. */
function updateData(u: uPlot, data: AlignedData) {
  const old = u.data[0];
  const { min, max } = u.scales.x ?? {};
  const zoomed = old.length > 0 && min !== undefined && max !== undefined && (min > old[0]! || max < old[old.length - 1]!);
  const xs = data[0];
  u.setData(data, false);
  if (zoomed) u.setScale("x", { min: min!, max: max! });
  else if (xs.length > 0) u.setScale("x", { min: xs[0]!, max: xs[xs.length - 1]! });
}

export function TimeChart({
  data,
  lines,
  unit,
  height = 220,
  label,
  timeLabel = "",
}: {
  data: AlignedData;
  lines: TimeChartLine[];
  unit: string;
  height?: number;
  label: string;
  timeLabel?: string;
}) {
  const { i18n } = useTranslation();
  const locale = i18n.language;
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latestData = useRef(data);
  // Layout effects run before the effects below: a new chart starts from the latest data.
  useLayoutEffect(() => {
    latestData.current = data;
  });
  const signature = JSON.stringify([lines, unit, locale, height, timeLabel]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const spec = JSON.parse(signature) as [TimeChartLine[], string, string, number, string];
    const u = new uPlot(buildOptions(spec[0], spec[1], spec[2], Math.max(el.clientWidth, 100), spec[3], spec[4]), latestData.current, el);
    plot.current = u;
    let width = el.clientWidth;
    const resize = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && w !== width) {
        width = w;
        u.setSize({ width: w, height: spec[3] });
      }
    });
    resize.observe(el);
    const theme = new MutationObserver(() => u.redraw(false, false));
    theme.observe(document.documentElement, { attributes: true, attributeFilter: ["class"] });
    return () => {
      resize.disconnect();
      theme.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [signature]);

  useEffect(() => {
    const u = plot.current;
    if (u && u.data !== data) updateData(u, data);
  }, [data]);

  return (
    <div
      ref={box}
      role="figure"
      aria-label={label}
      className="w-full min-w-0 [&_.u-inline_tr]:mr-3! [&_.u-legend]:text-xs! [&_.u-legend_th]:font-medium!"
    />
  );
}
