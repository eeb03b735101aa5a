import { describe, expect, it } from "vitest";
import { filterMachines, groupBody, isHexColor, memberDiff, withMember } from "./groupForm";

describe("withMember", () => {
  it("adds or removes one id, leaving the set it was given alone", () => {
    const members = new Set(["a", "b"]);
    expect([...withMember(members, "c", true)]).toEqual(["a", "b", "c"]);
    expect([...withMember(members, "a", false)]).toEqual(["b"]);
    expect([...members]).toEqual(["a", "b"]);
  });
});

describe("groupBody", () => {
  it("trims and lowercases", () => {
    expect(groupBody({ name: "  Web ", color: "#3B82F6", description: " front " })).toEqual({
      ok: true,
      body: { name: "Web", color: "#3b82f6", description: "front" },
    });
  });
  it("names the wrong field", () => {
    expect(groupBody({ name: " ", color: "#000000", description: "" })).toEqual({ ok: false, field: "name" });
    expect(groupBody({ name: "a", color: "red", description: "" })).toEqual({ ok: false, field: "color" });
    expect(groupBody({ name: "a", color: "#000000", description: "x".repeat(501) })).toEqual({ ok: false, field: "description" });
  });
  it("knows a hex colour", () => {
    expect(isHexColor("#a1b2c3")).toBe(true);
    expect(isHexColor("#abc")).toBe(false);
    expect(isHexColor("a1b2c3")).toBe(false);
  });
});

describe("memberDiff", () => {
  it("adds the new and removes the gone", () => {
    expect(memberDiff(["a", "b", "c"], ["c", "d", "a"])).toEqual({ add: ["d"], remove: ["b"] });
  });
  it("is empty without change", () => {
    expect(memberDiff(new Set(["a"]), ["a"])).toEqual({ add: [], remove: [] });
  });
});

describe("filterMachines", () => {
  const ms = [
    { id: "1", hostname: "db-01", ip: "10.0.0.5" },
    { id: "2", hostname: "web-02", display_name: "Alpha web" },
    { id: "3", hostname: "web-01" },
  ];
  it("sorts by shown name", () => {
    expect(filterMachines(ms, "").map((m) => m.id)).toEqual(["2", "1", "3"]);
  });
  it("matches name, hostname and address, ignoring case", () => {
    expect(filterMachines(ms, "WEB").map((m) => m.id)).toEqual(["2", "3"]);
    expect(filterMachines(ms, "alpha").map((m) => m.id)).toEqual(["2"]);
    expect(filterMachines(ms, "10.0.").map((m) => m.id)).toEqual(["1"]);
  });
});
