// Which machines a rule or a silence covers: the fields to choose them, and the words for
// a chosen scope. Machine and group names come from the fleet and group lists.
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { groupsQuery } from "../api/groups";
import { allMachinesQuery } from "../api/machines";
import type { RuleScope } from "../api/types";
import { isWholeOrg, type ScopeForm } from "../lib/rules";
import { Checkbox, SelectField, TextField } from "./fields";
import { FieldNote } from "./ui";

// Pickers need no fresh figures: a minute-old list of names will do.
export function useMachines() {
  return useQuery({ ...allMachinesQuery(), staleTime: 60_000 });
}

export function useGroups() {
  return useQuery({ ...groupsQuery(), staleTime: 60_000 });
}

/** Names for machine and group ids; the id itself when unknown. */
export function useScopeNames() {
  const machines = useMachines().data?.machines ?? [];
  const groups = useGroups().data?.groups ?? [];
  return {
    machine: (id: string) => {
      const m = machines.find((x) => x.id === id);
      return m ? (m.display_name ?? m.hostname) : id;
    },
    group: (id: string) => groups.find((g) => g.id === id)?.name ?? id,
  };
}

export function ScopeText({ scope }: { scope: RuleScope | null | undefined }) {
  const { t } = useTranslation();
  const names = useScopeNames();
  if (!scope || isWholeOrg(scope)) return <span className="text-muted">{t("rules.scope.all")}</span>;
  const parts: string[] = [];
  if (scope.machine) parts.push(t("rules.scope.machineIs", { name: names.machine(scope.machine) }));
  if (scope.groups?.length) parts.push(t("rules.scope.groupsAre", { names: scope.groups.map(names.group).join(", ") }));
  if (scope.selector) parts.push(t("rules.scope.selectorIs", { selector: scope.selector }));
  return (
    <span className="flex flex-col">
      {parts.map((p) => (
        <span key={p}>{p}</span>
      ))}
    </span>
  );
}

export function ScopeFields({
  value,
  onChange,
  errors = {},
}: {
  value: ScopeForm;
  onChange: (v: ScopeForm) => void;
  errors?: Record<string, string | undefined>;
}) {
  const { t } = useTranslation();
  const machines = useMachines();
  const groups = useGroups();
  const list = [...(machines.data?.machines ?? [])].sort((a, b) =>
    (a.display_name ?? a.hostname).localeCompare(b.display_name ?? b.hostname),
  );
  const names = useScopeNames();
  const toggleGroup = (id: string, on: boolean) =>
    onChange({ ...value, groups: on ? [...value.groups, id] : value.groups.filter((g) => g !== id) });

  return (
    <fieldset className="flex flex-col gap-3 rounded-xl border border-slate-400/25 p-3">
      <legend className="px-1 text-sm font-semibold">{t("rules.scope.label")}</legend>
      <p className="text-xs text-muted">{t("rules.scope.hint")}</p>
      <SelectField
        label={t("rules.scope.machine")}
        error={errors.machine}
        anyLabel={t("rules.scope.anyMachine")}
        options={list.map((m) => m.id)}
        keepValue
        optionLabel={names.machine}
        value={value.machine}
        onChange={(machine) => onChange({ ...value, machine: machine ?? "" })}
        testId="scope-machine"
      />
      <fieldset className="flex flex-col gap-1">
        <legend className="text-sm font-medium">{t("rules.scope.groups")}</legend>
        {groups.data && groups.data.groups.length === 0 && <p className="text-xs text-muted">{t("rules.scope.noGroups")}</p>}
        <div className="flex flex-wrap gap-x-4 gap-y-1">
          {(groups.data?.groups ?? []).map((g) => (
            <Checkbox key={g.id} checked={value.groups.includes(g.id)} onChange={(on) => toggleGroup(g.id, on)}>
              <span aria-hidden="true" className="h-2.5 w-2.5 rounded-full" style={{ backgroundColor: g.color }} />
              {g.name}
            </Checkbox>
          ))}
        </div>
        <FieldNote error={errors.groups} />
      </fieldset>
      <TextField
        label={t("rules.scope.selector")}
        hint={t("rules.scope.selectorHint")}
        error={errors.selector}
        value={value.selector}
        onChange={(selector) => onChange({ ...value, selector })}
        spellCheck={false}
        autoComplete="off"
        testId="scope-selector"
      />
    </fieldset>
  );
}
