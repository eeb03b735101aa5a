// Dashboard figures for BENCHMARKS.md (run by `cargo xtask bench --only dashboard`, which
// starts a release server with BENCH_MACHINES machines and passes its address). Prints
// Markdown.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join } from "node:path";
import { chromium } from "playwright-core";

const here = new URL(".", import.meta.url).pathname;
const dist = join(here, "../dist");
const BASE = process.env.BENCH_BASE_URL;
const MACHINES = Number(process.env.BENCH_MACHINES ?? 5000);

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x) => `${x.toFixed(1)} ms`;

// 1. What the first visit downloads: the entry script and what it preloads, gzipped as served.
function initialJs() {
  const html = readFileSync(join(dist, "index.html"), "utf8");
  const files = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]);
  let gz = 0;
  let br = 0;
  for (const f of new Set(files)) {
    gz += statSync(join(dist, `${f}.gz`)).size;
    br += statSync(join(dist, `${f}.br`)).size;
  }
  const allGz = readdirSync(join(dist, "assets"))
    .filter((f) => f.endsWith(".js.gz"))
    .reduce((sum, f) => sum + statSync(join(dist, "assets", f)).size, 0);
  return { files: new Set(files).size, gz, br, allGz };
}

const browser = await chromium.launch({
  executablePath: process.env.E2E_CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

// 2. The 30-day chart, built from bench/chart.html with the dashboard's own components.
async function chartBench() {
  const built = spawnSync("npx", ["vite", "build", "--config", join(here, "vite.config.ts")], { cwd: join(here, ".."), stdio: "inherit" });
  if (built.status !== 0) throw new Error("bench build failed");
  const root = join(here, "../../target/dashboard-bench");
  const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };
  const server = createServer((req, res) => {
    try {
      const body = readFileSync(join(root, new URL(req.url, "http://x").pathname));
      res.writeHead(200, { "content-type": types[extname(req.url)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`http://127.0.0.1:${server.address().port}/chart.html`);
  await page.waitForFunction(() => window.benchResult, null, { timeout: 120_000 });
  const result = await page.evaluate(() => window.benchResult);
  await page.close();
  server.close();
  return result;
}

// 3. The fleet page with every machine of the bench server.
async function fleetBench() {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(120_000);
  await page.goto(`${BASE}/login`);
  await page.getByLabel("Email").fill(process.env.BENCH_EMAIL);
  await page.getByLabel("Password").fill(process.env.BENCH_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => u.pathname === "/");
  const shown = new Intl.NumberFormat("en").format(MACHINES);
  const timeToList = async (path) => {
    const started = Date.now();
    await page.goto(BASE + path);
    await page.getByTestId("fleet-count").getByText(`${shown} of ${shown} machines`).waitFor();
    return Date.now() - started;
  };
  const scroll = (px) =>
    page.evaluate(async (px) => {
      window.scrollTo(0, 0);
      const deltas = [];
      let last = performance.now();
      const end = last + 4000;
      await new Promise((done) => {
        const step = (t) => {
          deltas.push(t - last);
          last = t;
          window.scrollBy(0, px);
          if (t < end && window.scrollY + window.innerHeight < document.documentElement.scrollHeight) requestAnimationFrame(step);
          else done();
        };
        requestAnimationFrame(step);
      });
      return { deltas: deltas.slice(1), scrolled: window.scrollY };
    }, px);
  // The same at a fast scroll, then with every backdrop blur off: what the glass costs a
  // machine that paints without a GPU, as this one does.
  const scrolls = async () => {
    const out = { fast: await scroll(700), normal: await scroll(120) };
    const style = await page.addStyleTag({ content: "*,*::before{backdrop-filter:none!important}" });
    out.noBlur = await scroll(120);
    await style.evaluate((s) => s.remove());
    return out;
  };
  const cards = {
    load: await timeToList("/"),
    nodes: await page.getByTestId("machine-card").count(),
    dom: await page.evaluate(() => document.getElementsByTagName("*").length),
  };
  cards.scroll = await scrolls();
  const table = {
    load: await timeToList("/?view=table"),
    nodes: await page.getByTestId("machine-row").count(),
    dom: await page.evaluate(() => document.getElementsByTagName("*").length),
  };
  table.scroll = await scrolls();
  await context.close();
  return { cards, table };
}

const js = initialJs();
const chart = await chartBench();
const fleet = BASE ? await fleetBench() : null;
const version = browser.version();
await browser.close();

const warm = chart.runs.slice(2);
let out = `### Dashboard (headless Chromium ${version}, 2 cores shared with the server)\n\n`;
out += `| figure | value |\n|---|---|\n`;
out += `| initial JavaScript (entry + preloaded chunks, ${js.files} files) | ${kb(js.gz)} gzip, ${kb(js.br)} brotli (budget 250 KB gzip) |\n`;
out += `| all JavaScript, every screen | ${kb(js.allGz)} gzip |\n`;
out += `| 30-day chart, ${chart.points.toLocaleString("en")} points (2 series × 1-minute points): data aligned, uPlot built, painted | first ${ms(chart.runs[0])}, then median ${ms(pct(warm, 50))}, max ${ms(Math.max(...warm))} (${warm.length} runs; budget 300 ms) |\n`;
if (fleet) {
  for (const [name, f] of Object.entries(fleet)) {
    out += `| fleet, ${MACHINES.toLocaleString("en")} machines, ${name}: navigation to list shown | ${f.load} ms (${f.nodes} ${name === "cards" ? "cards" : "rows"} in the page, ${f.dom} elements) |\n`;
    for (const [label, run] of [
      ["120 px a frame", f.scroll.normal],
      ["700 px a frame", f.scroll.fast],
      ["120 px a frame, backdrop blur off", f.scroll.noBlur],
    ]) {
      const d = run.deltas;
      out += `| fleet, ${name}: frame intervals scrolling ${label} (${d.length} frames, ${run.scrolled} px) | p50 ${ms(pct(d, 50))}, p95 ${ms(pct(d, 95))}, max ${ms(Math.max(...d))} |\n`;
    }
  }
}
console.log(out);
