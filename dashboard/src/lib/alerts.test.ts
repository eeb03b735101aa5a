import { describe, expect, it } from "vitest";
import { alertQuery, alertTab, canAcknowledge } from "./alerts";

describe("alerts", () => {
  it("reads the tab from the address", () => {
    expect(alertTab("resolved")).toBe("resolved");
    expect(alertTab("all")).toBe("all");
    expect(alertTab("nonsense")).toBe("firing");
    expect(alertTab(null)).toBe("firing");
  });
  it("asks for every state on the All tab", () => {
    expect(alertQuery("all")).toEqual({ limit: 200 });
    expect(alertQuery("pending", 50)).toEqual({ state: "pending", limit: 50 });
  });
  it("acknowledges open alerts once", () => {
    expect(canAcknowledge({ state: "firing", acknowledged_ms: null, acknowledged_by: null })).toBe(true);
    expect(canAcknowledge({ state: "pending" })).toBe(true);
    expect(canAcknowledge({ state: "firing", acknowledged_ms: 5, acknowledged_by: "a@b.c" })).toBe(false);
    expect(canAcknowledge({ state: "resolved" })).toBe(false);
  });
});
