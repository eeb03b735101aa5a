import { describe, expect, it } from "vitest";
import type { AgentRelease, Machine } from "../api/types";
import {
  compareVersions,
  newRolloutForm,
  progressParts,
  releasedVersions,
  rolloutActions,
  rolloutBody,
  rolloutFieldOf,
  versionCounts,
} from "./updates";

const machine = (version: string, decommissioned = false): Machine =>
  ({ id: version, hostname: "h", decommissioned, facts: { agent_version: version } }) as unknown as Machine;

const release = (version: string, platform: AgentRelease["platform"]): AgentRelease => ({
  version,
  platform,
  serial: 1,
  size: 1,
  sha256: "",
  key_id: "",
  published_ms: 0,
});

describe("compareVersions", () => {
  it("orders by semantic version, a pre-release below its release", () => {
    const sorted = ["0.10.0", "0.2.0", "0.1.1-next", "0.1.1", "0.1.0", "1.0.0-rc.10", "1.0.0-rc.2"].sort(compareVersions);
    expect(sorted).toEqual(["0.1.0", "0.1.1-next", "0.1.1", "0.2.0", "0.10.0", "1.0.0-rc.2", "1.0.0-rc.10"]);
  });
  it("puts what is not a version last", () => {
    expect(["dev", "0.1.0"].sort(compareVersions)).toEqual(["0.1.0", "dev"]);
  });
});

describe("versionCounts", () => {
  it("counts machines per version, newest first, unknown last, decommissioned left out", () => {
    const ms = [machine("0.1.0"), machine("0.1.1-next"), machine("0.1.0"), machine(""), machine("0.2.0", true)];
    expect(versionCounts(ms)).toEqual([
      { version: "0.1.1-next", count: 1 },
      { version: "0.1.0", count: 2 },
      { version: "", count: 1 },
    ]);
  });
});

describe("releasedVersions", () => {
  it("groups platforms under each version, newest first", () => {
    const rs = [release("0.1.0", "windows-x86_64"), release("0.2.0", "linux-x86_64"), release("0.1.0", "linux-x86_64")];
    expect(releasedVersions(rs)).toEqual([
      { version: "0.2.0", platforms: ["linux-x86_64"] },
      { version: "0.1.0", platforms: ["linux-x86_64", "windows-x86_64"] },
    ]);
  });
});

describe("progressParts", () => {
  it("sums the steps under way and the two kinds of failure, and drops empty parts", () => {
    const p = { total: 10, waiting: 3, pending: 1, downloading: 1, applied: 1, healthy: 2, rolled_back: 1, failed: 1 };
    expect(progressParts(p)).toEqual([
      { part: "healthy", count: 2 },
      { part: "underWay", count: 3 },
      { part: "failed", count: 2 },
      { part: "waiting", count: 3 },
    ]);
    expect(progressParts({ ...p, waiting: 0, pending: 0, downloading: 0, applied: 0, rolled_back: 0, failed: 0 })).toEqual([
      { part: "healthy", count: 2 },
    ]);
  });
});

describe("rolloutActions", () => {
  it("offers what the server allows from each state", () => {
    expect(rolloutActions("running")).toEqual(["paused", "cancelled"]);
    expect(rolloutActions("halted")).toEqual(["running", "cancelled"]);
    expect(rolloutActions("paused")).toEqual(["running", "cancelled"]);
    expect(rolloutActions("completed")).toEqual([]);
    expect(rolloutActions("cancelled")).toEqual([]);
  });
});

describe("rolloutBody", () => {
  it("sends the defaults for the whole organisation", () => {
    expect(rolloutBody(newRolloutForm("0.2.0"))).toEqual({
      ok: true,
      body: { version: "0.2.0", scope: {}, canary_count: 1, halt_failure_percent: 20, health_window_s: 120 },
    });
  });
  it("sends only the chosen part of the scope, and a canary share", () => {
    const f = { ...newRolloutForm("0.2.0"), scopeKind: "selector" as const, selector: " env=prod ", groups: ["g1"] };
    const r = rolloutBody({ ...f, canaryMode: "percent", canary: "10", healthWindowMin: "1,5" });
    expect(r).toEqual({
      ok: true,
      body: { version: "0.2.0", scope: { selector: "env=prod" }, canary_percent: 10, halt_failure_percent: 20, health_window_s: 90 },
    });
  });
  it("names each wrong field", () => {
    const r = rolloutBody({
      ...newRolloutForm(""),
      scopeKind: "machines",
      canaryMode: "percent",
      canary: "101",
      haltPercent: "-1",
      healthWindowMin: "0.25",
    });
    expect(r).toEqual({
      ok: false,
      errors: {
        version: "updates.error.version",
        "scope.machines": "updates.error.machines",
        canary_count: "updates.error.percent",
        halt_failure_percent: "updates.error.percent",
        health_window_s: "updates.error.window",
      },
    });
    expect(rolloutBody({ ...newRolloutForm("1.0.0"), scopeKind: "groups" })).toMatchObject({
      errors: { "scope.groups": "updates.error.groups" },
    });
    expect(rolloutBody({ ...newRolloutForm("1.0.0"), healthWindowMin: "1441" })).toMatchObject({ ok: false });
  });
  it("places the server's canary share error on the canary field", () => {
    expect(rolloutFieldOf("canary_percent")).toBe("canary_count");
    expect(rolloutFieldOf("scope")).toBeNull();
    expect(rolloutFieldOf("version")).toBe("version");
  });
});
