// The fleet page's logic, apart from React: filters from the address bar, paging through the
// whole fleet, and what a machine's row shows.
import type { LatestValues, Machine, MachineList } from "../api/types";

export type View = "cards" | "table";
export const SORTS = ["name", "-score", "score", "status", "-last_seen"] as const;
export type Sort = (typeof SORTS)[number];
export const STATUSES = ["online", "warning", "critical", "offline"] as const;

export interface FleetFilters {
  q: string;
  selector: string;
  group: string;
  status: string;
  sort: Sort;
  view: View;
}

export function filtersFrom(search: URLSearchParams): FleetFilters {
  const sort = search.get("sort") ?? "";
  const status = (search.get("status") ?? "")
    .split(",")
    .filter((s) => (STATUSES as readonly string[]).includes(s))
    .join(",");
  return {
    q: search.get("q") ?? "",
    selector: search.get("selector") ?? "",
    group: search.get("group") ?? "",
    status,
    sort: (SORTS as readonly string[]).includes(sort) ? (sort as Sort) : "name",
    view: search.get("view") === "table" ? "table" : "cards",
  };
}

/** The API's page size limit: a bigger fleet is read in several pages. */
export const PAGE = 1000;

export async function fetchAllMachines(get: (offset: number) => Promise<MachineList>): Promise<MachineList> {
  const first = await get(0);
  const total = first.total ?? first.machines.length;
  const machines = [...first.machines];
  // Remaining pages in parallel; the server orders them consistently by the sort key.
  const offsets: number[] = [];
  for (let offset = PAGE; offset < total; offset += PAGE) offsets.push(offset);
  const pages = await Promise.all(offsets.map(get));
  for (const p of pages) machines.push(...p.machines);
  return { machines, total };
}

export function machineName(m: Pick<Machine, "display_name" | "hostname">): string {
  return m.display_name?.trim() || m.hostname;
}

/** The fullest filesystem: what a sysadmin looks at first. */
export function worstFilesystem(latest: LatestValues | null | undefined): { mount: string; percent: number } | null {
  let worst: { mount: string; percent: number } | null = null;
  for (const fs of latest?.filesystems ?? []) {
    if (fs.total_bytes <= 0) continue;
    const percent = (fs.used_bytes / (fs.used_bytes + fs.free_bytes || fs.total_bytes)) * 100;
    if (!worst || percent > worst.percent) worst = { mount: fs.mount, percent };
  }
  return worst;
}

/** All labels of a machine, the API's over the agent's, sorted by key. */
export function allLabels(m: Pick<Machine, "labels" | "agent_labels">): [string, string][] {
  const merged = { ...(m.agent_labels ?? {}), ...(m.labels ?? {}) } as Record<string, string>;
  return Object.entries(merged).sort(([a], [b]) => a.localeCompare(b));
}

/** Cards per row for a container width (cards are at least 18 rem wide). */
export function columnsFor(width: number, minCard = 288, gap = 16): number {
  return Math.max(1, Math.floor((width + gap) / (minCard + gap)));
}

export function statusOf(m: Machine): string {
  return m.decommissioned ? "decommissioned" : (m.status ?? "offline");
}
