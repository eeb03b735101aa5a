// Alerts without React: the tabs and what can be done to an alert.
import type { operations } from "../api/schema";
import type { Alert } from "../api/types";

export const ALERT_TABS = ["firing", "pending", "resolved", "all"] as const;
export type AlertTab = (typeof ALERT_TABS)[number];

export function alertTab(value: string | null | undefined): AlertTab {
  return ALERT_TABS.find((t) => t === value) ?? "firing";
}

/** The query of GET /alerts for a tab: "all" asks for every state. */
export function alertQuery(tab: AlertTab, limit = 200): NonNullable<operations["list_alerts"]["parameters"]["query"]> {
  return tab === "all" ? { limit } : { state: tab, limit };
}

export function isOpen(a: Pick<Alert, "state">): boolean {
  return a.state !== "resolved";
}

/** Open and nobody has acknowledged it yet. */
export function canAcknowledge(a: Pick<Alert, "state" | "acknowledged_ms" | "acknowledged_by">): boolean {
  return isOpen(a) && !a.acknowledged_ms && !a.acknowledged_by;
}
