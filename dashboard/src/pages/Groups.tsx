// Groups (name, colour, description, members) and the labels in use across the fleet.
import { useMemo, useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { groupsQuery, useDeleteGroup, useEditGroupMembers, useSaveGroup } from "../api/groups";
import { allMachinesQuery } from "../api/machines";
import type { Group, Machine } from "../api/types";
import { useSession } from "../auth/session";
import { machineName } from "../lib/fleet";
import {
  Badge,
  Button,
  Card,
  Dialog,
  EmptyState,
  Field,
  FormDialog,
  PageHeader,
  QueryView,
  cx,
  inputClass,
  DeleteButton,
  FormError,
} from "../components/ui";
import { formatNumber } from "../lib/format";
import {
  PRESET_COLORS,
  filterMachines,
  groupBody,
  isHexColor,
  memberDiff,
  withMember,
  type GroupForm,
  type GroupFormError,
} from "../lib/groupForm";
import { collectLabels, fleetLinkFor, labelSelector } from "../lib/labelUsage";
import { Link } from "../lib/router";
import { Checkbox, Table, TextField } from "../components/fields";

function useGroups() {
  return useQuery(groupsQuery());
}

/** Every machine of the organisation (the API's maximum page). */
function useAllMachines() {
  return useQuery(allMachinesQuery());
}

type Editing = { mode: "create" } | { mode: "edit"; group: Group } | null;

export default function Groups(_props: { params: Record<string, string> }) {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const [editing, setEditing] = useState<Editing>(null);
  const [members, setMembers] = useState<Group | null>(null);
  return (
    <div className="flex flex-col gap-5">
      <PageHeader
        title={t("groups.title")}
        subtitle={t("groups.subtitle")}
        actions={
          isAdmin && (
            <Button variant="primary" data-testid="group-new" onClick={() => setEditing({ mode: "create" })}>
              {t("groups.new")}
            </Button>
          )
        }
      />
      <GroupsCard onEdit={(group) => setEditing({ mode: "edit", group })} onMembers={setMembers} />
      <LabelsCard />
      {isAdmin && editing && (
        <GroupDialog key={editing.mode === "edit" ? editing.group.id : "new"} editing={editing} onClose={() => setEditing(null)} />
      )}
      {isAdmin && members && <MembersDialog key={members.id} group={members} onClose={() => setMembers(null)} />}
    </div>
  );
}

function GroupsCard({ onEdit, onMembers }: { onEdit: (g: Group) => void; onMembers: (g: Group) => void }) {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const query = useGroups();
  return (
    <Card title={t("groups.list")}>
      <QueryView query={query} empty={(d) => d.groups.length === 0} emptyTitle={isAdmin ? t("groups.emptyAdmin") : t("groups.empty")}>
        {(data) => (
          <Table
            variant="caps"
            testId="group-list"
            columns={[
              { label: t("groups.col.color"), cell: "w-10 px-2 py-2", srOnly: true },
              t("groups.col.name"),
              t("groups.col.description"),
              { label: t("groups.col.machines"), cell: "px-2 py-2 text-right" },
              isAdmin && { label: t("groups.col.actions"), srOnly: true },
            ]}
          >
            {[...data.groups]
              .sort((a, b) => a.name.localeCompare(b.name))
              .map((g) => (
                <GroupRow key={g.id} group={g} onEdit={onEdit} onMembers={onMembers} />
              ))}
          </Table>
        )}
      </QueryView>
    </Card>
  );
}

function Swatch({ color, className }: { color: string; className?: string }) {
  const { t } = useTranslation();
  return (
    <span
      role="img"
      aria-label={t("groups.swatch", { color })}
      className={cx("inline-block h-4 w-4 shrink-0 rounded-full ring-1 ring-slate-900/15 dark:ring-white/20", className)}
      style={{ backgroundColor: isHexColor(color) ? color : undefined }}
    />
  );
}

function GroupRow({ group, onEdit, onMembers }: { group: Group; onEdit: (g: Group) => void; onMembers: (g: Group) => void }) {
  const { t, i18n } = useTranslation();
  const { isAdmin } = useSession();
  const remove = useDeleteGroup(group.id);
  return (
    <tr className="border-t border-slate-400/20 align-top" data-testid="group-row">
      <td className="px-2 py-2.5">
        <Swatch color={group.color} />
      </td>
      <td className="px-2 py-2 font-medium">{group.name}</td>
      <td className="max-w-md px-2 py-2 text-muted">{group.description || "–"}</td>
      <td className="px-2 py-2 text-right tabular-nums">{formatNumber(group.machine_count, i18n.language)}</td>
      {isAdmin && (
        <td className="px-2 py-1">
          <div className="flex justify-end gap-1 whitespace-nowrap">
            <Button variant="ghost" onClick={() => onMembers(group)} data-testid="group-members">
              {t("groups.members")}
              <span className="sr-only"> {group.name}</span>
            </Button>
            <Button variant="ghost" onClick={() => onEdit(group)} data-testid="group-edit">
              {t("common.action.edit")}
              <span className="sr-only"> {group.name}</span>
            </Button>
            <DeleteButton name={group.name} busy={remove.isPending} onConfirm={() => remove.mutate()} testid="group-delete" srName />
          </div>
          <FormError small className="mt-1 text-right" error={remove.error} />
        </td>
      )}
    </tr>
  );
}

function GroupDialog({ editing, onClose }: { editing: NonNullable<Editing>; onClose: () => void }) {
  const { t } = useTranslation();
  const initial: GroupForm =
    editing.mode === "edit"
      ? { name: editing.group.name, color: editing.group.color, description: editing.group.description }
      : { name: "", color: PRESET_COLORS[0], description: "" };
  const [form, setForm] = useState<GroupForm>(initial);
  const [invalid, setInvalid] = useState<GroupFormError | null>(null);
  const save = useSaveGroup(editing.mode === "edit" ? editing.group.id : null, onClose);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const checked = groupBody(form);
    if (!checked.ok) {
      setInvalid(checked.field);
      return;
    }
    setInvalid(null);
    save.mutate(checked.body);
  };
  const set = (patch: Partial<GroupForm>) => setForm((f) => ({ ...f, ...patch }));
  return (
    <FormDialog
      onClose={onClose}
      title={editing.mode === "edit" ? t("groups.editTitle", { name: editing.group.name }) : t("groups.newTitle")}
      onSubmit={submit}
      busy={save.isPending}
      submitLabel={editing.mode === "edit" ? t("common.action.save") : t("common.action.create")}
      submitTestId="group-save"
      formTestId="group-form"
    >
      <TextField
        label={t("groups.field.name")}
        error={invalid === "name" ? t("groups.error.name") : undefined}
        value={form.name}
        onChange={(name) => set({ name })}
        required
        autoFocus
        maxLength={100}
        testId="group-name"
      />
      <Field
        label={t("groups.field.color")}
        hint={t("groups.hint.color")}
        error={invalid === "color" ? t("groups.error.color") : undefined}
      >
        {(id, describedBy) => <ColorPicker id={id} describedBy={describedBy} value={form.color} onChange={(color) => set({ color })} />}
      </Field>
      <Field
        label={t("groups.field.description")}
        hint={t("groups.hint.description")}
        error={invalid === "description" ? t("groups.error.description") : undefined}
      >
        {(id, describedBy) => (
          <textarea
            id={id}
            aria-describedby={describedBy}
            value={form.description}
            onChange={(e) => set({ description: e.target.value })}
            rows={3}
            className={inputClass}
            data-testid="group-description"
          />
        )}
      </Field>
      <FormError error={save.error} />
    </FormDialog>
  );
}

function ColorPicker({
  id,
  describedBy,
  value,
  onChange,
}: {
  id: string;
  describedBy?: string;
  value: string;
  onChange: (c: string) => void;
}) {
  const { t } = useTranslation();
  return (
    <div className="flex flex-wrap items-center gap-2">
      <input
        id={id}
        type="color"
        aria-describedby={describedBy}
        value={isHexColor(value) ? value.toLowerCase() : "#000000"}
        onChange={(e) => onChange(e.target.value)}
        className="h-9 w-12 cursor-pointer rounded-lg border border-slate-300/70 bg-transparent p-0.5 focus-ring dark:border-white/15"
        data-testid="group-color"
      />
      <code className="w-20 text-xs text-muted">{value}</code>
      <div className="flex flex-wrap gap-1.5">
        {PRESET_COLORS.map((c) => (
          <button
            key={c}
            type="button"
            onClick={() => onChange(c)}
            aria-label={t("groups.preset", { color: c })}
            aria-pressed={value.toLowerCase() === c}
            className={cx(
              "h-7 w-7 rounded-full ring-1 ring-slate-900/15 transition focus-ring dark:ring-white/20",
              value.toLowerCase() === c &&
                "ring-2 ring-slate-900 ring-offset-2 ring-offset-white dark:ring-white dark:ring-offset-slate-900",
            )}
            style={{ backgroundColor: c }}
          />
        ))}
      </div>
    </div>
  );
}

function MembersDialog({ group, onClose }: { group: Group; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const machines = useAllMachines();
  const [search, setSearch] = useState("");
  // null until the user changes something: then the initial membership comes from the data.
  const [picked, setPicked] = useState<Set<string> | null>(null);
  const before = useMemo(
    () => new Set((machines.data?.machines ?? []).filter((m) => m.groups?.includes(group.id)).map((m) => m.id)),
    [machines.data, group.id],
  );
  const selected = picked ?? before;
  const diff = memberDiff(before, selected);
  const changed = diff.add.length + diff.remove.length > 0;
  const save = useEditGroupMembers(group.id, onClose);
  const toggle = (id: string, on: boolean) => setPicked(withMember(selected, id, on));
  return (
    <Dialog
      open
      onClose={onClose}
      title={t("groups.membersTitle", { name: group.name })}
      footer={
        <>
          <Button onClick={onClose}>{t("common.action.cancel")}</Button>
          <Button
            variant="primary"
            disabled={!changed}
            busy={save.isPending}
            onClick={() => save.mutate(diff)}
            data-testid="group-members-save"
          >
            {t("common.action.save")}
          </Button>
        </>
      }
    >
      <QueryView query={machines} empty={(d) => d.machines.length === 0} emptyTitle={t("groups.membersEmpty")}>
        {(data) => (
          <div className="flex flex-col gap-3" data-testid="group-members-dialog">
            <TextField
              label={t("groups.membersSearch")}
              type="search"
              value={search}
              onChange={setSearch}
              autoFocus
              testId="group-members-search"
            />
            <p className="text-xs text-muted" aria-live="polite">
              {t("groups.membersSelected", {
                count: formatNumber(selected.size, i18n.language),
                total: formatNumber(data.machines.length, i18n.language),
              })}
              {changed && <> · {t("groups.membersChanges", { add: diff.add.length, remove: diff.remove.length })}</>}
            </p>
            <MachineChecklist machines={filterMachines(data.machines, search)} selected={selected} onToggle={toggle} />
            <FormError error={save.error} />
          </div>
        )}
      </QueryView>
    </Dialog>
  );
}

function MachineChecklist({
  machines,
  selected,
  onToggle,
}: {
  machines: Machine[];
  selected: Set<string>;
  onToggle: (id: string, on: boolean) => void;
}) {
  const { t } = useTranslation();
  if (machines.length === 0) return <p className="py-4 text-center text-sm text-muted">{t("groups.membersNone")}</p>;
  return (
    <ul className="flex max-h-80 flex-col divide-y divide-slate-400/20 overflow-y-auto rounded-xl border border-slate-400/20">
      {machines.map((m) => {
        const name = machineName(m);
        return (
          <li key={m.id}>
            <Checkbox
              className="flex cursor-pointer items-center gap-3 px-3 py-2 hover:bg-slate-900/5 dark:hover:bg-white/5"
              checked={selected.has(m.id)}
              onChange={(on) => onToggle(m.id, on)}
              testId="group-member-checkbox"
            >
              <span className="min-w-0 flex-1">
                <span className="block truncate text-sm font-medium">{name}</span>
                {name !== m.hostname && <span className="block truncate text-xs text-muted">{m.hostname}</span>}
              </span>
              {m.ip && <span className="hidden text-xs text-muted sm:inline">{m.ip}</span>}
            </Checkbox>
          </li>
        );
      })}
    </ul>
  );
}

function LabelsCard() {
  const { t, i18n } = useTranslation();
  const machines = useAllMachines();
  return (
    <Card title={t("groups.labels.title")}>
      <p className="mb-3 text-sm text-muted">{t("groups.labels.intro")}</p>
      <QueryView query={machines}>
        {(data) => {
          const uses = collectLabels(data.machines);
          if (uses.length === 0) return <EmptyState title={t("groups.labels.empty")} />;
          return (
            <ul className="flex flex-wrap gap-2" data-testid="label-list">
              {uses.map((u) => (
                <li key={`${u.key}=${u.value}`}>
                  <Link
                    to={fleetLinkFor(u.key, u.value)}
                    className="glass-strong inline-flex items-center gap-2 rounded-xl px-3 py-1.5 text-sm transition hover:bg-white/80 focus-ring dark:hover:bg-white/15"
                    data-testid="label-link"
                  >
                    <code className="font-mono text-xs">{labelSelector(u.key, u.value)}</code>
                    <span className="text-xs text-muted tabular-nums">
                      {t("groups.labels.machines", { count: formatNumber(u.count, i18n.language) })}
                    </span>
                    {u.fromAgent > 0 && <Badge tone="info">{t("groups.labels.fromAgent")}</Badge>}
                  </Link>
                </li>
              ))}
            </ul>
          );
        }}
      </QueryView>
      <SelectorHelp />
    </Card>
  );
}

const SELECTOR_FORMS: [string, string][] = [
  ["env=prod", "helpEq"],
  ["role!=db", "helpNe"],
  ["tier in (web,api)", "helpIn"],
  ["tier notin (web,api)", "helpNotIn"],
  ["backup", "helpHas"],
  ["!deprecated", "helpHasNot"],
];

function SelectorHelp() {
  const { t } = useTranslation();
  return (
    <details open className="mt-4 rounded-xl border border-slate-400/20 px-3 py-2 text-sm" data-testid="selector-help">
      <summary className="cursor-pointer font-medium focus-ring">{t("groups.labels.helpTitle")}</summary>
      <p className="mt-2 text-muted">{t("groups.labels.help")}</p>
      <dl className="mt-2 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1">
        {SELECTOR_FORMS.map(([form, key]) => (
          <div key={form} className="contents">
            <dt>
              <code className="font-mono text-xs">{form}</code>
            </dt>
            <dd className="text-muted">{t(`groups.labels.${key}`)}</dd>
          </div>
        ))}
      </dl>
      <p className="mt-2">
        {t("groups.labels.example")} <code className="font-mono text-xs break-all">env=prod,role!=db,tier in (web,api),!deprecated</code>
      </p>
    </details>
  );
}
