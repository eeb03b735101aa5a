import { describe, expect, it } from "vitest";
import { buildSilence, fromLocalInput, newSilenceForm, silenceActive, silenceEnd, toLocalInput } from "./silences";

const now = new Date(2025, 5, 1, 12, 0, 0).getTime();

describe("silences", () => {
  it("ends after the chosen duration", () => {
    expect(silenceEnd({ duration: "1h", customEnd: "" }, now)).toBe(now + 3_600_000);
    expect(silenceEnd({ duration: "4h", customEnd: "" }, now)).toBe(now + 4 * 3_600_000);
    expect(silenceEnd({ duration: "24h", customEnd: "" }, now)).toBe(now + 24 * 3_600_000);
    expect(silenceEnd({ duration: "custom", customEnd: "2025-06-02T08:30" }, now)).toBe(new Date(2025, 5, 2, 8, 30).getTime());
    expect(silenceEnd({ duration: "custom", customEnd: "tomorrow" }, now)).toBeNull();
  });

  it("reads and writes datetime-local values", () => {
    expect(toLocalInput(new Date(2025, 0, 5, 7, 3).getTime())).toBe("2025-01-05T07:03");
    expect(fromLocalInput(toLocalInput(now))).toBe(now);
  });

  it("builds the body, prefilled for one machine and rule", () => {
    const f = { ...newSilenceForm(now, { machine: "m1" }, "r1"), reason: " maintenance " };
    expect(buildSilence(f, now)).toEqual({
      body: { ends_ms: now + 3_600_000, scope: { machine: "m1" }, rule_id: "r1", reason: "maintenance" },
      errors: {},
    });
  });

  it("covers everything with an empty scope and no rule", () => {
    const { body } = buildSilence(newSilenceForm(now), now);
    expect(body).toEqual({ ends_ms: now + 3_600_000, scope: {} });
  });

  it("refuses an end in the past or not a time", () => {
    const past = { ...newSilenceForm(now), duration: "custom" as const, customEnd: "2025-06-01T11:00" };
    expect(buildSilence(past, now).errors).toEqual({ ends_ms: "alerts.error.endPast" });
    expect(buildSilence({ ...past, customEnd: "" }, now).errors).toEqual({ ends_ms: "alerts.error.endInvalid" });
  });

  it("tells active silences from future ones", () => {
    expect(silenceActive({ starts_ms: now - 1, ends_ms: now + 1 }, now)).toBe(true);
    expect(silenceActive({ starts_ms: now + 1, ends_ms: now + 2 }, now)).toBe(false);
  });
});
