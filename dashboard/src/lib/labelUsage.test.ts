import { describe, expect, it } from "vitest";
import { collectLabels, effectiveLabels, fleetLinkFor } from "./labelUsage";

describe("collectLabels", () => {
  it("counts each pair across machines, sorted by key then value", () => {
    const uses = collectLabels([
      { labels: { env: "prod", role: "web" } },
      { labels: { env: "prod" }, agent_labels: { tier: "api" } },
      { labels: { env: "dev" } },
      {},
    ]);
    expect(uses).toEqual([
      { key: "env", value: "dev", count: 1, fromAgent: 0 },
      { key: "env", value: "prod", count: 2, fromAgent: 0 },
      { key: "role", value: "web", count: 1, fromAgent: 0 },
      { key: "tier", value: "api", count: 1, fromAgent: 1 },
    ]);
  });
  it("counts a machine once when both sources carry the pair", () => {
    expect(collectLabels([{ labels: { env: "prod" }, agent_labels: { env: "prod" } }])).toEqual([
      { key: "env", value: "prod", count: 1, fromAgent: 1 },
    ]);
  });
  it("lets the agent's value win over the admin's", () => {
    expect(effectiveLabels({ labels: { env: "dev", a: "1" }, agent_labels: { env: "prod" } })).toEqual({ env: "prod", a: "1" });
  });
  it("is empty without machines", () => {
    expect(collectLabels([])).toEqual([]);
  });
});

describe("fleetLinkFor", () => {
  it("encodes the selector for the fleet page", () => {
    expect(fleetLinkFor("env", "prod")).toBe("/?selector=env%3Dprod");
    expect(fleetLinkFor("example.com/team", "a b")).toBe("/?selector=example.com%2Fteam%3Da%20b");
    expect(fleetLinkFor("flag", "")).toBe("/?selector=flag%3D");
  });
});
