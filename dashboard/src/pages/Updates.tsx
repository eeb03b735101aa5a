// Agent updates: the versions the fleet runs, this organisation's rollouts with their
// progress and each machine's update state, and the releases the server holds. Admins start,
// pause, resume and cancel rollouts; lib/updates.ts builds the request and orders versions.
import { useMemo, useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import {
  fleetVersionsQuery,
  releasesQuery,
  rolloutMachinesQuery,
  rolloutsQuery,
  useCreateRollout,
  useSetRolloutState,
} from "../api/updates";
import type { MachineUpdate, Rollout, RolloutState, UpdateState } from "../api/types";
import { useSession } from "../auth/session";
import { useCheckedForm } from "../components/checkedForm";
import { Checkbox, ChoiceSelect, NumberField, SelectField, Table, TextField } from "../components/fields";
import { useGroups, useMachines } from "../components/Scope";
import {
  Badge,
  Button,
  Card,
  ConfirmButton,
  EmptyState,
  FieldNote,
  FormDialog,
  FormError,
  PageHeader,
  QueryView,
  When,
  cx,
} from "../components/ui";
import { machineName } from "../lib/fleet";
import { formatBytes, formatNumber } from "../lib/format";
import { Link } from "../lib/router";
import {
  SCOPE_KINDS,
  isMoving,
  isUnderWay,
  newRolloutForm,
  progressParts,
  releasedVersions,
  rolloutActions,
  rolloutBody,
  rolloutFieldOf,
  versionCounts,
  type CanaryMode,
  type ProgressPart,
  type RolloutForm,
} from "../lib/updates";

const ROLLOUT_TONE: Record<RolloutState, string> = {
  running: "info",
  paused: "warning",
  halted: "critical",
  completed: "ok",
  cancelled: "offline",
};

const UPDATE_TONE: Record<UpdateState, string> = {
  pending: "info",
  downloading: "info",
  applied: "warning",
  healthy: "ok",
  rolled_back: "critical",
  failed: "critical",
};

const PART_COLOR: Record<ProgressPart, string> = {
  healthy: "bg-emerald-500",
  underWay: "bg-sky-500",
  failed: "bg-rose-500",
  waiting: "bg-slate-400/40",
};

export default function Updates(_props: { params: Record<string, string> }) {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const rollouts = useQuery(rolloutsQuery());
  const [creating, setCreating] = useState(false);
  const [picked, setPicked] = useState<string | null>(null);
  const list = rollouts.data?.rollouts ?? [];
  // The rollout whose machines show: the one picked, else the newest.
  const shown = list.find((r) => r.id === picked) ?? list[0];
  return (
    <div className="flex flex-col gap-5">
      <PageHeader
        title={t("updates.title")}
        subtitle={t("updates.subtitle")}
        actions={
          isAdmin && (
            <Button variant="primary" data-testid="rollout-new" onClick={() => setCreating(true)}>
              {t("updates.new")}
            </Button>
          )
        }
      />
      <VersionsCard moving={list.some((r) => isMoving(r.state))} />
      <Card title={t("updates.rollouts.title")}>
        <QueryView
          query={rollouts}
          empty={(d) => d.rollouts.length === 0}
          emptyTitle={isAdmin ? t("updates.rollouts.emptyAdmin") : t("updates.rollouts.empty")}
        >
          {(data) => <RolloutTable rollouts={data.rollouts} shown={shown?.id} onShow={setPicked} />}
        </QueryView>
        <p className="mt-3 text-xs text-muted">{t("updates.rollouts.rollBack")}</p>
      </Card>
      {shown && <RolloutMachinesCard key={shown.id} rollout={shown} />}
      <ReleasesCard />
      {isAdmin && creating && (
        <RolloutDialog
          running={list.find((r) => isUnderWay(r.state))}
          onClose={() => setCreating(false)}
          onCreated={(id) => {
            setPicked(id);
            setCreating(false);
          }}
        />
      )}
    </div>
  );
}

/** Read again with the rollouts while one runs: machines change version as it goes. */
function VersionsCard({ moving }: { moving: boolean }) {
  const { t, i18n } = useTranslation();
  const machines = useQuery(fleetVersionsQuery(moving));
  return (
    <Card title={t("updates.versions.title")}>
      <QueryView query={machines}>
        {(data) => {
          const counts = versionCounts(data.machines);
          if (counts.length === 0) return <EmptyState title={t("updates.versions.empty")} />;
          return (
            <ul className="flex flex-wrap gap-2" data-testid="agent-versions">
              {counts.map((c) => (
                <li
                  key={c.version}
                  className="glass-strong flex items-center gap-2 rounded-xl px-3 py-1.5 text-sm"
                  data-testid="agent-version"
                >
                  <code className="font-mono text-xs">{c.version || t("updates.versions.unknown")}</code>
                  <span className="text-xs text-muted tabular-nums">
                    {t("updates.versions.machines", { count: formatNumber(c.count, i18n.language) })}
                  </span>
                </li>
              ))}
            </ul>
          );
        }}
      </QueryView>
    </Card>
  );
}

function RolloutTable({ rollouts, shown, onShow }: { rollouts: Rollout[]; shown?: string; onShow: (id: string) => void }) {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  return (
    <Table
      variant="caps"
      testId="rollout-list"
      columns={[
        t("updates.rollouts.col.version"),
        t("updates.rollouts.col.state"),
        { label: t("updates.rollouts.col.progress"), className: "min-w-48" },
        t("updates.rollouts.col.canaries"),
        t("updates.rollouts.col.halt"),
        t("updates.rollouts.col.started"),
        { label: t("updates.rollouts.col.actions"), srOnly: true },
      ]}
    >
      {rollouts.map((r) => (
        <tr key={r.id} className={cx("border-t border-slate-400/20 align-top", r.id === shown && "bg-sky-500/5")} data-testid="rollout-row">
          <td className="px-2 py-2 font-mono text-xs font-medium">{r.version}</td>
          <td className="px-2 py-2">
            <Badge tone={ROLLOUT_TONE[r.state]}>
              <span data-testid="rollout-state">{t(`updates.rolloutState.${r.state}`)}</span>
            </Badge>
            {r.reason && <p className="mt-1 max-w-64 text-xs text-muted">{r.reason}</p>}
          </td>
          <td className="px-2 py-2">
            <ProgressBar rollout={r} />
          </td>
          <td className="px-2 py-2 tabular-nums">{r.canary_count}</td>
          <td className="px-2 py-2 whitespace-nowrap">{t("updates.rollouts.haltAt", { percent: r.halt_failure_percent })}</td>
          <td className="px-2 py-2 whitespace-nowrap">
            <When ms={r.created_ms} />
          </td>
          <td className="px-2 py-1">
            <div className="flex flex-wrap justify-end gap-1">
              {r.id === shown ? (
                <span className="px-3 py-2 text-xs text-muted">{t("updates.rollouts.shown")}</span>
              ) : (
                <Button variant="ghost" onClick={() => onShow(r.id)} data-testid="rollout-show">
                  {t("updates.rollouts.show")}
                  <span className="sr-only"> {r.version}</span>
                </Button>
              )}
              {isAdmin && <RolloutActions rollout={r} />}
            </div>
          </td>
        </tr>
      ))}
    </Table>
  );
}

function RolloutActions({ rollout }: { rollout: Rollout }) {
  const { t } = useTranslation();
  const change = useSetRolloutState(rollout.id);
  const actions = rolloutActions(rollout.state);
  if (actions.length === 0) return null;
  return (
    <div className="flex flex-col items-end">
      <div className="flex gap-1">
        {actions.map((to) =>
          to === "cancelled" ? (
            <ConfirmButton
              key={to}
              variant="ghost"
              className="text-rose-700 dark:text-rose-300"
              busy={change.isPending && change.variables === to}
              question={t("updates.action.confirmCancel", { version: rollout.version })}
              onConfirm={() => change.mutate(to)}
              data-testid="rollout-cancel"
            >
              {t("updates.action.cancelled")}
            </ConfirmButton>
          ) : (
            <Button
              key={to}
              variant="ghost"
              busy={change.isPending && change.variables === to}
              onClick={() => change.mutate(to)}
              data-testid={to === "paused" ? "rollout-pause" : "rollout-resume"}
            >
              {t(`updates.action.${to}`)}
            </Button>
          ),
        )}
      </div>
      <FormError small error={change.error} />
    </div>
  );
}

function ProgressBar({ rollout }: { rollout: Rollout }) {
  const { t, i18n } = useTranslation();
  const p = rollout.progress;
  const parts = progressParts(p);
  const total = Math.max(p.total, 1);
  return (
    <div className="flex flex-col gap-1" data-testid="rollout-progress">
      <div
        role="img"
        aria-label={t("updates.rollouts.progressLabel", { done: p.healthy, total: p.total })}
        className="flex h-2 w-full overflow-hidden rounded-full bg-slate-400/20"
      >
        {parts.map((x) => (
          <span key={x.part} className={PART_COLOR[x.part]} style={{ width: `${(100 * x.count) / total}%` }} />
        ))}
      </div>
      <ul className="flex flex-wrap gap-x-3 text-xs text-muted">
        {parts.map((x) => (
          <li key={x.part} className="flex items-center gap-1" data-testid={`progress-${x.part}`}>
            <span aria-hidden="true" className={cx("h-2 w-2 rounded-full", PART_COLOR[x.part])} />
            {t(`updates.part.${x.part}`, { count: formatNumber(x.count, i18n.language) })}
          </li>
        ))}
      </ul>
    </div>
  );
}

function RolloutMachinesCard({ rollout }: { rollout: Rollout }) {
  const { t } = useTranslation();
  const machines = useQuery(rolloutMachinesQuery(rollout.id, isMoving(rollout.state)));
  return (
    <Card title={t("updates.machines.title", { version: rollout.version })}>
      <QueryView query={machines} empty={(d) => d.machines.length === 0} emptyTitle={t("updates.machines.empty")}>
        {(data) => (
          <Table
            variant="caps"
            testId="rollout-machines"
            columns={[
              t("updates.machines.col.machine"),
              t("updates.machines.col.running"),
              t("updates.machines.col.state"),
              t("updates.machines.col.reason"),
              t("updates.machines.col.updated"),
            ]}
          >
            {data.machines.map((m) => (
              <MachineUpdateRow key={m.machine_id} m={m} />
            ))}
          </Table>
        )}
      </QueryView>
    </Card>
  );
}

function MachineUpdateRow({ m }: { m: MachineUpdate }) {
  const { t } = useTranslation();
  return (
    <tr className="border-t border-slate-400/20 align-top" data-testid="rollout-machine">
      <td className="px-2 py-2">
        <Link to={`/machines/${encodeURIComponent(m.machine_id)}`} className="rounded font-medium hover:underline focus-ring">
          {m.hostname || m.machine_id}
        </Link>
        {m.canary && (
          <Badge tone="info" className="ml-2">
            {t("updates.machines.canary")}
          </Badge>
        )}
      </td>
      <td className="px-2 py-2 font-mono text-xs" data-testid="rollout-machine-version">
        {m.agent_version || "–"}
      </td>
      <td className="px-2 py-2" data-testid="rollout-machine-state">
        {m.state ? (
          <Badge tone={UPDATE_TONE[m.state]}>{t(`updates.updateState.${m.state}`)}</Badge>
        ) : (
          <span className="text-muted">{t("updates.machines.waiting")}</span>
        )}
      </td>
      <td className="max-w-md px-2 py-2 text-xs break-words text-muted">{m.reason ?? "–"}</td>
      <td className="px-2 py-2 whitespace-nowrap">
        <When ms={m.updated_ms} />
      </td>
    </tr>
  );
}

function ReleasesCard() {
  const { t, i18n } = useTranslation();
  const releases = useQuery(releasesQuery());
  return (
    <Card title={t("updates.releases.title")}>
      <QueryView query={releases} empty={(d) => d.releases.length === 0} emptyTitle={t("updates.releases.empty")}>
        {(data) => (
          <Table
            variant="caps"
            testId="release-list"
            columns={[
              t("updates.releases.col.version"),
              t("updates.releases.col.platform"),
              t("updates.releases.col.serial"),
              { label: t("updates.releases.col.size"), cell: "px-2 py-2 text-right" },
              t("updates.releases.col.key"),
              t("updates.releases.col.published"),
            ]}
          >
            {data.releases.map((r) => (
              <tr key={`${r.version}/${r.platform}`} className="border-t border-slate-400/20" data-testid="release-row">
                <td className="px-2 py-2 font-mono text-xs font-medium">{r.version}</td>
                <td className="px-2 py-2">{r.platform}</td>
                <td className="px-2 py-2 tabular-nums">{r.serial}</td>
                <td className="px-2 py-2 text-right tabular-nums">{formatBytes(r.size, i18n.language)}</td>
                <td className="px-2 py-2 font-mono text-xs" title={`sha256 ${r.sha256}`}>
                  {r.key_id}
                </td>
                <td className="px-2 py-2 whitespace-nowrap">
                  <When ms={r.published_ms} />
                </td>
              </tr>
            ))}
          </Table>
        )}
      </QueryView>
      <p className="mt-3 text-xs text-muted">{t("updates.releases.howTo")}</p>
    </Card>
  );
}

const FORM_FIELDS = new Set([
  "version",
  "scope.groups",
  "scope.selector",
  "scope.machines",
  "canary_count",
  "halt_failure_percent",
  "health_window_s",
]);

function RolloutDialog({ running, onClose, onCreated }: { running?: Rollout; onClose: () => void; onCreated: (id: string) => void }) {
  const { t } = useTranslation();
  const releases = useQuery(releasesQuery());
  const versions = useMemo(() => releasedVersions(releases.data?.releases ?? []), [releases.data]);
  const save = useCreateRollout(onCreated);
  const { form, set, check, errors, general } = useCheckedForm<RolloutForm>(() => newRolloutForm(), save, {
    fieldOf: rolloutFieldOf,
    shown: FORM_FIELDS,
  });
  // The newest release until the user picks one (the list loads after the dialog opens).
  const version = form.version || versions[0]?.version || "";
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const checked = rolloutBody({ ...form, version });
    if (!check(checked.ok ? {} : checked.errors) || !checked.ok) return;
    save.mutate(checked.body);
  };
  return (
    <FormDialog
      title={t("updates.form.title")}
      onClose={onClose}
      onSubmit={submit}
      busy={save.isPending}
      submitLabel={t("updates.form.start")}
      submitTestId="rollout-start"
      formTestId="rollout-form"
      error={general}
    >
      <SelectField
        label={t("updates.form.version")}
        hint={t("updates.form.versionHint")}
        error={errors.version}
        options={versions.map((v) => v.version)}
        optionLabel={(v) => `${v} (${versions.find((x) => x.version === v)?.platforms.join(", ") ?? ""})`}
        value={version}
        onChange={(v) => set("version", v ?? "")}
        testId="rollout-version"
      />
      <ScopeChoice form={form} set={set} errors={errors} />
      <fieldset className="flex flex-col gap-1">
        <legend className="text-sm font-medium">{t("updates.form.canaries")}</legend>
        <div className="flex items-center gap-2">
          <NumberField
            plain
            label={<span className="sr-only">{t("updates.form.canaries")}</span>}
            inputMode="numeric"
            value={form.canary}
            onChange={(v) => set("canary", v)}
            testId="rollout-canary"
          />
          <ChoiceSelect<CanaryMode>
            aria-label={t("updates.form.canaries")}
            options={["count", "percent"]}
            optionLabel={(m) => t(`updates.form.canaryMode.${m}`)}
            value={form.canaryMode}
            onChange={(m) => set("canaryMode", m ?? "count")}
            testId="rollout-canary-mode"
          />
        </div>
        <FieldNote error={errors.canary_count} hint={t("updates.form.canaryHint")} />
      </fieldset>
      <NumberField
        label={t("updates.form.halt")}
        unit="%"
        hint={t("updates.form.haltHint")}
        error={errors.halt_failure_percent}
        inputMode="numeric"
        value={form.haltPercent}
        onChange={(v) => set("haltPercent", v)}
        testId="rollout-halt"
      />
      <NumberField
        label={t("updates.form.window")}
        unit={t("updates.form.minutes")}
        hint={t("updates.form.windowHint")}
        error={errors.health_window_s}
        value={form.healthWindowMin}
        onChange={(v) => set("healthWindowMin", v)}
        testId="rollout-window"
      />
      {running && <p className="text-sm text-amber-800 dark:text-amber-200">{t("updates.form.replaces", { version: running.version })}</p>}
    </FormDialog>
  );
}

function ScopeChoice({
  form,
  set,
  errors,
}: {
  form: RolloutForm;
  set: <K extends keyof RolloutForm>(key: K, value: RolloutForm[K]) => void;
  errors: Record<string, string | undefined>;
}) {
  const { t } = useTranslation();
  const groups = useGroups();
  const machines = useMachines();
  const [search, setSearch] = useState("");
  const toggle = (list: string[], id: string, on: boolean) => (on ? [...list, id] : list.filter((x) => x !== id));
  const q = search.trim().toLowerCase();
  const shown = (machines.data?.machines ?? [])
    .filter((m) => !m.decommissioned && (!q || machineName(m).toLowerCase().includes(q) || m.hostname.toLowerCase().includes(q)))
    .sort((a, b) => machineName(a).localeCompare(machineName(b)));
  return (
    <fieldset className="flex flex-col gap-3 rounded-xl border border-slate-400/25 p-3">
      <legend className="px-1 text-sm font-semibold">{t("updates.form.scope")}</legend>
      <div className="flex flex-col gap-1" role="radiogroup">
        {SCOPE_KINDS.map((kind) => (
          <label key={kind} className="inline-flex items-center gap-2 text-sm">
            <input
              type="radio"
              name="rollout-scope"
              className="h-4 w-4 accent-sky-600"
              checked={form.scopeKind === kind}
              onChange={() => set("scopeKind", kind)}
              data-testid={`rollout-scope-${kind}`}
            />
            {t(`updates.form.scopeKind.${kind}`)}
          </label>
        ))}
      </div>
      {form.scopeKind === "groups" && (
        <div className="flex flex-col gap-1">
          {groups.data?.groups.length === 0 && <p className="text-xs text-muted">{t("updates.form.noGroups")}</p>}
          <div className="flex flex-wrap gap-x-4 gap-y-1">
            {(groups.data?.groups ?? []).map((g) => (
              <Checkbox key={g.id} checked={form.groups.includes(g.id)} onChange={(on) => set("groups", toggle(form.groups, g.id, on))}>
                <span aria-hidden="true" className="h-2.5 w-2.5 rounded-full" style={{ backgroundColor: g.color }} />
                {g.name}
              </Checkbox>
            ))}
          </div>
          <FieldNote error={errors["scope.groups"]} />
        </div>
      )}
      {form.scopeKind === "selector" && (
        <TextField
          label={t("updates.form.selector")}
          hint={t("updates.form.selectorHint")}
          error={errors["scope.selector"]}
          value={form.selector}
          onChange={(v) => set("selector", v)}
          spellCheck={false}
          autoComplete="off"
          testId="rollout-selector"
        />
      )}
      {form.scopeKind === "machines" && (
        <div className="flex flex-col gap-2">
          <TextField label={t("updates.form.searchMachines")} type="search" value={search} onChange={setSearch} />
          <ul className="flex max-h-48 flex-col divide-y divide-slate-400/20 overflow-y-auto rounded-xl border border-slate-400/20">
            {shown.map((m) => (
              <li key={m.id}>
                <Checkbox
                  className="flex cursor-pointer items-center gap-3 px-3 py-1.5 text-sm"
                  checked={form.machines.includes(m.id)}
                  onChange={(on) => set("machines", toggle(form.machines, m.id, on))}
                  testId="rollout-machine-checkbox"
                >
                  <span className="min-w-0 flex-1 truncate">{machineName(m)}</span>
                  <code className="text-xs text-muted">{m.facts.agent_version}</code>
                </Checkbox>
              </li>
            ))}
          </ul>
          <FieldNote error={errors["scope.machines"]} />
        </div>
      )}
    </fieldset>
  );
}
