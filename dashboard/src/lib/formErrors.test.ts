import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { placeErrors, type ErrorPlaces } from "./formErrors";

const places: ErrorPlaces = {
  fieldOf: (f) => (f ? f.replace(/^config\./, "") : null),
  shown: new Set(["name", "url"]),
  conflict: "name",
};
const t = (k: string) => `t(${k})`;
const text = (e: unknown) => (e instanceof Error ? e.message : String(e));

describe("placeErrors", () => {
  it("translates the local checks, by the field they name", () => {
    expect(placeErrors({ "config.url": "required" }, null, places, t, text)).toEqual({ errors: { url: "t(required)" }, general: null });
  });

  it("puts a server error next to a shown field", () => {
    const error = new ApiError(400, "invalid", "bad url", "config.url");
    expect(placeErrors({}, error, places, t, text)).toEqual({ errors: { url: "bad url" }, general: null });
  });

  it("puts a 409 without a field on the conflict field", () => {
    const error = new ApiError(409, "conflict", "taken", null);
    expect(placeErrors({}, error, places, t, text).errors.name).toBe("taken");
    expect(placeErrors({}, error, { ...places, conflict: undefined }, t, text)).toEqual({ errors: {}, general: "taken" });
  });

  it("shows anything else once for the whole form", () => {
    expect(placeErrors({}, new ApiError(400, "invalid", "odd", "config.port"), places, t, text).general).toBe("odd");
    expect(placeErrors({}, new Error("network"), places, t, text).general).toBe("network");
  });
});
