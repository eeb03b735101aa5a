// The health score and every reason that lowers it, with its weight.
import { useTranslation } from "react-i18next";
import type { MachineHealth } from "../../api/types";
import { formatWeight } from "../../lib/machineDetail";
import { Card, Score, cx } from "../ui";

export function HealthCard({ health, className }: { health: MachineHealth | undefined; className?: string }) {
  const { t } = useTranslation();
  const reasons = health?.reasons ?? [];
  return (
    <Card className={className} title={t("machine.health.title")}>
      <div data-testid="machine-health">
        <div className="mb-3 flex items-center gap-3">
          <Score score={health?.score ?? 0} label={t("machine.score")} />
          <span className="text-sm text-muted">{t("machine.score")}</span>
        </div>
        {reasons.length === 0 ? (
          <p className="text-sm text-muted">{t("machine.health.none")}</p>
        ) : (
          <>
            <h3 className="sr-only">{t("machine.health.reasons")}</h3>
            <ul className="flex flex-col gap-1.5">
              {reasons.map((r, i) => (
                <li key={`${r.reason}-${i}`} className="flex items-baseline gap-2 text-sm">
                  <span
                    className={cx(
                      "inline-block min-w-10 rounded-md px-1.5 text-right font-semibold tabular-nums",
                      r.weight <= -20
                        ? "bg-rose-500/15 text-rose-700 dark:text-rose-300"
                        : "bg-amber-400/20 text-amber-800 dark:text-amber-200",
                    )}
                  >
                    {formatWeight(r.weight)}
                  </span>
                  <span className="min-w-0 break-words">{r.reason}</span>
                </li>
              ))}
            </ul>
          </>
        )}
      </div>
    </Card>
  );
}
