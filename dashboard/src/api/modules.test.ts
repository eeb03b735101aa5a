import { describe, expect, it } from "vitest";
import { alertKeys } from "./alerts";
import { channelKeys, createBody } from "./channels";
import { fillPath } from "./http";
import { machineKeys } from "./machines";
import { orgKeys } from "./orgs";

/** True when invalidating `prefix` reaches `key` (TanStack Query's partial match on arrays). */
const under = (key: readonly unknown[], prefix: readonly unknown[]) => prefix.every((p, i) => JSON.stringify(p) === JSON.stringify(key[i]));

describe("fillPath", () => {
  it("encodes each parameter", () => {
    expect(fillPath("/machines/{id}/disks/{key}/history", { id: "a b", key: "/dev/sda" })).toBe(
      "/machines/a%20b/disks/%2Fdev%2Fsda/history",
    );
    expect(fillPath("/alerts/{id}/acknowledgement", { id: 42 })).toBe("/alerts/42/acknowledgement");
    expect(fillPath("/groups")).toBe("/groups");
  });

  it("refuses a missing parameter", () => {
    expect(() => fillPath("/machines/{id}", {})).toThrow(/id/);
  });
});

describe("query keys", () => {
  const filters = { q: "web", selector: "", group: "", status: "", sort: "name" as const };

  it("keeps the keys the live stream and the pages share", () => {
    expect(machineKeys.detail("m1")).toEqual(["machine", "m1"]);
    expect(machineKeys.fleetFiltered(filters)).toEqual(["machines", "fleet", filters]);
    expect(machineKeys.everyone()).toEqual(["machines", { all: true }]);
    expect(machineKeys.summary()).toEqual(["fleet-summary"]);
    expect(orgKeys.current()).toEqual(["org"]);
    expect(orgKeys.all()).toEqual(["orgs"]);
  });

  it("puts a machine's parts under the machine, and its heavy series outside", () => {
    const id = "m1";
    const events = machineKeys.events(id, { severity: "", source: "", q: "", period: "" }, 0);
    expect(under(machineKeys.disks(id), machineKeys.detail(id))).toBe(true);
    expect(under(events, machineKeys.detail(id))).toBe(true);
    expect(under(machineKeys.series(id, "cpu.percent", null, "1h", 5), machineKeys.detail(id))).toBe(false);
    expect(under(machineKeys.diskHistory(id, "sda"), machineKeys.detail(id))).toBe(false);
  });

  it("refreshes only the fleet's own lists on a report, every list on a change", () => {
    expect(under(machineKeys.fleetFiltered(filters), machineKeys.fleet())).toBe(true);
    expect(under(machineKeys.everyone(), machineKeys.fleet())).toBe(false);
    expect(under(machineKeys.everyone(), machineKeys.lists())).toBe(true);
    expect(under(machineKeys.fleetFiltered(filters), machineKeys.lists())).toBe(true);
  });

  it("reaches every tab of alerts and a channel's deliveries from their roots", () => {
    expect(under(alertKeys.tab("firing"), alertKeys.all())).toBe(true);
    expect(under(channelKeys.deliveries("c1"), channelKeys.all())).toBe(true);
  });
});

describe("channel bodies", () => {
  it("passes the form's body through unchanged", () => {
    const body = { name: "ops", kind: "webhook" as const, config: { url: "https://x" }, min_severity: "warning" as const, alert_kinds: [] };
    expect(createBody(body)).toEqual(body);
  });
});
