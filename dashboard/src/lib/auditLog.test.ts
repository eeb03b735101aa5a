import { describe, expect, it } from "vitest";
import { actorKind, actorName, allEntries, compactDetail, nextBefore } from "./auditLog";

describe("compactDetail", () => {
  it("is empty without detail", () => {
    expect(compactDetail(null).text).toBe("");
    expect(compactDetail(undefined).text).toBe("");
    expect(compactDetail({}).text).toBe("");
  });
  it("prints one line of JSON", () => {
    expect(compactDetail({ role: "admin", n: 2 })).toEqual({
      text: '{"role":"admin","n":2}',
      full: '{"role":"admin","n":2}',
      truncated: false,
    });
  });
  it("cuts long details, keeping the whole for a tooltip", () => {
    const d = compactDetail({ x: "a".repeat(50) }, 20);
    expect(d.truncated).toBe(true);
    expect([...d.text].length).toBe(20);
    expect(d.text.endsWith("…")).toBe(true);
    expect(d.full).toBe(JSON.stringify({ x: "a".repeat(50) }));
  });
});

describe("paging", () => {
  it("follows next_before until there is none", () => {
    expect(nextBefore({ entries: [], next_before: 42 })).toBe(42);
    expect(nextBefore({ entries: [], next_before: null })).toBeUndefined();
    expect(nextBefore({ entries: [] })).toBeUndefined();
  });
  it("joins the pages in order", () => {
    expect(allEntries([{ entries: [1, 2] }, { entries: [3] }])).toEqual([1, 2, 3]);
    expect(allEntries(undefined)).toEqual([]);
  });
});

describe("actors", () => {
  it("splits the kind from the name", () => {
    expect(actorKind("user:a@b.c")).toBe("user");
    expect(actorName("user:a@b.c")).toBe("a@b.c");
    expect(actorKind("token:ci (t1)")).toBe("token");
    expect(actorName("token:ci (t1)")).toBe("ci (t1)");
    expect(actorKind("cli")).toBe("cli");
    expect(actorName("cli")).toBe("cli");
    expect(actorKind("system")).toBe("other");
  });
});
