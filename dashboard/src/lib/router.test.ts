import { describe, expect, it } from "vitest";
import { matchRoute } from "./router";

describe("matchRoute", () => {
  it("matches literal and parameter segments", () => {
    expect(matchRoute("/", "/")).toEqual({});
    expect(matchRoute("/alerts", "/alerts")).toEqual({});
    expect(matchRoute("/alerts", "/alerts/")).toEqual({});
    expect(matchRoute("/machines/:id", "/machines/m%2F1")).toEqual({ id: "m/1" });
  });

  it("refuses other shapes and bad escapes", () => {
    expect(matchRoute("/machines/:id", "/machines")).toBeNull();
    expect(matchRoute("/machines/:id", "/machines/a/b")).toBeNull();
    expect(matchRoute("/alerts", "/rules")).toBeNull();
    expect(matchRoute("/machines/:id", "/machines/%E0%A4%A")).toBeNull();
  });
});
