// The machine's groups and labels. Agent labels are read-only; admins edit the groups and the
// API labels (the whole map is sent on each change).
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useQuery } from "@tanstack/react-query";
import { groupsQuery } from "../../api/groups";
import { useSetMachineGroups, useSetMachineLabels } from "../../api/machines";
import type { Group, Machine } from "../../api/types";
import { useSession } from "../../auth/session";
import { newLabelProblem, safeColor, sortedLabels, withLabel, withoutLabel } from "../../lib/machineDetail";
import { Button, Card, Field, Input, Spinner, FormError } from "../ui";
import { Checkbox } from "../fields";
import { withMember } from "../../lib/groupForm";

export function GroupsLabelsCard({ machine, className }: { machine: Machine; className?: string }) {
  const { t } = useTranslation();
  return (
    <Card className={className} title={t("machine.groups.title")}>
      <div data-testid="machine-groups" className="flex flex-col gap-5">
        <GroupsSection machine={machine} />
        <LabelsSection machine={machine} />
      </div>
    </Card>
  );
}

function GroupChip({ group, id }: { group: Group | undefined; id: string }) {
  const { t } = useTranslation();
  return (
    <li
      className="inline-flex items-center gap-1.5 rounded-full bg-slate-500/10 px-2.5 py-0.5 text-sm ring-1 ring-slate-400/25 ring-inset"
      data-testid="group-chip"
    >
      <span aria-hidden="true" className="h-2.5 w-2.5 rounded-full" style={{ backgroundColor: safeColor(group?.color) }} />
      {group?.name ?? (
        <span className="text-muted" title={id}>
          {t("machine.groups.unknown")}
        </span>
      )}
    </li>
  );
}

function GroupsSection({ machine }: { machine: Machine }) {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const groups = useQuery(groupsQuery());
  const [editing, setEditing] = useState<Set<string> | null>(null);
  const save = useSetMachineGroups(machine.id);
  const ids = machine.groups ?? [];
  const byId = new Map((groups.data?.groups ?? []).map((g) => [g.id, g]));
  const all = [...(groups.data?.groups ?? [])].sort((a, b) => a.name.localeCompare(b.name));

  return (
    <section aria-labelledby="machine-groups-h">
      <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
        <h3 id="machine-groups-h" className="text-sm font-semibold">
          {t("machine.groups.groups")}
        </h3>
        {isAdmin && !editing && (
          <Button variant="ghost" onClick={() => setEditing(new Set(ids))} disabled={!groups.data} data-testid="groups-edit">
            {t("machine.groups.edit")}
          </Button>
        )}
      </div>
      {groups.isPending && ids.length > 0 && <Spinner small />}
      {!groups.data && <FormError error={groups.error} />}
      {!editing &&
        (ids.length === 0 ? (
          <p className="text-sm text-muted">{t("machine.groups.none")}</p>
        ) : (
          <ul className="flex flex-wrap gap-2">
            {ids.map((id) => (
              <GroupChip key={id} id={id} group={byId.get(id)} />
            ))}
          </ul>
        ))}
      {editing && (
        <form
          className="flex flex-col gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate({ group_ids: all.filter((g) => editing.has(g.id)).map((g) => g.id) }, { onSuccess: () => setEditing(null) });
          }}
        >
          {all.length === 0 ? (
            <p className="text-sm text-muted">{t("machine.groups.orgHasNone")}</p>
          ) : (
            <fieldset>
              <legend className="sr-only">{t("machine.groups.choose")}</legend>
              <ul className="grid gap-1 sm:grid-cols-2">
                {all.map((g) => (
                  <li key={g.id}>
                    <Checkbox
                      className="flex cursor-pointer items-center gap-2 rounded-lg px-2 py-1 text-sm hover:bg-slate-900/5 dark:hover:bg-white/10"
                      checked={editing.has(g.id)}
                      onChange={(on) => setEditing(withMember(editing, g.id, on))}
                    >
                      <span
                        aria-hidden="true"
                        className="h-2.5 w-2.5 shrink-0 rounded-full"
                        style={{ backgroundColor: safeColor(g.color) }}
                      />
                      <span className="break-all">{g.name}</span>
                    </Checkbox>
                  </li>
                ))}
              </ul>
            </fieldset>
          )}
          <FormError error={save.error} />
          <div className="flex flex-wrap gap-2">
            <Button type="submit" variant="primary" busy={save.isPending} disabled={all.length === 0}>
              {t("common.action.save")}
            </Button>
            <Button
              variant="ghost"
              onClick={() => {
                setEditing(null);
                save.reset();
              }}
            >
              {t("common.action.cancel")}
            </Button>
          </div>
        </form>
      )}
    </section>
  );
}

function LabelChip({ k, v, agent, onRemove, busy }: { k: string; v: string; agent?: boolean; onRemove?: () => void; busy?: boolean }) {
  const { t } = useTranslation();
  const text = v ? `${k}=${v}` : k;
  return (
    <li
      className={
        agent
          ? "inline-flex items-center gap-1.5 rounded-lg border border-dashed border-slate-400/50 px-2 py-0.5 font-mono text-xs"
          : "inline-flex items-center gap-1 rounded-lg bg-sky-500/10 px-2 py-0.5 font-mono text-xs text-sky-900 ring-1 ring-sky-600/20 ring-inset dark:text-sky-200"
      }
      data-testid={agent ? "agent-label" : "label"}
    >
      <span className="break-all">{text}</span>
      {agent && (
        <span className="rounded bg-slate-500/15 px-1 font-sans text-[0.65rem] tracking-wide text-muted uppercase">
          {t("machine.groups.fromAgent")}
        </span>
      )}
      {onRemove && (
        <button
          type="button"
          onClick={onRemove}
          disabled={busy}
          aria-label={t("machine.groups.removeLabel", { label: text })}
          className="-mr-1 ml-0.5 rounded px-1 font-sans text-sm leading-none hover:bg-slate-900/10 focus-ring disabled:opacity-50 dark:hover:bg-white/15"
        >
          ×
        </button>
      )}
    </li>
  );
}

function LabelsSection({ machine }: { machine: Machine }) {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const save = useSetMachineLabels(machine.id);
  const agentLabels = machine.agent_labels ?? {};
  // `labels` is every label, the agent's included: the API-set ones are the rest. Sending the
  // agent's back in the PUT would be refused (409), and they would show twice.
  const labels = Object.fromEntries(Object.entries(machine.labels ?? {}).filter(([k]) => !(k in agentLabels)));
  const own = sortedLabels(labels);
  const agent = sortedLabels(agentLabels);
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const [tried, setTried] = useState(false);
  const problem = newLabelProblem(key.trim(), value.trim(), labels, agentLabels);
  const shownProblem = tried && problem ? t(`machine.groups.problem.${problem}`) : undefined;

  const add = (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (problem) return;
    save.mutate(
      { labels: withLabel(labels, key.trim(), value.trim()) },
      {
        onSuccess: () => {
          setKey("");
          setValue("");
          setTried(false);
        },
      },
    );
  };
  const remove = (k: string, v: string) => {
    if (!window.confirm(t("common.confirmDelete", { name: v ? `${k}=${v}` : k }))) return;
    save.mutate({ labels: withoutLabel(labels, k) });
  };

  return (
    <section aria-labelledby="machine-labels-h" className="flex flex-col gap-3">
      <h3 id="machine-labels-h" className="text-sm font-semibold">
        {t("machine.groups.labels")}
      </h3>
      {own.length === 0 && agent.length === 0 && <p className="text-sm text-muted">{t("machine.groups.noLabels")}</p>}
      {own.length > 0 && (
        <ul className="flex flex-wrap gap-2" aria-label={t("machine.groups.labels")}>
          {own.map(([k, v]) => (
            <LabelChip key={k} k={k} v={v} onRemove={isAdmin ? () => remove(k, v) : undefined} busy={save.isPending} />
          ))}
        </ul>
      )}
      {agent.length > 0 && (
        <div>
          <h4 className="text-xs font-medium text-muted">{t("machine.groups.agentLabels")}</h4>
          <p className="mb-1.5 text-xs text-muted">{t("machine.groups.agentHint")}</p>
          <ul className="flex flex-wrap gap-2" aria-label={t("machine.groups.agentLabels")}>
            {agent.map(([k, v]) => (
              <LabelChip key={k} k={k} v={v} agent />
            ))}
          </ul>
        </div>
      )}
      {isAdmin && (
        <form className="flex flex-col gap-2" onSubmit={add} noValidate data-testid="label-form">
          <div className="grid gap-2 sm:grid-cols-[1fr_1fr_auto] sm:items-start">
            <Field label={t("machine.groups.key")} error={problem && problem !== "value" ? shownProblem : undefined}>
              {(id, describedBy) => (
                <Input
                  id={id}
                  aria-describedby={describedBy}
                  aria-invalid={Boolean(shownProblem && problem !== "value") || undefined}
                  value={key}
                  autoComplete="off"
                  spellCheck={false}
                  onChange={(e) => setKey(e.target.value)}
                />
              )}
            </Field>
            <Field label={t("machine.groups.value")} error={problem === "value" ? shownProblem : undefined}>
              {(id, describedBy) => (
                <Input
                  id={id}
                  aria-describedby={describedBy}
                  aria-invalid={Boolean(shownProblem && problem === "value") || undefined}
                  value={value}
                  autoComplete="off"
                  spellCheck={false}
                  onChange={(e) => setValue(e.target.value)}
                />
              )}
            </Field>
            <Button type="submit" busy={save.isPending} className="sm:mt-6">
              {t("machine.groups.addLabel")}
            </Button>
          </div>
          <FormError error={save.error} />
        </form>
      )}
    </section>
  );
}
