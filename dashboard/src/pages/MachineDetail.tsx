// One machine: identity and health, charts, disks, system events, groups and labels. The live
// stream invalidates ["machine", id] after each report, which refreshes all of it.
import { useTranslation } from "react-i18next";
import { useQuery } from "@tanstack/react-query";
import { machineQuery } from "../api/machines";
import { useSession } from "../auth/session";
import { ChartsCard } from "../components/machine/ChartsCard";
import { DisksCard } from "../components/machine/DisksCard";
import { EventsCard } from "../components/machine/EventsCard";
import { GroupsLabelsCard } from "../components/machine/GroupsLabelsCard";
import { HealthCard } from "../components/machine/HealthCard";
import { EditMachineButton, MachineSummary } from "../components/machine/MachineSummary";
import { PageHeader, QueryView } from "../components/ui";
import { machineName } from "../lib/fleet";
import { Link } from "../lib/router";

function BackLink() {
  const { t } = useTranslation();
  return (
    <Link
      to="/"
      data-testid="machine-back"
      className="glass-strong inline-flex min-h-9 items-center gap-1 rounded-xl px-3 py-1.5 text-sm font-medium transition focus-ring hover:bg-white/80 dark:hover:bg-white/15"
    >
      <span aria-hidden="true">←</span>
      {t("common.action.back")}
    </Link>
  );
}

export default function MachineDetail({ params }: { params: Record<string, string> }) {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const id = params.id ?? "";
  const machine = useQuery({ ...machineQuery(id), enabled: id !== "" });
  const m = machine.data;
  return (
    <div data-testid="machine-detail">
      <PageHeader
        title={m ? machineName(m) : t("machine.title")}
        subtitle={m && m.display_name?.trim() ? m.hostname : undefined}
        actions={
          <>
            <BackLink />
            {isAdmin && m && <EditMachineButton machine={m} />}
          </>
        }
      />
      <QueryView query={machine}>
        {(m) => (
          <div className="flex flex-col gap-4">
            <div className="grid gap-4 lg:grid-cols-3">
              <MachineSummary machine={m} className="lg:col-span-2" />
              <HealthCard health={m.health} />
            </div>
            <ChartsCard machine={m} />
            <div className="grid gap-4 lg:grid-cols-2 lg:items-start">
              <DisksCard machineId={m.id} className="min-w-0" />
              <GroupsLabelsCard machine={m} className="min-w-0" />
            </div>
            <EventsCard machineId={m.id} />
          </div>
        )}
      </QueryView>
    </div>
  );
}
