import { describe, expect, it } from "vitest";
import type { RuleKind, RuleSpec } from "../api/types";
import {
  buildRuleSpec,
  formatThreshold,
  joinDuration,
  newRuleForm,
  ruleFieldOf,
  ruleToForm,
  scopeFromForm,
  splitDuration,
  summarise,
  withKind,
} from "./rules";

const cpu: RuleSpec = {
  name: "CPU above 90 %",
  kind: "metric",
  metric: "cpu.percent",
  op: "above",
  threshold: 90,
  clear: 80,
  for_s: 600,
  scope: {},
  severity: "warning",
  reminder_s: 0,
  enabled: true,
};

describe("durations", () => {
  it("uses the largest unit that divides", () => {
    expect(splitDuration(600)).toEqual({ value: "10", unit: "min" });
    expect(splitDuration(7_200)).toEqual({ value: "2", unit: "h" });
    expect(splitDuration(86_400)).toEqual({ value: "1", unit: "d" });
    expect(splitDuration(90)).toEqual({ value: "90", unit: "s" });
    expect(splitDuration(0)).toEqual({ value: "0", unit: "min" });
    expect(splitDuration(0, "h")).toEqual({ value: "0", unit: "h" });
  });
  it("joins back to seconds; empty is 0, nonsense is null", () => {
    expect(joinDuration({ value: "10", unit: "min" })).toBe(600);
    expect(joinDuration({ value: "1,5", unit: "h" })).toBe(5_400);
    expect(joinDuration({ value: "", unit: "h" })).toBe(0);
    expect(joinDuration({ value: "-1", unit: "s" })).toBeNull();
    expect(joinDuration({ value: "abc", unit: "s" })).toBeNull();
  });
});

describe("rule form", () => {
  it("round-trips a metric rule", () => {
    const form = ruleToForm(cpu);
    expect(form.for).toEqual({ value: "10", unit: "min" });
    expect(form.threshold).toBe("90");
    expect(form.clear).toBe("80");
    const { spec, errors } = buildRuleSpec(form);
    expect(errors).toEqual({});
    expect(spec).toEqual(cpu);
  });

  it("sends only the fields of the kind", () => {
    const form = { ...ruleToForm(cpu), kind: "offline" as const };
    const { spec } = buildRuleSpec(form);
    expect(spec).toEqual({
      name: "CPU above 90 %",
      kind: "offline",
      severity: "warning",
      enabled: true,
      scope: {},
      for_s: 600,
      reminder_s: 0,
    });
  });

  it("builds events, disk, health and agent rules", () => {
    const events = buildRuleSpec({
      ...withKind(newRuleForm(), "events"),
      name: "Errors",
      eventPattern: " oom ",
      threshold: "5",
      window: { value: "30", unit: "min" },
    }).spec;
    expect(events).toMatchObject({ kind: "events", event_severity: "error", event_pattern: "oom", threshold: 5, window_s: 1_800 });
    expect(events.metric).toBeUndefined();

    const disk = buildRuleSpec({ ...withKind(newRuleForm(), "disk"), name: "Disks", diskVerdict: "failing" }).spec;
    expect(disk).toMatchObject({ kind: "disk", disk_verdict: "failing" });
    expect(disk.threshold).toBeUndefined();

    const health = buildRuleSpec({ ...withKind(newRuleForm(), "health"), name: "Health" }).spec;
    expect(health).toMatchObject({ kind: "health", threshold: 50, clear: 60 });

    const agent = buildRuleSpec({ ...withKind(newRuleForm(), "agent"), name: "Agent" }).spec;
    expect(agent).toMatchObject({ kind: "agent", window_s: 3_600 });
  });

  it("names the fields that are not numbers", () => {
    const { errors } = buildRuleSpec({ ...newRuleForm(), name: " ", threshold: "ninety", clear: "", for: { value: "x", unit: "min" } });
    expect(errors).toEqual({ name: "rules.error.required", threshold: "rules.error.number", for_s: "rules.error.duration" });
    expect(buildRuleSpec({ ...newRuleForm(), name: "a", threshold: "" }).errors).toEqual({ threshold: "rules.error.required" });
  });

  it("accepts a decimal comma", () => {
    expect(buildRuleSpec({ ...newRuleForm(), name: "a", threshold: "92,5" }).spec.threshold).toBe(92.5);
  });

  it("resets the threshold when the kind changes", () => {
    const f = { ...newRuleForm(), threshold: "97" };
    expect(withKind(f, "health").threshold).toBe("50");
    expect(withKind(f, "metric")).toBe(f);
  });

  it("keeps the scope parts given", () => {
    expect(scopeFromForm({ machine: " m1 ", groups: ["g1", "g1", ""], selector: "" })).toEqual({ machine: "m1", groups: ["g1"] });
    expect(scopeFromForm({ machine: "", groups: [], selector: "env=prod" })).toEqual({ selector: "env=prod" });
    const form = ruleToForm({ ...cpu, scope: { groups: ["g"], selector: "env=prod" } });
    expect(buildRuleSpec(form).spec.scope).toEqual({ groups: ["g"], selector: "env=prod" });
  });

  it("maps server fields to form fields", () => {
    expect(ruleFieldOf("scope.selector")).toBe("selector");
    expect(ruleFieldOf("threshold")).toBe("threshold");
    expect(ruleFieldOf(null)).toBeNull();
  });
});

describe("summaries", () => {
  it("says what a rule watches", () => {
    expect(summarise(cpu)).toEqual({ kind: "metric", metric: "cpu.percent", op: "above", threshold: 90, forS: 600 });
    expect(
      summarise({ name: "x", kind: "events", severity: "warning", event_severity: "critical", threshold: 1, window_s: 3_600 }),
    ).toEqual({
      kind: "events",
      count: 1,
      severity: "critical",
      pattern: null,
      windowS: 3_600,
      forS: 0,
    });
    expect(summarise({ name: "x", kind: "sms" as RuleKind, severity: "info" })).toEqual({ kind: "unknown", raw: "sms", forS: 0 });
  });

  it("formats thresholds in their unit", () => {
    expect(formatThreshold("cpu.percent", 90, "en")).toBe("90 %");
    expect(formatThreshold("temperature.cpu_c", 85, "en")).toBe("85 °C");
    expect(formatThreshold("network.rx_bytes_per_s", 10 * 1024 * 1024, "en")).toBe("10 MB/s");
  });
});
