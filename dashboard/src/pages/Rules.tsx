// Alert rules: the list with each condition in words; admins create, edit, switch on and
// off and delete them. The form adapts to the rule's kind; lib/rules.ts builds the spec.
import { useState, type FormEvent, type ReactNode } from "react";
import { useQuery } from "@tanstack/react-query";
import type { TFunction } from "i18next";
import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";
import { rulesQuery, useDeleteRule, useSaveRule, useToggleRule } from "../api/rules";
import type { Rule, RuleSpec } from "../api/types";
import { useSession } from "../auth/session";
import { ScopeFields, ScopeText } from "../components/Scope";
import { Toggle } from "../components/Toggle";
import {
  Button,
  Card,
  Dialog,
  EmptyState,
  Field,
  Input,
  PageHeader,
  QueryView,
  Select,
  SeverityBadge,
  errorText,
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
  isRuleKind,
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
import { NumberField, SeveritySelect, TableHead } from "../components/fields";

const metricKey = (metric: string) => metric.replace(/\./g, "_");

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
        <QueryView query={rules}>
          {(data) =>
            data.rules.length === 0 ? (
              <EmptyState title={t("rules.empty")} />
            ) : (
              <RuleTable rules={data.rules} isAdmin={isAdmin} onEdit={(rule) => setEditing({ rule })} />
            )
          }
        </QueryView>
      </Card>
      {isAdmin && editing && <RuleDialog key={editing.rule?.id ?? "new"} rule={editing.rule} onClose={() => setEditing(null)} />}
    </>
  );
}

function RuleTable({ rules, isAdmin, onEdit }: { rules: Rule[]; isAdmin: boolean; onEdit: (r: Rule) => void }) {
  const { t } = useTranslation();
  return (
    <div className="-mx-4 overflow-x-auto sm:-mx-5">
      <table className="w-full min-w-[44rem] text-left text-sm" aria-label={t("rules.tableLabel")} data-testid="rules-table">
        <TableHead
          variant="ruled"
          columns={[
            { label: t("rules.col.name"), cell: "px-4 py-2 font-medium sm:pl-5" },
            { label: t("rules.col.condition") },
            { label: t("rules.col.severity") },
            { label: t("rules.col.scope") },
            { label: t("rules.col.enabled") },
            isAdmin && { label: t("rules.col.actions"), cell: "px-4 py-2 text-right font-medium sm:pr-5" },
          ]}
        />
        <tbody>
          {rules.map((r) => (
            <RuleRow key={r.id} rule={r} isAdmin={isAdmin} onEdit={() => onEdit(r)} />
          ))}
        </tbody>
      </table>
    </div>
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
          {error && (
            <p role="alert" className="mt-1 text-xs text-rose-600 dark:text-rose-400">
              {errorText(error, t)}
            </p>
          )}
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
  const [form, setForm] = useState<RuleForm>(() => (rule ? ruleToForm(rule.spec) : newRuleForm()));
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const formId = "rule-form";

  const save = useSaveRule(rule?.id ?? null, onClose);

  const serverField =
    save.error instanceof ApiError ? (save.error.status === 409 && !save.error.field ? "name" : ruleFieldOf(save.error.field)) : null;
  const errors: Record<string, string | undefined> = Object.fromEntries(Object.entries(localErrors).map(([k, v]) => [k, t(v)]));
  if (save.error && serverField && SHOWN_FIELDS.has(serverField)) errors[serverField] = errorText(save.error, t);
  const generalError = save.error && !(serverField && SHOWN_FIELDS.has(serverField)) ? errorText(save.error, t) : null;

  const set = <K extends keyof RuleForm>(key: K, value: RuleForm[K]) => setForm((f) => ({ ...f, [key]: value }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const { spec, errors: found } = buildRuleSpec(form);
    setLocalErrors(found);
    save.reset();
    if (Object.keys(found).length === 0) save.mutate(spec);
  };

  return (
    <Dialog
      open
      onClose={onClose}
      title={rule ? t("rules.editTitle", { name: rule.spec.name }) : t("rules.newTitle")}
      footer={
        <>
          <Button onClick={onClose}>{t("common.action.cancel")}</Button>
          <Button type="submit" form={formId} variant="primary" busy={save.isPending} data-testid="rule-save">
            {t("common.action.save")}
          </Button>
        </>
      }
    >
      <form id={formId} onSubmit={submit} noValidate className="flex flex-col gap-4" data-testid="rule-form">
        <Field label={t("rules.field.name")} error={errors.name}>
          {(id, d) => (
            <Input
              id={id}
              aria-describedby={d}
              value={form.name}
              onChange={(e) => set("name", e.target.value)}
              maxLength={100}
              required
              autoFocus
              data-testid="rule-name"
            />
          )}
        </Field>
        <div className="grid gap-4 sm:grid-cols-2">
          <Field label={t("rules.field.kind")} error={errors.kind}>
            {(id, d) => (
              <Select
                id={id}
                aria-describedby={d}
                value={form.kind}
                data-testid="rule-kind"
                onChange={(e) => {
                  const kind = e.target.value;
                  if (isRuleKind(kind)) setForm((f) => withKind(f, kind));
                }}
              >
                {RULE_KINDS.map((k) => (
                  <option key={k} value={k}>
                    {t(`rules.kind.${k}`)}
                  </option>
                ))}
              </Select>
            )}
          </Field>
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
        <label className="inline-flex items-center gap-2 text-sm font-medium">
          <input
            type="checkbox"
            className="h-4 w-4 accent-sky-600"
            checked={form.enabled}
            onChange={(e) => set("enabled", e.target.checked)}
            data-testid="rule-enabled"
          />
          {t("rules.field.enabled")}
        </label>
        {generalError && (
          <p role="alert" className="rounded-xl bg-rose-500/10 px-3 py-2 text-sm text-rose-700 dark:text-rose-300">
            {generalError}
          </p>
        )}
      </form>
    </Dialog>
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
            <Field label={t("rules.field.metric")} error={errors.metric}>
              {(id, d) => (
                <Select
                  id={id}
                  aria-describedby={d}
                  value={form.metric}
                  onChange={(e) => set("metric", RULE_METRICS.find((m) => m === e.target.value) ?? "cpu.percent")}
                  data-testid="rule-metric"
                >
                  {RULE_METRICS.map((m) => (
                    <option key={m} value={m}>
                      {t(`rules.metric.${metricKey(m)}`)}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
            <Field label={t("rules.field.op")} error={errors.op}>
              {(id, d) => (
                <Select
                  id={id}
                  aria-describedby={d}
                  value={form.op}
                  onChange={(e) => set("op", e.target.value === "below" ? "below" : "above")}
                  data-testid="rule-op"
                >
                  <option value="above">{t("rules.op.above")}</option>
                  <option value="below">{t("rules.op.below")}</option>
                </Select>
              )}
            </Field>
          </div>
          <div className="grid gap-4 sm:grid-cols-2">
            <NumberField
              label={t("rules.field.threshold")}
              unit={unit}
              hint={rateHint(form.threshold)}
              error={errors.threshold}
              value={form.threshold}
              onChange={(v) => set("threshold", v)}
              testId="rule-threshold"
            />
            <NumberField
              label={t("rules.field.clear")}
              unit={unit}
              hint={rateHint(form.clear) ?? t("rules.hint.clear")}
              error={errors.clear}
              value={form.clear}
              onChange={(v) => set("clear", v)}
              testId="rule-clear"
            />
          </div>
        </>
      );
    }
    case "health":
      return (
        <div className="grid gap-4 sm:grid-cols-2">
          <NumberField
            label={t("rules.field.score")}
            hint={t("rules.hint.score")}
            error={errors.threshold}
            value={form.threshold}
            onChange={(v) => set("threshold", v)}
            testId="rule-threshold"
          />
          <NumberField
            label={t("rules.field.clearScore")}
            hint={t("rules.hint.clearScore")}
            error={errors.clear}
            value={form.clear}
            onChange={(v) => set("clear", v)}
            testId="rule-clear"
          />
        </div>
      );
    case "disk":
      return (
        <Field label={t("rules.field.diskVerdict")} error={errors.disk_verdict}>
          {(id, d) => (
            <Select
              id={id}
              aria-describedby={d}
              value={form.diskVerdict}
              onChange={(e) => set("diskVerdict", e.target.value === "failing" ? "failing" : "warning")}
              data-testid="rule-verdict"
            >
              {DISK_VERDICTS.map((v) => (
                <option key={v} value={v}>
                  {t(`rules.verdict.${v}`)}
                </option>
              ))}
            </Select>
          )}
        </Field>
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
            <NumberField
              label={t("rules.field.count")}
              hint={t("rules.hint.count")}
              error={errors.threshold}
              value={form.threshold}
              onChange={(v) => set("threshold", v)}
              testId="rule-threshold"
            />
          </div>
          <div className="grid gap-4 sm:grid-cols-2">
            <Field label={t("rules.field.eventPattern")} hint={t("rules.hint.eventPattern")} error={errors.event_pattern}>
              {(id, d) => (
                <Input
                  id={id}
                  aria-describedby={d}
                  value={form.eventPattern}
                  onChange={(e) => set("eventPattern", e.target.value)}
                  maxLength={256}
                  data-testid="rule-pattern"
                />
              )}
            </Field>
            <DurationField
              label={t("rules.field.window")}
              hint={t("rules.hint.window")}
              error={errors.window_s}
              value={form.window}
              onChange={(v) => set("window", v)}
              testId="rule-window"
            />
          </div>
        </>
      );
    case "agent":
      return (
        <>
          <p className="text-sm text-muted">{t("rules.hint.agent")}</p>
          <DurationField
            label={t("rules.field.window")}
            hint={t("rules.hint.window")}
            error={errors.window_s}
            value={form.window}
            onChange={(v) => set("window", v)}
            testId="rule-window"
          />
        </>
      );
    case "offline":
      return <p className="text-sm text-muted">{t("rules.hint.offline")}</p>;
  }
}

function DurationField({
  label,
  hint,
  error,
  value,
  onChange,
  testId,
}: {
  label: string;
  hint?: ReactNode;
  error?: string;
  value: DurationInput;
  onChange: (v: DurationInput) => void;
  testId?: string;
}) {
  const { t } = useTranslation();
  const units = Object.keys(DURATION_UNITS) as DurationUnit[];
  return (
    <Field label={label} hint={hint} error={error}>
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
              aria-label={`${label} – ${t("rules.field.unit")}`}
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
