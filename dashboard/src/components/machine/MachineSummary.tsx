// The machine's identity: status, score and host facts, with its notes; admins edit the
// display name and notes in a dialog.
import { useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { useDeleteMachine, useUpdateMachine } from "../../api/machines";
import type { Machine } from "../../api/types";
import { formatDateTime, formatDuration, formatRelative } from "../../lib/format";
import { statusOf } from "../../lib/fleet";
import { navigate } from "../../lib/router";
import { Button, Card, ConfirmButton, Dialog, Field, Score, StatusBadge, errorText, inputClass, FormError } from "../ui";
import { TextField } from "../fields";

function Fact({ label, children }: { label: ReactNode; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs text-muted">{label}</dt>
      <dd className="mt-0.5 text-sm break-words">{children}</dd>
    </div>
  );
}

export function MachineSummary({ machine, className }: { machine: Machine; className?: string }) {
  const { t, i18n } = useTranslation();
  const locale = i18n.language;
  const f = machine.facts;
  const cores =
    f.cpu_physical_cores !== null && f.cpu_physical_cores !== undefined
      ? t("machine.facts.coresBoth", { logical: f.cpu_logical_cores, physical: f.cpu_physical_cores })
      : t("machine.facts.coresLogical", { logical: f.cpu_logical_cores });
  return (
    <Card className={className} title={t("machine.facts.title")}>
      <div className="mb-4 flex flex-wrap items-center gap-3" data-testid="machine-status">
        <Score score={machine.health?.score ?? 0} label={t("machine.score")} />
        <StatusBadge status={statusOf(machine)} />
        <span className="text-sm text-muted">{machine.hostname}</span>
      </div>
      {machine.decommissioned && <p className="mb-4 rounded-xl bg-slate-500/10 p-3 text-sm text-muted">{t("machine.retired")}</p>}
      <dl className="grid grid-cols-2 gap-x-6 gap-y-3 xl:grid-cols-3">
        <Fact label={t("machine.facts.os")}>{[f.os_name, f.os_version].filter(Boolean).join(" ") || "–"}</Fact>
        <Fact label={t("machine.facts.kernel")}>{f.kernel_version || "–"}</Fact>
        <Fact label={t("machine.facts.cpu")}>{f.cpu_model || "–"}</Fact>
        <Fact label={t("machine.facts.cores")}>{cores}</Fact>
        <Fact label={t("machine.facts.arch")}>{f.arch || "–"}</Fact>
        <Fact label={t("machine.facts.agent")}>{f.agent_version || "–"}</Fact>
        <Fact label={t("machine.facts.ip")}>{machine.ip || "–"}</Fact>
        <Fact label={t("machine.facts.uptime")}>{machine.latest ? formatDuration(machine.latest.uptime_s, locale) : "–"}</Fact>
        <Fact label={t("machine.facts.lastSeen")}>
          {machine.last_seen_ms ? (
            <time dateTime={new Date(machine.last_seen_ms).toISOString()} title={formatDateTime(machine.last_seen_ms, locale)}>
              {formatRelative(machine.last_seen_ms, locale)}
            </time>
          ) : (
            t("machine.facts.never")
          )}
        </Fact>
      </dl>
      {machine.notes && (
        <div className="mt-4">
          <h3 className="text-xs text-muted">{t("machine.notes")}</h3>
          <p className="mt-0.5 text-sm whitespace-pre-wrap break-words" data-testid="machine-notes">
            {machine.notes}
          </p>
        </div>
      )}
    </Card>
  );
}

/** Admins: the display name and notes. */
export function EditMachineButton({ machine }: { machine: Machine }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button onClick={() => setOpen(true)} data-testid="machine-edit">
        {t("machine.edit.button")}
      </Button>
      {open && <EditMachineDialog machine={machine} onClose={() => setOpen(false)} />}
    </>
  );
}

function EditMachineDialog({ machine, onClose }: { machine: Machine; onClose: () => void }) {
  const { t } = useTranslation();
  const [name, setName] = useState(machine.display_name ?? "");
  const [notes, setNotes] = useState(machine.notes ?? "");
  const [retired, setRetired] = useState(Boolean(machine.decommissioned));
  const remove = useDeleteMachine(machine.id, () => navigate("/", { replace: true }));
  const save = useUpdateMachine(machine.id, onClose);
  const err = save.error;
  const field = err && "field" in err ? (err as { field?: string | null }).field : null;
  const formId = "machine-edit-form";
  return (
    <Dialog
      open
      onClose={onClose}
      title={t("machine.edit.title")}
      footer={
        <>
          <Button variant="ghost" onClick={onClose}>
            {t("common.action.cancel")}
          </Button>
          <Button variant="primary" type="submit" form={formId} busy={save.isPending}>
            {t("common.action.save")}
          </Button>
        </>
      }
    >
      <form
        id={formId}
        className="flex flex-col gap-4"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate({ display_name: name.trim(), notes, decommissioned: retired });
        }}
      >
        <TextField
          label={t("machine.edit.displayName")}
          hint={t("machine.edit.displayNameHint")}
          error={field === "display_name" ? errorText(err, t) : undefined}
          value={name}
          maxLength={200}
          placeholder={machine.hostname}
          onChange={setName}
        />
        <Field label={t("machine.edit.notes")} error={field === "notes" ? errorText(err, t) : undefined}>
          {(id, describedBy) => (
            <textarea
              id={id}
              aria-describedby={describedBy}
              className={inputClass}
              rows={5}
              maxLength={10_000}
              value={notes}
              onChange={(e) => setNotes(e.target.value)}
            />
          )}
        </Field>
        <label className="flex items-start gap-2 text-sm">
          <input
            type="checkbox"
            className="mt-0.5 h-4 w-4 accent-sky-700"
            checked={retired}
            onChange={(e) => setRetired(e.target.checked)}
            data-testid="machine-retired"
          />
          <span>
            <span className="font-medium">{t("machine.edit.retired")}</span>
            <span className="block text-xs text-muted">{t("machine.edit.retiredHint")}</span>
          </span>
        </label>
        <FormError error={field === "display_name" || field === "notes" ? null : err} />
        <div className="flex flex-col gap-2 border-t border-slate-400/20 pt-4">
          <p className="text-xs text-muted">{t("machine.edit.deleteHint")}</p>
          <div>
            <ConfirmButton
              variant="danger"
              busy={remove.isPending}
              data-testid="machine-delete"
              question={t("common.confirmDelete", { name: machine.display_name || machine.hostname })}
              onConfirm={() => remove.mutate()}
            >
              {t("machine.edit.delete")}
            </ConfirmButton>
          </div>
          <FormError error={remove.error} />
        </div>
      </form>
    </Dialog>
  );
}
