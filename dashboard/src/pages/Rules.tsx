// Alert rules: the list with each condition in words; admins create, edit, switch on and
// off and delete them. The form adapts to the rule's kind; lib/rules.ts builds the spec.
import { useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import type { TFunction } from "i18next";
import { useTranslation } from "react-i18next";
import { rulesQuery, useDeleteRule, useSaveRule, useToggleRule } from "../api/rules";
import type { Rule, RuleSpec } from "../api/types";
import { useSession } from "../auth/session";
import { ScopeFields, ScopeText } from "../components/Scope";
import { Toggle } from "../components/Toggle";
import {
  Button,
  Card,
  Field,
  FormDialog,
  FormError,
  Input,
  PageHeader,
  QueryView,
  Select,
  SeverityBadge,
  DeleteButton,
} from "../components/ui";
import { formatDuration, formatNumber } from "../lib/format";
import {
  DISK_VERDICTS,
  DURATION_UNITS,
  EVENT_SEVERITIES,
  RULE_KINDS,
  RULE_METRICS,
  SEVERITIES,
  buildRuleSpec,
  formatThreshold,
  metricUnit,
  newRuleForm,
  ruleFieldOf,
  ruleToForm,
  summarise,
  withKind,
  type DurationInput,
  type DurationUnit,
  type RuleForm,
  type RuleKind,
} from "../lib/rules";
import { Checkbox, NumberField, SelectField, SeveritySelect, Table, TextField, type FieldProps } from "../components/fields";
import { useCheckedForm } from "../components/checkedForm";

const metricKey = (metric: string) => metric.replace(/\./g, "_");
const OPS = ["above", "below"] as const;

/** A rule's condition in words: "CPU > 90 % for 10 min". */
function conditionText(spec: RuleSpec, t: TFunction, lang: string): string {
  const s = summarise(spec);
  const duration = (seconds: number) => formatDuration(seconds, lang);
  let text: string;
  switch (s.kind) {
    case "metric":
      text = t("rules.summary.metric", {
        metric: t(`rules.metric.${metricKey(s.metric)}`, { defaultValue: s.metric }),
        op: s.op === "below" ? "<" : ">",
        value: s.threshold === null ? "?" : formatThreshold(s.metric, s.threshold, lang),
      });
      break;
    case "offline":
      text = t("rules.summary.offline");
      break;
    case "health":
      text = t("rules.summary.health", { value: s.threshold === null ? "?" : formatNumber(s.threshold, lang) });
      break;
    case "disk":
      text = t(s.verdict === "failing" ? "rules.summary.diskFailing" : "rules.summary.diskWarning");
      break;
    case "events":
      text = t("rules.summary.events", {
        n: formatNumber(s.count, lang),
        severity: t(`common.severity.${s.severity}`).toLowerCase(),
        window: duration(s.windowS),
      });
      if (s.pattern) text = t("rules.summary.pattern", { condition: text, pattern: s.pattern });
      break;
    case "agent":
      text = t("rules.summary.agent", { window: duration(s.windowS) });
      break;
    default:
      text = t("rules.summary.unknown", { kind: s.raw });
  }
  return s.forS > 0 ? t("rules.summary.for", { condition: text, duration: duration(s.forS) }) : text;
}

type Editing = { rule: Rule | null } | null;

export default function Rules(_props: { params: Record<string, string> }) {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const rules = useQuery(rulesQuery());
  const [editing, setEditing] = useState<Editing>(null);

  return (
    <>
      <PageHeader
        title={t("rules.title")}
        subtitle={t("rules.subtitle")}
        actions={
          isAdmin && (
            <Button variant="primary" data-testid="rule-new" onClick={() => setEditing({ rule: null })}>
              {t("rules.new")}
            </Button>
          )
        }
      />
      <Card>
        <QueryView query={rules} empty={(d) => d.rules.length === 0} emptyTitle={t("rules.empty")}>
          {(data) => <RuleTable rules={data.rules} isAdmin={isAdmin} onEdit={(rule) => setEditing({ rule })} />}
        </QueryView>
      </Card>
      {isAdmin && editing && <RuleDialog key={editing.rule?.id ?? "new"} rule={editing.rule} onClose={() => setEditing(null)} />}
    </>
  );
}

function RuleTable({ rules, isAdmin, onEdit }: { rules: Rule[]; isAdmin: boolean; onEdit: (r: Rule) => void }) {
  const { t } = useTranslation();
  return (
    <Table
      variant="ruled"
      className="min-w-[44rem]"
      label={t("rules.tableLabel")}
      testId="rules-table"
      columns={[
        { label: t("rules.col.name"), cell: "px-4 py-2 font-medium sm:pl-5" },
        t("rules.col.condition"),
        t("rules.col.severity"),
        t("rules.col.scope"),
        t("rules.col.enabled"),
        isAdmin && { label: t("rules.col.actions"), cell: "px-4 py-2 text-right font-medium sm:pr-5" },
      ]}
    >
      {rules.map((r) => (
        <RuleRow key={r.id} rule={r} isAdmin={isAdmin} onEdit={() => onEdit(r)} />
      ))}
    </Table>
  );
}

function RuleRow({ rule, isAdmin, onEdit }: { rule: Rule; isAdmin: boolean; onEdit: () => void }) {
  const { t, i18n } = useTranslation();
  const spec = rule.spec;
  const enabled = spec.enabled ?? true;
  const toggle = useToggleRule(rule.id, spec);
  const remove = useDeleteRule(rule.id);
  const error = toggle.error ?? remove.error;

  return (
    <tr className="border-b border-slate-400/10 align-top last:border-0" data-testid={`rule-row-${rule.id}`}>
      <td className="px-4 py-2.5 font-medium sm:pl-5">
        {spec.name}
        <div className="text-xs font-normal text-muted">{t(`rules.kind.${spec.kind}`, { defaultValue: spec.kind })}</div>
      </td>
      <td className="px-3 py-2.5">{conditionText(spec, t, i18n.language)}</td>
      <td className="px-3 py-2.5">
        <SeverityBadge severity={spec.severity} />
      </td>
      <td className="px-3 py-2.5">
        <ScopeText scope={spec.scope} />
      </td>
      <td className="px-3 py-2.5">
        {isAdmin ? (
          <Toggle
            checked={enabled}
            label={t("rules.toggle", { name: spec.name })}
            busy={toggle.isPending}
            onChange={(next) => toggle.mutate(next)}
            testId={`rule-enabled-${rule.id}`}
          />
        ) : (
          <span className={enabled ? "" : "text-muted"}>{enabled ? t("rules.enabled") : t("rules.disabled")}</span>
        )}
      </td>
      {isAdmin && (
        <td className="px-4 py-2 text-right sm:pr-5">
          <div className="flex justify-end gap-1">
            <Button variant="ghost" onClick={onEdit} data-testid={`rule-edit-${rule.id}`}>
              {t("common.action.edit")}
            </Button>
            <DeleteButton name={spec.name} busy={remove.isPending} onConfirm={() => remove.mutate()} testid={`rule-delete-${rule.id}`} />
          </div>
          <FormError small className="mt-1" error={error} />
        </td>
      )}
    </tr>
  );
}

/** The fields a server error can name, shown next to their input. */
const SHOWN_FIELDS = new Set([
  "name",
  "kind",
  "severity",
  "metric",
  "op",
  "threshold",
  "clear",
  "disk_verdict",
  "event_severity",
  "event_pattern",
  "window_s",
  "for_s",
  "reminder_s",
  "machine",
  "groups",
  "selector",
]);

function RuleDialog({ rule, onClose }: { rule: Rule | null; onClose: () => void }) {
  const { t } = useTranslation();
  const save = useSaveRule(rule?.id ?? null, onClose);
  const { form, setForm, set, check, errors, general } = useCheckedForm<RuleForm>(
    () => (rule ? ruleToForm(rule.spec) : newRuleForm()),
    save,
    { fieldOf: ruleFieldOf, shown: SHOWN_FIELDS, conflict: "name" },
  );

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const { spec, errors: found } = buildRuleSpec(form);
    if (check(found)) save.mutate(spec);
  };

  return (
    <FormDialog
      onClose={onClose}
      title={rule ? t("rules.editTitle", { name: rule.spec.name }) : t("rules.newTitle")}
      onSubmit={submit}
      busy={save.isPending}
      submitTestId="rule-save"
      formTestId="rule-form"
      error={general}
    >
      <TextField
        label={t("rules.field.name")}
        error={errors.name}
        value={form.name}
        onChange={(v) => set("name", v)}
        maxLength={100}
        required
        autoFocus
        testId="rule-name"
      />
      <div className="grid gap-4 sm:grid-cols-2">
        <SelectField
          label={t("rules.field.kind")}
          error={errors.kind}
          options={RULE_KINDS}
          optionLabel={(k) => t(`rules.kind.${k}`)}
          value={form.kind}
          onChange={(kind) => {
            if (kind) setForm((f) => withKind(f, kind));
          }}
          testId="rule-kind"
        />
        <SeveritySelect
          label={t("rules.field.severity")}
          error={errors.severity}
          options={SEVERITIES}
          value={form.severity}
          onChange={(s) => set("severity", s ?? "warning")}
          testId="rule-severity"
        />
      </div>
      <KindFields form={form} set={set} errors={errors} kind={form.kind} />
      <div className="grid gap-4 sm:grid-cols-2">
        <DurationField
          label={t("rules.field.for")}
          hint={t("rules.hint.for")}
          error={errors.for_s}
          value={form.for}
          onChange={(v) => set("for", v)}
          testId="rule-for"
        />
        <DurationField
          label={t("rules.field.reminder")}
          hint={t("rules.hint.reminder")}
          error={errors.reminder_s}
          value={form.reminder}
          onChange={(v) => set("reminder", v)}
          testId="rule-reminder"
        />
      </div>
      <ScopeFields value={form.scope} onChange={(scope) => set("scope", scope)} errors={errors} />
      <Checkbox
        className="inline-flex items-center gap-2 text-sm font-medium"
        checked={form.enabled}
        onChange={(v) => set("enabled", v)}
        testId="rule-enabled"
      >
        {t("rules.field.enabled")}
      </Checkbox>
    </FormDialog>
  );
}

type SetField = <K extends keyof RuleForm>(key: K, value: RuleForm[K]) => void;

/** The fields of one kind of rule. */
function KindFields({
  kind,
  form,
  set,
  errors,
}: {
  kind: RuleKind;
  form: RuleForm;
  set: SetField;
  errors: Record<string, string | undefined>;
}) {
  const { t, i18n } = useTranslation();
  // The threshold, clear level and window inputs serve several kinds; only their words change.
  const level = (key: "threshold" | "clear", label: string, hint?: string, unit?: string) => (
    <NumberField
      label={label}
      unit={unit}
      hint={hint}
      error={errors[key]}
      value={form[key]}
      onChange={(v) => set(key, v)}
      testId={`rule-${key}`}
    />
  );
  const windowField = (
    <DurationField
      label={t("rules.field.window")}
      hint={t("rules.hint.window")}
      error={errors.window_s}
      value={form.window}
      onChange={(v) => set("window", v)}
      testId="rule-window"
    />
  );
  switch (kind) {
    case "metric": {
      const unit = metricUnit(form.metric);
      const rateHint = (text: string) => {
        const n = Number(text.replace(",", "."));
        return unit === "B/s" && text.trim() && Number.isFinite(n)
          ? t("rules.hint.rate", { value: formatThreshold(form.metric, n, i18n.language) })
          : undefined;
      };
      return (
        <>
          <div className="grid gap-4 sm:grid-cols-2">
            <SelectField
              label={t("rules.field.metric")}
              error={errors.metric}
              options={RULE_METRICS}
              optionLabel={(m) => t(`rules.metric.${metricKey(m)}`)}
              value={form.metric}
              onChange={(m) => set("metric", m ?? "cpu.percent")}
              testId="rule-metric"
            />
            <SelectField
              label={t("rules.field.op")}
              error={errors.op}
              options={OPS}
              optionLabel={(o) => t(`rules.op.${o}`)}
              value={form.op}
              onChange={(o) => set("op", o ?? "above")}
              testId="rule-op"
            />
          </div>
          <div className="grid gap-4 sm:grid-cols-2">
            {level("threshold", t("rules.field.threshold"), rateHint(form.threshold), unit)}
            {level("clear", t("rules.field.clear"), rateHint(form.clear) ?? t("rules.hint.clear"), unit)}
          </div>
        </>
      );
    }
    case "health":
      return (
        <div className="grid gap-4 sm:grid-cols-2">
          {level("threshold", t("rules.field.score"), t("rules.hint.score"))}
          {level("clear", t("rules.field.clearScore"), t("rules.hint.clearScore"))}
        </div>
      );
    case "disk":
      return (
        <SelectField
          label={t("rules.field.diskVerdict")}
          error={errors.disk_verdict}
          options={DISK_VERDICTS}
          optionLabel={(v) => t(`rules.verdict.${v}`)}
          value={form.diskVerdict}
          onChange={(v) => set("diskVerdict", v ?? "warning")}
          testId="rule-verdict"
        />
      );
    case "events":
      return (
        <>
          <div className="grid gap-4 sm:grid-cols-2">
            <SeveritySelect
              label={t("rules.field.eventSeverity")}
              error={errors.event_severity}
              options={EVENT_SEVERITIES}
              value={form.eventSeverity}
              onChange={(s) => set("eventSeverity", s ?? "error")}
              testId="rule-event-severity"
            />
            {level("threshold", t("rules.field.count"), t("rules.hint.count"))}
          </div>
          <div className="grid gap-4 sm:grid-cols-2">
            <TextField
              label={t("rules.field.eventPattern")}
              hint={t("rules.hint.eventPattern")}
              error={errors.event_pattern}
              value={form.eventPattern}
              onChange={(v) => set("eventPattern", v)}
              maxLength={256}
              testId="rule-pattern"
            />
            {windowField}
          </div>
        </>
      );
    case "agent":
      return (
        <>
          <p className="text-sm text-muted">{t("rules.hint.agent")}</p>
          {windowField}
        </>
      );
    case "offline":
      return <p className="text-sm text-muted">{t("rules.hint.offline")}</p>;
  }
}

/** A duration as a number and a unit; `label` also names the unit's <select>. */
function DurationField({ value, onChange, testId, ...field }: FieldProps<DurationInput> & { label: string }) {
  const { t } = useTranslation();
  const units = Object.keys(DURATION_UNITS) as DurationUnit[];
  return (
    <Field {...field}>
      {(id, d) => (
        <div className="flex gap-2">
          <div className="min-w-0 flex-1">
            <Input
              id={id}
              aria-describedby={d}
              inputMode="decimal"
              value={value.value}
              onChange={(e) => onChange({ ...value, value: e.target.value })}
              data-testid={testId}
            />
          </div>
          <div className="w-32 shrink-0">
            <Select
              aria-label={`${field.label} – ${t("rules.field.unit")}`}
              value={value.unit}
              onChange={(e) => onChange({ ...value, unit: units.find((u) => u === e.target.value) ?? "min" })}
              data-testid={testId && `${testId}-unit`}
            >
              {units.map((u) => (
                <option key={u} value={u}>
                  {t(`rules.unit.${u}`)}
                </option>
              ))}
            </Select>
          </div>
        </div>
      )}
    </Field>
  );
}
