import { describe, expect, it } from "vitest";
import type { LatestValues } from "../api/types";
import {
  chartPlans,
  diskHistorySeries,
  eventQuery,
  formatWeight,
  labelKeyProblem,
  labelValueProblem,
  MAX_INSTANCES,
  newLabelProblem,
  pageInfo,
  safeColor,
  sortedLabels,
  withLabel,
  withoutLabel,
} from "./machineDetail";

const t = (key: string, opts?: Record<string, unknown>) => (opts?.name ? `${key}:${String(opts.name)}` : key);

function latest(over: Partial<LatestValues> = {}): LatestValues {
  return {
    boot_time_ms: 0,
    cpu_percent: 10,
    disks: [],
    filesystems: [],
    interval_s: 30,
    memory: { available_bytes: 0, swap_total_bytes: 0, swap_used_bytes: 0, total_bytes: 0, used_bytes: 0 },
    memory_used_percent: 50,
    networks: [],
    outbox_dropped_total: 0,
    swap_used_percent: 0,
    ts_ms: 0,
    uptime_s: 0,
    ...over,
  };
}

const fs = (mount: string, used: number) => ({
  device: "/dev/x",
  free_bytes: 100 - used,
  fs_type: "ext4",
  mount,
  total_bytes: 100,
  used_bytes: used,
});
const net = (name: string, rate: number) => ({
  interface: name,
  rx_bytes_per_s: rate,
  tx_bytes_per_s: 0,
  rx_drops: 0,
  rx_errors: 0,
  tx_drops: 0,
  tx_errors: 0,
});

describe("chartPlans", () => {
  it("always has CPU, memory, filesystems, disk IO and network; temperature only when reported", () => {
    const names = chartPlans(latest(), {}, t).map((p) => p.name);
    expect(names).toEqual(["cpu", "memory", "filesystems", "diskio", "network"]);
    const withTemp = chartPlans(latest({ cpu_temp_c: 55 }), {}, t);
    expect(withTemp.map((p) => p.name)).toContain("temperature");
    expect(withTemp.find((p) => p.name === "temperature")?.lines[0]?.metric).toBe("temperature.cpu_c");
  });

  it("draws memory and swap on one chart", () => {
    const mem = chartPlans(latest(), {}, t).find((p) => p.name === "memory")!;
    expect(mem.lines.map((l) => l.metric)).toEqual(["memory.used_percent", "swap.used_percent"]);
    expect(mem.unit).toBe("%");
  });

  it("has one line per mount and read/write pairs per device", () => {
    const plans = chartPlans(
      latest({
        filesystems: [fs("/", 50), fs("/home", 10)],
        disks: [{ device: "sda", read_bytes_per_s: 1, write_bytes_per_s: 2, busy_percent: 0, read_ops_per_s: 0, write_ops_per_s: 0 }],
      }),
      { "disk.read_bytes_per_s": "B/s" },
      t,
    );
    const f = plans.find((p) => p.name === "filesystems")!;
    expect(f.lines.map((l) => [l.metric, l.instance])).toEqual([
      ["filesystem.used_percent", "/"],
      ["filesystem.used_percent", "/home"],
    ]);
    const d = plans.find((p) => p.name === "diskio")!;
    expect(d.lines.map((l) => [l.metric, l.instance, l.color, !!l.dashed])).toEqual([
      ["disk.read_bytes_per_s", "sda", 0, false],
      ["disk.write_bytes_per_s", "sda", 0, true],
    ]);
    expect(d.lines[0]!.label).toBe("machine.charts.line.read:sda");
    expect(d.unit).toBe("B/s");
  });

  it("keeps the busiest interfaces when there are too many", () => {
    const networks = Array.from({ length: MAX_INSTANCES + 3 }, (_, i) => net(`veth${String(i).padStart(2, "0")}`, i));
    const n = chartPlans(latest({ networks }), {}, t).find((p) => p.name === "network")!;
    expect(n.hidden).toBe(3);
    expect(n.lines).toHaveLength(MAX_INSTANCES * 2);
    expect(n.lines.some((l) => l.instance === "veth00")).toBe(false);
    expect(n.lines.some((l) => l.instance === "veth10")).toBe(true);
    expect(n.lines.map((l) => l.metric).slice(0, 2)).toEqual(["network.rx_bytes_per_s", "network.tx_bytes_per_s"]);
  });

  it("takes units from the catalog", () => {
    const cpu = chartPlans(null, { "cpu.percent": "pct" }, t)[0]!;
    expect(cpu.unit).toBe("pct");
  });
});

describe("formatWeight", () => {
  it("uses a real minus sign", () => {
    expect(formatWeight(-20)).toBe("−20");
    expect(formatWeight(5)).toBe("+5");
    expect(formatWeight(0)).toBe("0");
  });
});

describe("labels", () => {
  it("checks keys like the server", () => {
    for (const good of ["env", "app.kubernetes.io/name", "a", "tier_2", "x-y.z", "example.com/Role"])
      expect(labelKeyProblem(good)).toBeNull();
    expect(labelKeyProblem("")).toBe("key");
    expect(labelKeyProblem("-env")).toBe("key");
    expect(labelKeyProblem("env-")).toBe("key");
    expect(labelKeyProblem("a b")).toBe("key");
    expect(labelKeyProblem("é")).toBe("key");
    expect(labelKeyProblem("a".repeat(64))).toBe("key");
    expect(labelKeyProblem("Example.com/x")).toBe("prefix");
    expect(labelKeyProblem("/x")).toBe("prefix");
    expect(labelKeyProblem("x/")).toBe("key");
  });

  it("checks values", () => {
    expect(labelValueProblem("")).toBeNull();
    expect(labelValueProblem("prod-1")).toBeNull();
    expect(labelValueProblem("a b")).toBe("value");
    expect(labelValueProblem("x".repeat(64))).toBe("value");
  });

  it("refuses keys the agent sets and more than 64 labels", () => {
    expect(newLabelProblem("env", "prod", {}, { env: "dev" })).toBe("agent");
    const many = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, "v"]));
    expect(newLabelProblem("new", "v", many, {})).toBe("tooMany");
    expect(newLabelProblem("k1", "w", many, {})).toBeNull();
    expect(newLabelProblem("env", "bad value", {}, {})).toBe("value");
  });

  it("adds and removes without touching the original", () => {
    const a = { env: "prod" };
    expect(withLabel(a, "tier", "web")).toEqual({ env: "prod", tier: "web" });
    expect(withoutLabel(a, "env")).toEqual({});
    expect(a).toEqual({ env: "prod" });
    expect(sortedLabels({ b: "1", a: "2" })).toEqual([
      ["a", "2"],
      ["b", "1"],
    ]);
    expect(sortedLabels(undefined)).toEqual([]);
  });
});

describe("safeColor", () => {
  it("accepts #rrggbb only", () => {
    expect(safeColor("#0ea5e9")).toBe("#0ea5e9");
    expect(safeColor("red; background: url(x)")).toBe("#94a3b8");
    expect(safeColor(undefined)).toBe("#94a3b8");
  });
});

describe("events", () => {
  it("builds the query with only the filters set", () => {
    expect(eventQuery({ severity: "", source: " ", q: "" }, 0)).toEqual({ limit: 50, offset: 0 });
    expect(eventQuery({ severity: "error", source: " sshd ", q: "fail" }, 100)).toEqual({
      limit: 50,
      offset: 100,
      severity: "error",
      source: "sshd",
      q: "fail",
    });
    expect(eventQuery({ severity: "", source: "", q: "", period: "24h" }, 0, 100_000_000)).toEqual({
      limit: 50,
      offset: 0,
      from: 100_000_000 - 86_400_000,
    });
    expect(eventQuery({ severity: "", source: "", q: "", period: "" }, 0, 5)).toEqual({ limit: 50, offset: 0 });
  });

  it("pages by 50", () => {
    expect(pageInfo(0, 50, 120)).toEqual({ first: 1, last: 50, total: 120, prev: null, next: 50 });
    expect(pageInfo(100, 20, 120)).toEqual({ first: 101, last: 120, total: 120, prev: 50, next: null });
    expect(pageInfo(0, 0, 0)).toEqual({ first: 0, last: 0, total: 0, prev: null, next: null });
  });
});

describe("diskHistorySeries", () => {
  it("keeps temperature and only the counters the disk reports", () => {
    const points = [
      { ts_ms: 1, verdict: "ok", temperature_c: 35, reallocated: 0, pending: null, media_errors: null },
      { ts_ms: 2, verdict: "warning", temperature_c: null, reallocated: 8, pending: null, media_errors: null },
      { ts_ms: 3, verdict: "warning", temperature_c: 37, reallocated: 12 },
    ] as never;
    const got = diskHistorySeries(points);
    expect(got.temperature).toEqual([
      [1, 35],
      [3, 37],
    ]);
    expect(got.counters).toEqual([
      {
        field: "reallocated",
        points: [
          [1, 0],
          [2, 8],
          [3, 12],
        ],
      },
    ]);
  });

  it("has nothing for a disk with no readings", () => {
    expect(diskHistorySeries([])).toEqual({ temperature: [], counters: [] });
  });
});
