// The 30-day chart bench: the dashboard's own TimeChart and series alignment, fed 30 days of
// one-minute points (what raw data at the agent's healthy interval would be, more than the
// API ever sends for that range), timed from the data's arrival to the chart painted.
import { createRoot } from "react-dom/client";
import { flushSync } from "react-dom";
import "../src/index.css";
import "../src/i18n";
import { TimeChart, chartColor } from "../src/components/TimeChart";
import { alignSeries } from "../src/lib/series";

declare global {
  interface Window {
    benchResult?: { runs: number[]; points: number };
  }
}

const DAYS = 30;
const STEP_MS = 60_000;
const now = Date.UTC(2026, 10, 1);
const count = (DAYS * 86_400_000) / STEP_MS;

function series(phase: number): [number, number][] {
  const out: [number, number][] = new Array(count);
  for (let i = 0; i < count; i++) {
    const t = now - (count - i) * STEP_MS;
    out[i] = [t, 50 + 30 * Math.sin(i / 240 + phase) + 10 * Math.sin(i / 7)];
  }
  return out;
}

const inputs = [series(0), series(2)];
const root = createRoot(document.getElementById("root")!);
const frame = () => new Promise((r) => requestAnimationFrame(() => r(null)));

async function run(): Promise<number> {
  flushSync(() => root.render(<div />));
  await frame();
  const started = performance.now();
  const data = alignSeries(inputs.map((points) => ({ points, stepMs: STEP_MS })));
  flushSync(() =>
    root.render(
      <TimeChart
        data={data}
        unit="%"
        label="bench"
        lines={[
          { label: "memory", color: chartColor(0) },
          { label: "swap", color: chartColor(1) },
        ]}
      />,
    ),
  );
  // The chart is painted once the browser has run the next frame.
  await frame();
  return performance.now() - started;
}

void (async () => {
  const runs: number[] = [];
  for (let i = 0; i < 12; i++) runs.push(await run());
  window.benchResult = { runs, points: count * inputs.length };
})();
