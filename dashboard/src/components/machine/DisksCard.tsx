// S.M.A.R.T.: each disk's verdict and reasons, its attributes on demand; admins acknowledge a
// warning so it stops weighing on the score.
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useQuery } from "@tanstack/react-query";
import { disksQuery, useAcknowledgeDisk } from "../../api/machines";
import type { Disk, SmartDevice } from "../../api/types";
import { useSession } from "../../auth/session";
import { formatBytes, formatDateTime, formatNumber, formatRelative } from "../../lib/format";
import { DiskHistoryCharts } from "./DiskHistoryCharts";
import { Badge, Button, Card, EmptyState, QueryView, errorText } from "../ui";
import { Table } from "../fields";

export function DisksCard({ machineId, className }: { machineId: string; className?: string }) {
  const { t, i18n } = useTranslation();
  const { isAdmin } = useSession();
  const disks = useQuery(disksQuery(machineId));
  const ack = useAcknowledgeDisk(machineId);
  const readAt = disks.data?.read_at_ms;
  return (
    <Card
      className={className}
      title={t("machine.disks.title")}
      actions={
        readAt ? (
          <span className="text-xs text-muted" title={formatDateTime(readAt, i18n.language)}>
            {t("machine.disks.readAt", { when: formatRelative(readAt, i18n.language) })}
          </span>
        ) : undefined
      }
    >
      <div data-testid="disks">
        <QueryView query={disks}>
          {(d) => {
            if (d.state === "unavailable")
              return (
                <p role="status" className="rounded-xl bg-amber-400/15 p-3 text-sm text-amber-900 dark:text-amber-200">
                  {t("machine.disks.unavailable", { reason: d.reason ?? "–" })}
                </p>
              );
            if (d.state === "unknown" && d.disks.length === 0) return <EmptyState title={t("machine.disks.unknown")} />;
            if (d.disks.length === 0) return <EmptyState title={t("machine.disks.none")} />;
            return (
              <ul className="flex flex-col gap-3">
                {d.disks.map((disk) => (
                  <DiskItem
                    key={disk.key}
                    machineId={machineId}
                    disk={disk}
                    canAck={isAdmin}
                    busy={ack.isPending && ack.variables?.key === disk.key}
                    error={ack.error && ack.variables?.key === disk.key ? errorText(ack.error, t) : null}
                    onAck={(a) => ack.mutate({ key: disk.key, ack: a })}
                  />
                ))}
              </ul>
            );
          }}
        </QueryView>
      </div>
    </Card>
  );
}

function DiskItem({
  machineId,
  disk,
  canAck,
  busy,
  error,
  onAck,
}: {
  machineId: string;
  disk: Disk;
  canAck: boolean;
  busy: boolean;
  error: string | null;
  onAck: (ack: boolean) => void;
}) {
  const { t, i18n } = useTranslation();
  const locale = i18n.language;
  const dev = disk.device;
  const row = (label: string, value: string | number | null | undefined) => (
    <div className="min-w-0">
      <dt className="text-xs text-muted">{label}</dt>
      <dd className="text-sm break-words">{value === null || value === undefined || value === "" ? "–" : value}</dd>
    </div>
  );
  return (
    <li className="rounded-xl border border-slate-400/20 p-3" data-testid={`disk-${disk.name}`}>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <div className="flex min-w-0 flex-wrap items-center gap-2">
          <h3 className="font-medium break-words">{disk.model || dev.model || disk.name}</h3>
          <Badge tone={disk.verdict}>{t(`machine.disks.verdict.${disk.verdict}`, { defaultValue: disk.verdict })}</Badge>
          {disk.acknowledged && (
            <Badge tone="info">
              <span title={disk.acknowledged_ms ? formatDateTime(disk.acknowledged_ms, locale) : undefined}>
                {disk.acknowledged_ms
                  ? t("machine.disks.acknowledgedAt", { when: formatRelative(disk.acknowledged_ms, locale) })
                  : t("machine.disks.acknowledged")}
              </span>
            </Badge>
          )}
        </div>
        {canAck && disk.verdict !== "ok" && (
          <Button
            onClick={() => onAck(!disk.acknowledged)}
            busy={busy}
            variant={disk.acknowledged ? "ghost" : "secondary"}
            title={t("machine.disks.ackHint")}
          >
            {disk.acknowledged ? t("machine.disks.withdraw") : t("machine.disks.acknowledge")}
          </Button>
        )}
      </div>
      {error && (
        <p role="alert" className="mt-1 text-sm text-rose-600 dark:text-rose-400">
          {error}
        </p>
      )}
      {disk.reasons.length > 0 && (
        <ul className="mt-2 list-disc pl-5 text-sm">
          {disk.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}
      <dl className="mt-3 grid grid-cols-2 gap-x-4 gap-y-2 sm:grid-cols-3">
        {row(t("machine.disks.device"), disk.name)}
        {row(t("machine.disks.serial"), disk.serial || dev.serial)}
        {row(t("machine.disks.protocol"), (disk.protocol || dev.protocol).toUpperCase())}
        {row(t("machine.disks.capacity"), dev.capacity_bytes ? formatBytes(dev.capacity_bytes, locale) : null)}
        {row(
          t("machine.disks.temperature"),
          dev.temperature_c !== null && dev.temperature_c !== undefined ? `${formatNumber(dev.temperature_c, locale)} °C` : null,
        )}
        {row(
          t("machine.disks.powerOn"),
          dev.power_on_hours !== null && dev.power_on_hours !== undefined
            ? t("machine.disks.hours", { hours: formatNumber(dev.power_on_hours, locale) })
            : null,
        )}
        {row(t("machine.disks.firmware"), dev.firmware)}
        {dev.smart_passed !== null &&
          dev.smart_passed !== undefined &&
          row(t("machine.disks.selfTest"), dev.smart_passed ? t("machine.disks.passed") : t("machine.disks.failed"))}
      </dl>
      <details className="mt-3">
        <summary className="cursor-pointer text-sm font-medium text-sky-700 focus-ring dark:text-sky-300">
          {t("machine.disks.details")}
        </summary>
        <div className="mt-2">
          <Attributes device={dev} />
        </div>
      </details>
      <HistoryDetails machineId={machineId} diskKey={disk.key} name={disk.name} />
    </li>
  );
}

/** The history loads when first opened: most visits never look at it. */
function HistoryDetails({ machineId, diskKey, name }: { machineId: string; diskKey: string; name: string }) {
  const { t } = useTranslation();
  const [opened, setOpened] = useState(false);
  return (
    <details className="mt-2" onToggle={(e) => e.currentTarget.open && setOpened(true)}>
      <summary className="cursor-pointer text-sm font-medium text-sky-700 focus-ring dark:text-sky-300">
        {t("machine.disks.history")}
      </summary>
      {opened && (
        <div className="mt-2">
          <DiskHistoryCharts machineId={machineId} diskKey={diskKey} name={name} />
        </div>
      )}
    </details>
  );
}

const NVME_FIELDS = [
  "critical_warning",
  "available_spare",
  "available_spare_threshold",
  "percentage_used",
  "media_errors",
  "num_err_log_entries",
  "unsafe_shutdowns",
] as const;
const SCSI_FIELDS = ["grown_defects", "uncorrected_read_errors", "uncorrected_write_errors", "uncorrected_verify_errors"] as const;

const th = "px-2 py-1.5 text-left text-xs font-medium text-muted";
const td = "px-2 py-1.5 tabular-nums";

function Attributes({ device }: { device: SmartDevice }) {
  const { t, i18n } = useTranslation();
  const locale = i18n.language;
  const ata = device.ata_attributes ?? [];
  if (ata.length > 0)
    return (
      <Table
        variant="plain"
        cell={th}
        className="min-w-[34rem]"
        columns={[
          t("machine.disks.attr.id"),
          t("machine.disks.attr.name"),
          t("machine.disks.attr.value"),
          t("machine.disks.attr.worst"),
          t("machine.disks.attr.threshold"),
          t("machine.disks.attr.raw"),
        ]}
      >
        {ata.map((a) => {
          const failed = Boolean(a.when_failed && a.when_failed !== "-");
          return (
            <tr key={a.id} className={failed ? "bg-rose-500/10" : "border-b border-slate-400/10 last:border-0"}>
              <td className={td}>{a.id}</td>
              <td className="px-2 py-1.5 break-all">
                {a.name}
                {a.prefailure && <span className="ml-1 text-xs text-muted">({t("machine.disks.attr.prefailure")})</span>}
                {failed && (
                  <span className="ml-1 text-xs font-medium text-rose-700 dark:text-rose-300">
                    {t("machine.disks.attr.failed")}: {a.when_failed}
                  </span>
                )}
              </td>
              <td className={td}>{a.value}</td>
              <td className={td}>{a.worst}</td>
              <td className={td}>{a.threshold}</td>
              <td className={td}>{formatNumber(a.raw, locale)}</td>
            </tr>
          );
        })}
      </Table>
    );
  const rows: [string, number][] = [];
  if (device.nvme) for (const f of NVME_FIELDS) rows.push([t(`machine.disks.nvme.${f}`), device.nvme[f]]);
  if (device.scsi) for (const f of SCSI_FIELDS) rows.push([t(`machine.disks.scsi.${f}`), device.scsi[f]]);
  if (rows.length === 0) return <p className="text-sm text-muted">{t("machine.disks.noDetails")}</p>;
  return (
    <Table variant="plain" cell={th} columns={[t("machine.disks.field"), t("machine.disks.value")]}>
      {rows.map(([label, value]) => (
        <tr key={label} className="border-b border-slate-400/10 last:border-0">
          <th scope="row" className="px-2 py-1.5 text-left font-normal">
            {label}
          </th>
          <td className={td}>{formatNumber(value, locale)}</td>
        </tr>
      ))}
    </Table>
  );
}
