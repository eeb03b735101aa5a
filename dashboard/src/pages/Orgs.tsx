// Organisations, for platform admins: create, rename, require MFA, delete, switch to.
import { useState, type FormEvent } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { currentOrg, setCurrentOrg } from "../api/client";
import { orgKeys, orgsQuery, useCreateOrg, useDeleteOrg, useUpdateOrg } from "../api/orgs";
import type { Org, OrgList } from "../api/types";
import { useSession } from "../auth/session";
import { Badge, Button, Card, FormDialog, PageHeader, QueryView, Restricted, FormError } from "../components/ui";
import { formatDateTime, formatRelative } from "../lib/format";
import { deleteConfirmed } from "../lib/orgSettings";
import { Table, TextField } from "../components/fields";

function useCurrentOrgId(): string | null {
  const session = useSession();
  return session.org?.id ?? currentOrg();
}

export default function Orgs(_props: { params: Record<string, string> }) {
  const { t } = useTranslation();
  const { me } = useSession();
  const [renaming, setRenaming] = useState<Org | null>(null);
  const [deleting, setDeleting] = useState<Org | null>(null);
  if (!me.platform_admin) return <Restricted title={t("orgs.title")} message={t("orgs.platformOnly")} />;
  return (
    <div className="flex flex-col gap-5">
      <PageHeader title={t("orgs.title")} subtitle={t("orgs.subtitle")} />
      <div className="grid gap-5 lg:grid-cols-[1fr_20rem]">
        <OrgsCard onRename={setRenaming} onDelete={setDeleting} />
        <CreateCard />
      </div>
      {renaming && <RenameDialog key={renaming.id} org={renaming} onClose={() => setRenaming(null)} />}
      {deleting && <DeleteDialog key={deleting.id} org={deleting} onClose={() => setDeleting(null)} />}
    </div>
  );
}

function OrgsCard({ onRename, onDelete }: { onRename: (o: Org) => void; onDelete: (o: Org) => void }) {
  const { t } = useTranslation();
  const list = useQuery(orgsQuery());
  return (
    <Card className="min-w-0">
      <QueryView query={list} empty={(d) => d.orgs.length === 0} emptyTitle={t("orgs.empty")}>
        {(data) => (
          <Table
            variant="caps"
            testId="org-list"
            columns={[t("orgs.col.name"), t("orgs.col.created"), t("orgs.col.requireMfa"), { label: t("orgs.col.actions"), srOnly: true }]}
          >
            {[...data.orgs]
              .sort((a, b) => a.name.localeCompare(b.name))
              .map((o) => (
                <OrgRow key={o.id} org={o} onRename={onRename} onDelete={onDelete} />
              ))}
          </Table>
        )}
      </QueryView>
    </Card>
  );
}

function OrgRow({ org, onRename, onDelete }: { org: Org; onRename: (o: Org) => void; onDelete: (o: Org) => void }) {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const current = useCurrentOrgId() === org.id;
  // The session lists the organisations with their MFA rule.
  const mfa = useUpdateOrg(org.id, () => void session.reload());
  return (
    <tr className="border-t border-slate-400/20 align-top" data-testid="org-row">
      <td className="px-2 py-2 font-medium">
        {org.name}
        {current && (
          <Badge tone="info" className="ml-2">
            {t("orgs.current")}
          </Badge>
        )}
      </td>
      <td className="px-2 py-2 whitespace-nowrap" title={formatDateTime(org.created_ms, i18n.language)}>
        {formatRelative(org.created_ms, i18n.language)}
      </td>
      <td className="px-2 py-2">
        <input
          type="checkbox"
          className="h-4 w-4 accent-sky-600"
          checked={org.require_mfa}
          disabled={mfa.isPending}
          onChange={(e) => mfa.mutate({ require_mfa: e.target.checked })}
          aria-label={t("orgs.requireMfaOf", { name: org.name })}
          data-testid="org-require-mfa"
        />
        <FormError small className="mt-1" error={mfa.error} />
      </td>
      <td className="px-2 py-1">
        <div className="flex justify-end gap-1 whitespace-nowrap">
          {!current && (
            <Button variant="ghost" onClick={() => session.switchOrg(org.id)} data-testid="org-switch">
              {t("orgs.switchTo")}
              <span className="sr-only"> {org.name}</span>
            </Button>
          )}
          <Button variant="ghost" onClick={() => onRename(org)} data-testid="org-rename">
            {t("orgs.rename")}
            <span className="sr-only"> {org.name}</span>
          </Button>
          <Button variant="ghost" className="text-rose-700 dark:text-rose-300" onClick={() => onDelete(org)} data-testid="org-delete">
            {t("orgs.delete.button")}
            <span className="sr-only"> {org.name}</span>
          </Button>
        </div>
      </td>
    </tr>
  );
}

function CreateCard() {
  const { t } = useTranslation();
  const [name, setName] = useState("");
  const create = useCreateOrg(() => setName(""));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    // Enter while a request runs would send it twice.
    if (name.trim() && !create.isPending) create.mutate({ name: name.trim() });
  };
  return (
    <Card title={t("orgs.create.title")} className="self-start">
      <form onSubmit={submit} className="flex flex-col gap-3">
        <TextField label={t("orgs.create.name")} required maxLength={100} value={name} onChange={setName} testId="org-new-name" />
        <Button type="submit" variant="primary" busy={create.isPending} disabled={!name.trim()} data-testid="org-create">
          {t("orgs.create.submit")}
        </Button>
        <FormError error={create.error} />
      </form>
    </Card>
  );
}

function RenameDialog({ org, onClose }: { org: Org; onClose: () => void }) {
  const { t } = useTranslation();
  const session = useSession();
  const [name, setName] = useState(org.name);
  // The session lists the organisations by name.
  const rename = useUpdateOrg(org.id, () => {
    void session.reload();
    onClose();
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const trimmed = name.trim();
    if (!trimmed || rename.isPending) return;
    if (trimmed === org.name) onClose();
    else rename.mutate({ name: trimmed });
  };
  return (
    <FormDialog
      small
      onClose={onClose}
      title={t("orgs.renameTitle", { name: org.name })}
      onSubmit={submit}
      busy={rename.isPending}
      disabled={!name.trim()}
      submitTestId="org-rename-save"
    >
      <TextField label={t("orgs.newName")} required autoFocus maxLength={100} value={name} onChange={setName} testId="org-rename-name" />
      <FormError error={rename.error} />
    </FormDialog>
  );
}

function DeleteDialog({ org, onClose }: { org: Org; onClose: () => void }) {
  const { t } = useTranslation();
  const session = useSession();
  const queries = useQueryClient();
  const currentId = useCurrentOrgId();
  const [typed, setTyped] = useState("");
  const remove = useDeleteOrg(org.id, async () => {
    onClose();
    if (currentId !== org.id) {
      // Another organisation: the list and the session's memberships lose it.
      void queries.invalidateQueries({ queryKey: orgKeys.all() });
      void session.reload();
      return;
    }
    // The organisation in use is gone: move to another one (switching reloads everything).
    const left = queries.getQueryData<OrgList>(orgKeys.all())?.orgs.filter((o) => o.id !== org.id) ?? [];
    const member = session.me.orgs.find((o) => o.id !== org.id && !o.disabled);
    const next = member?.id ?? left[0]?.id;
    if (next) session.switchOrg(next);
    else {
      setCurrentOrg(null);
      queries.clear();
      await session.reload();
    }
  });
  const ok = deleteConfirmed(typed, org.name);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (ok && !remove.isPending) remove.mutate();
  };
  return (
    <FormDialog
      small
      danger
      onClose={onClose}
      title={t("orgs.delete.title", { name: org.name })}
      onSubmit={submit}
      busy={remove.isPending}
      disabled={!ok}
      submitLabel={t("orgs.delete.submit")}
      submitTestId="org-delete-confirm"
    >
      <p role="alert" className="rounded-xl bg-rose-500/15 px-3 py-2 text-sm text-rose-800 dark:text-rose-200">
        {t("orgs.delete.warning")}
      </p>
      <TextField
        label={t("orgs.delete.type", { name: org.name })}
        autoFocus
        autoComplete="off"
        value={typed}
        onChange={setTyped}
        testId="org-delete-name"
      />
      <FormError error={remove.error} />
    </FormDialog>
  );
}
