// A disk's S.M.A.R.T. readings over the last 30 days: its temperature, and the counters that
// predict failure (reallocated, pending, uncorrectable sectors, media errors, grown defects)
// drawn only where the disk reports them.
import { useMemo } from "react";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { diskHistoryQuery } from "../../api/machines";
import type { DiskHistory } from "../../api/types";
import { diskHistorySeries } from "../../lib/machineDetail";
import { alignSeries } from "../../lib/series";
import { TimeChart, chartColor } from "../TimeChart";
import { EmptyState, QueryView } from "../ui";

export function DiskHistoryCharts({ machineId, diskKey, name }: { machineId: string; diskKey: string; name: string }) {
  const { t } = useTranslation();
  const history = useQuery({ ...diskHistoryQuery(machineId, diskKey), staleTime: 300_000 });
  return <QueryView query={history}>{(h) => <Charts history={h} name={name} empty={t("machine.disks.noHistory")} />}</QueryView>;
}

function Charts({ history, name, empty }: { history: DiskHistory; name: string; empty: string }) {
  const { t } = useTranslation();
  const groups = useMemo(() => diskHistorySeries(history.points), [history]);
  if (groups.temperature.length === 0 && groups.counters.length === 0) return <EmptyState title={empty} />;
  return (
    <div className="grid gap-4 lg:grid-cols-2">
      {groups.temperature.length > 0 && (
        <div data-testid="disk-history-temperature">
          <h4 className="mb-1 text-xs font-medium text-muted">{t("machine.disks.temperature")}</h4>
          <TimeChart
            data={alignSeries([{ points: groups.temperature, stepMs: 0 }])}
            lines={[{ label: t("machine.disks.temperature"), color: chartColor(3) }]}
            unit="°C"
            height={160}
            label={`${name}: ${t("machine.disks.temperature")}`}
            timeLabel={t("machine.charts.time")}
          />
        </div>
      )}
      {groups.counters.length > 0 && (
        <div data-testid="disk-history-counters">
          <h4 className="mb-1 text-xs font-medium text-muted">{t("machine.disks.counters")}</h4>
          <TimeChart
            data={alignSeries(groups.counters.map((c) => ({ points: c.points, stepMs: 0 })))}
            lines={groups.counters.map((c, i) => ({ label: t(`machine.disks.counter.${c.field}`), color: chartColor(i + 4) }))}
            unit=""
            height={160}
            label={`${name}: ${t("machine.disks.counters")}`}
            timeLabel={t("machine.charts.time")}
          />
        </div>
      )}
    </div>
  );
}
