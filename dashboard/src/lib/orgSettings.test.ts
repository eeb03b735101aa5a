import { describe, expect, it } from "vitest";
import { deleteConfirmed, settingsForm, settingsPatch, type OrgSettings } from "./orgSettings";

const org: OrgSettings = { require_mfa: false, language: "en", offline_after_intervals: 3, degraded_below_score: 80 };

describe("settingsPatch", () => {
  it("sends nothing when nothing changed", () => {
    expect(settingsPatch(org, settingsForm(org))).toEqual({ ok: true, body: {} });
  });
  it("sends only what changed", () => {
    const form = { ...settingsForm(org), require_mfa: true, degraded_below_score: " 70 " };
    expect(settingsPatch(org, form)).toEqual({ ok: true, body: { require_mfa: true, degraded_below_score: 70 } });
    expect(settingsPatch(org, { ...settingsForm(org), language: "fr", offline_after_intervals: "5" })).toEqual({
      ok: true,
      body: { language: "fr", offline_after_intervals: 5 },
    });
  });
  it("checks the ranges", () => {
    expect(settingsPatch(org, { ...settingsForm(org), offline_after_intervals: "1" })).toEqual({
      ok: false,
      field: "offline_after_intervals",
    });
    expect(settingsPatch(org, { ...settingsForm(org), offline_after_intervals: "101" })).toEqual({
      ok: false,
      field: "offline_after_intervals",
    });
    expect(settingsPatch(org, { ...settingsForm(org), offline_after_intervals: "2.5" })).toEqual({
      ok: false,
      field: "offline_after_intervals",
    });
    expect(settingsPatch(org, { ...settingsForm(org), degraded_below_score: "" })).toEqual({ ok: false, field: "degraded_below_score" });
    expect(settingsPatch(org, { ...settingsForm(org), degraded_below_score: "0" })).toEqual({
      ok: true,
      body: { degraded_below_score: 0 },
    });
    expect(settingsPatch(org, { ...settingsForm(org), language: "de" })).toEqual({ ok: false, field: "language" });
  });
});

describe("deleteConfirmed", () => {
  it("needs the exact name", () => {
    expect(deleteConfirmed("Acme", "Acme")).toBe(true);
    expect(deleteConfirmed(" Acme ", "Acme")).toBe(true);
    expect(deleteConfirmed("acme", "Acme")).toBe(false);
    expect(deleteConfirmed("", "")).toBe(false);
  });
});
