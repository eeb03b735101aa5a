// Alerts by state, refreshed every 30 s; admins acknowledge them and silence notifications
// (for one alert's machine and rule, or any scope). The silences in force are listed below.
import { useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { alertsQuery, silencesQuery, useAcknowledgeAlert, useCreateSilence, useEndSilence } from "../api/alerts";
import { rulesQuery } from "../api/rules";
import type { Alert, Rule, Silence } from "../api/types";
import { useSession } from "../auth/session";
import { ScopeFields, ScopeText } from "../components/Scope";
import {
  Badge,
  Button,
  Card,
  DeleteButton,
  FieldNote,
  FormDialog,
  FormError,
  PageHeader,
  QueryView,
  SeverityBadge,
  Tabs,
  When,
  cx,
} from "../components/ui";
import { ALERT_TABS, alertTab, canAcknowledge, isOpen, type AlertTab } from "../lib/alerts";
import { useCheckedForm } from "../components/checkedForm";
import { Link, setSearch, useLocation } from "../lib/router";
import { ruleFieldOf } from "../lib/rules";
import { SILENCE_DURATIONS, buildSilence, newSilenceForm, type SilenceForm } from "../lib/silences";
import { SelectField, Table, TextField } from "../components/fields";

const REFRESH_MS = 30_000;

interface SilenceDraft {
  form: SilenceForm;
  alert?: Alert;
}

export default function Alerts(_props: { params: Record<string, string> }) {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const { search } = useLocation();
  const tab = alertTab(search.get("state"));
  const alerts = useQuery({ ...alertsQuery(tab), refetchInterval: REFRESH_MS });
  const rules = useQuery(rulesQuery());
  const [draft, setDraft] = useState<SilenceDraft | null>(null);

  return (
    <>
      <PageHeader title={t("alerts.title")} subtitle={t("alerts.subtitle")} />
      <div className="flex flex-col gap-5">
        <Card>
          <div className="mb-3 overflow-x-auto">
            <StateTabs value={tab} onChange={(next) => setSearch({ state: next === "firing" ? null : next })} />
          </div>
          <QueryView query={alerts} empty={(d) => d.alerts.length === 0} emptyTitle={t(`alerts.empty.${tab}`)}>
            {(data) => (
              <AlertTable
                alerts={data.alerts}
                showState={tab === "all"}
                isAdmin={isAdmin}
                onSilence={(a) => setDraft({ alert: a, form: newSilenceForm(Date.now(), { machine: a.machine_id }, a.rule_id) })}
              />
            )}
          </QueryView>
        </Card>
        <SilencesCard isAdmin={isAdmin} rules={rules.data?.rules ?? []} onNew={() => setDraft({ form: newSilenceForm(Date.now()) })} />
      </div>
      {isAdmin && draft && <SilenceDialog draft={draft} rules={rules.data?.rules ?? []} onClose={() => setDraft(null)} />}
    </>
  );
}

/** The state tabs, each with a stable test id. */
function StateTabs({ value, onChange }: { value: AlertTab; onChange: (v: AlertTab) => void }) {
  const { t } = useTranslation();
  return (
    <Tabs
      value={value}
      onChange={onChange}
      options={ALERT_TABS.map((tab) => ({ value: tab, label: t(`alerts.tabs.${tab}`) }))}
      label={t("alerts.tabs.label")}
      testId={(tab) => `alerts-tab-${tab}`}
      nowrap
    />
  );
}

const STATE_TONES: Record<string, string> = { firing: "critical", pending: "warning", resolved: "ok" };

function AlertTable({
  alerts,
  showState,
  isAdmin,
  onSilence,
}: {
  alerts: Alert[];
  showState: boolean;
  isAdmin: boolean;
  onSilence: (a: Alert) => void;
}) {
  const { t } = useTranslation();
  return (
    <Table
      variant="ruled"
      className="min-w-[52rem]"
      label={t("alerts.tableLabel")}
      testId="alerts-table"
      columns={[
        { label: t("alerts.col.severity"), className: "pl-4 sm:pl-5" },
        t("alerts.col.rule"),
        t("alerts.col.machine"),
        t("alerts.col.detail"),
        t("alerts.col.since"),
        showState && t("alerts.col.state"),
        t("alerts.col.acknowledged"),
        isAdmin && { label: t("alerts.col.actions"), className: "pr-4 text-right sm:pr-5" },
      ]}
    >
      {alerts.map((a) => (
        <AlertRow key={a.id} alert={a} showState={showState} isAdmin={isAdmin} onSilence={() => onSilence(a)} />
      ))}
    </Table>
  );
}

function AlertRow({
  alert: a,
  showState,
  isAdmin,
  onSilence,
}: {
  alert: Alert;
  showState: boolean;
  isAdmin: boolean;
  onSilence: () => void;
}) {
  const { t } = useTranslation();
  const ack = useAcknowledgeAlert(a.id);
  const td = "px-3 py-2.5";
  return (
    <tr className="border-b border-slate-400/10 align-top last:border-0" data-testid={`alert-row-${a.id}`}>
      <td className={cx(td, "pl-4 sm:pl-5")}>
        <SeverityBadge severity={a.severity} />
      </td>
      <td className={cx(td, "min-w-[10rem] font-medium")}>{a.rule_name}</td>
      <td className={cx(td, "whitespace-nowrap")}>
        <Link
          to={`/machines/${encodeURIComponent(a.machine_id)}`}
          className="text-sky-700 hover:underline focus-ring rounded dark:text-sky-300"
        >
          {a.hostname}
        </Link>
      </td>
      <td className={cx(td, "max-w-[22rem] break-words")}>
        {a.detail}
        {a.state === "firing" && !a.notified && (
          <div className="mt-1">
            <Badge tone="offline">
              <span title={t("alerts.notNotifiedHint")}>{t("alerts.notNotified")}</span>
            </Badge>
          </div>
        )}
      </td>
      <td className={cx(td, "whitespace-nowrap")}>
        <When ms={a.since_ms} />
        {a.resolved_ms && (
          <div className="text-xs text-muted">
            <When ms={a.resolved_ms} prefix={(when) => t("alerts.resolvedAt", { when })} />
          </div>
        )}
      </td>
      {showState && (
        <td className={td}>
          <Badge tone={STATE_TONES[a.state] ?? "offline"}>{t(`alerts.state.${a.state}`, { defaultValue: a.state })}</Badge>
        </td>
      )}
      <td className={td}>
        {a.acknowledged_by || a.acknowledged_ms ? (
          <div className="flex flex-col">
            <span className="break-words">{a.acknowledged_by ?? "–"}</span>
            <span className="text-xs text-muted">
              <When ms={a.acknowledged_ms} />
            </span>
          </div>
        ) : (
          <span className="text-muted">{t("alerts.notAcknowledged")}</span>
        )}
      </td>
      {isAdmin && (
        <td className={cx(td, "pr-4 text-right sm:pr-5")}>
          {isOpen(a) && (
            <div className="flex justify-end gap-1">
              {canAcknowledge(a) && (
                <Button variant="secondary" busy={ack.isPending} onClick={() => ack.mutate()} data-testid={`alert-ack-${a.id}`}>
                  {t("alerts.acknowledge")}
                </Button>
              )}
              <Button variant="ghost" onClick={onSilence} data-testid={`alert-silence-${a.id}`}>
                {t("alerts.silence")}
              </Button>
            </div>
          )}
          <FormError small className="mt-1" error={ack.error} />
        </td>
      )}
    </tr>
  );
}

function SilencesCard({ isAdmin, rules, onNew }: { isAdmin: boolean; rules: Rule[]; onNew: () => void }) {
  const { t } = useTranslation();
  const silences = useQuery({ ...silencesQuery(), refetchInterval: REFRESH_MS });
  return (
    <Card
      title={t("alerts.silences.title")}
      actions={
        isAdmin && (
          <Button variant="primary" onClick={onNew} data-testid="silence-new">
            {t("alerts.silences.new")}
          </Button>
        )
      }
    >
      <p className="-mt-1 mb-3 text-sm text-muted">{t("alerts.silences.hint")}</p>
      <QueryView query={silences} empty={(d) => d.silences.length === 0} emptyTitle={t("alerts.silences.empty")}>
        {(data) => (
          <Table
            variant="ruled"
            className="min-w-[40rem]"
            label={t("alerts.silences.tableLabel")}
            testId="silences-table"
            columns={[
              { label: t("alerts.silences.col.scope"), className: "pl-4 sm:pl-5" },
              t("alerts.silences.col.rule"),
              t("alerts.silences.col.reason"),
              t("alerts.silences.col.ends"),
              t("alerts.silences.col.createdBy"),
              isAdmin && { label: t("alerts.silences.col.actions"), className: "pr-4 text-right sm:pr-5" },
            ]}
          >
            {data.silences.map((s) => (
              <SilenceRow key={s.id} silence={s} rules={rules} isAdmin={isAdmin} now={silences.dataUpdatedAt} />
            ))}
          </Table>
        )}
      </QueryView>
    </Card>
  );
}

/** `now`: when the list was read, so a render shows the same thing each time (scheduled is as of then). */
function SilenceRow({ silence: s, rules, isAdmin, now }: { silence: Silence; rules: Rule[]; isAdmin: boolean; now: number }) {
  const { t } = useTranslation();
  const end = useEndSilence(s.id);
  const rule = s.rule_id ? (rules.find((r) => r.id === s.rule_id)?.spec.name ?? s.rule_id) : null;
  const td = "px-3 py-2.5";
  return (
    <tr className="border-b border-slate-400/10 align-top last:border-0" data-testid={`silence-row-${s.id}`}>
      <td className={cx(td, "pl-4 sm:pl-5")}>
        <ScopeText scope={s.scope} />
      </td>
      <td className={td}>{rule ?? <span className="text-muted">{t("alerts.silences.anyRule")}</span>}</td>
      <td className={cx(td, "max-w-[18rem] break-words")}>{s.reason || <span className="text-muted">–</span>}</td>
      <td className={cx(td, "whitespace-nowrap")}>
        <When ms={s.ends_ms} />
        {s.starts_ms > now && (
          <div className="text-xs text-muted">
            <When ms={s.starts_ms} prefix={(when) => t("alerts.silences.scheduled", { when })} />
          </div>
        )}
      </td>
      <td className={cx(td, "break-all")}>{s.created_by}</td>
      {isAdmin && (
        <td className={cx(td, "pr-4 text-right sm:pr-5")}>
          <DeleteButton
            label={t("alerts.silences.end")}
            question={t("alerts.silences.endConfirm")}
            busy={end.isPending}
            onConfirm={() => end.mutate()}
            testid={`silence-end-${s.id}`}
          />
          <FormError small className="mt-1" error={end.error} />
        </td>
      )}
    </tr>
  );
}

const SILENCE_FIELDS = new Set(["ends_ms", "reason", "rule_id", "machine", "groups", "selector"]);

function SilenceDialog({ draft, rules, onClose }: { draft: SilenceDraft; rules: Rule[]; onClose: () => void }) {
  const { t } = useTranslation();
  const create = useCreateSilence(onClose);
  const { form, set, check, errors, general } = useCheckedForm<SilenceForm>(draft.form, create, {
    fieldOf: ruleFieldOf,
    shown: SILENCE_FIELDS,
  });
  // A rule the list does not hold (deleted since, or not read yet) keeps the alert's name for it.
  const ruleName = (id: string) => rules.find((r) => r.id === id)?.spec.name ?? draft.alert?.rule_name ?? id;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const { body, errors: found } = buildSilence(form, Date.now());
    if (check(found)) create.mutate(body);
  };

  return (
    <FormDialog
      onClose={onClose}
      title={t("alerts.dialog.title")}
      onSubmit={submit}
      busy={create.isPending}
      submitLabel={t("alerts.dialog.submit")}
      submitTestId="silence-submit"
      formTestId="silence-form"
      error={general}
    >
      {draft.alert && (
        <p className="text-sm text-muted">{t("alerts.dialog.forAlert", { rule: draft.alert.rule_name, machine: draft.alert.hostname })}</p>
      )}
      <ScopeFields value={form.scope} onChange={(scope) => set("scope", scope)} errors={errors} />
      <SelectField
        label={t("alerts.dialog.rule")}
        error={errors.rule_id}
        anyLabel={t("alerts.silences.anyRule")}
        options={rules.map((r) => r.id)}
        keepValue
        optionLabel={ruleName}
        value={form.ruleId}
        onChange={(ruleId) => set("ruleId", ruleId ?? "")}
        testId="silence-rule"
      />
      <fieldset className="flex flex-col gap-2">
        <legend className="mb-1 text-sm font-medium">{t("alerts.dialog.duration")}</legend>
        <div className="flex flex-wrap gap-2">
          {SILENCE_DURATIONS.map((d) => (
            <label
              key={d}
              className={cx(
                "inline-flex cursor-pointer items-center gap-2 rounded-xl px-3 py-1.5 text-sm ring-1 ring-slate-400/30 ring-inset has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-sky-500",
                form.duration === d && "bg-sky-700/10 ring-sky-600/50",
              )}
            >
              <input
                type="radio"
                name="silence-duration"
                value={d}
                checked={form.duration === d}
                onChange={() => set("duration", d)}
                className="accent-sky-600"
                data-testid={`silence-duration-${d}`}
              />
              {t(`alerts.dialog.${d === "custom" ? "custom" : `d${d}`}`)}
            </label>
          ))}
        </div>
        {form.duration === "custom" ? (
          <TextField
            label={t("alerts.dialog.customEnd")}
            error={errors.ends_ms}
            type="datetime-local"
            value={form.customEnd}
            onChange={(customEnd) => set("customEnd", customEnd)}
            testId="silence-custom-end"
          />
        ) : (
          <FieldNote error={errors.ends_ms} />
        )}
      </fieldset>
      <TextField
        label={t("alerts.dialog.reason")}
        hint={t("alerts.dialog.reasonHint")}
        error={errors.reason}
        value={form.reason}
        maxLength={500}
        onChange={(reason) => set("reason", reason)}
        testId="silence-reason"
      />
    </FormDialog>
  );
}
