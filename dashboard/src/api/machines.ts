// Machines: the fleet's lists and summary, one machine and what hangs off it (series, disks,
// events), and the metric catalogue. Keys under ["machines"] are lists; ["machine", id] is one
// machine and its parts, which the live stream refreshes after each report (lib/live.tsx).
import { queryOptions, useMutation, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { fetchAllMachines, PAGE, type FleetFilters } from "../lib/fleet";
import { eventQuery, type EventFilters } from "../lib/machineDetail";
import { rangeWindow, type RangeKey } from "../lib/series";
import { call } from "./http";
import type { Machine, MachineGroups, MachineLabels, UpdateMachine } from "./types";
import { groupKeys } from "./groups";

/** The fleet page's filters that reach the server (the view is the page's own). */
export type FleetQuery = Pick<FleetFilters, "q" | "selector" | "group" | "status" | "sort">;

export const machineKeys = {
  /** Every list of machines: a change to any machine makes them all stale. */
  lists: () => ["machines"] as const,
  /** The fleet page's lists; the live stream refreshes only these (pickers need no fresh figures). */
  fleet: () => ["machines", "fleet"] as const,
  fleetFiltered: (f: FleetQuery) =>
    ["machines", "fleet", { q: f.q, selector: f.selector, group: f.group, status: f.status, sort: f.sort }] as const,
  /** Every machine of the organisation, for pickers and group members. */
  everyone: () => ["machines", { all: true }] as const,
  /** One machine; its disks and events live under it, so a report refreshes them too. */
  detail: (id: string) => ["machine", id] as const,
  /** Every machine's detail (a group's change touches many). */
  details: () => ["machine"] as const,
  disks: (id: string) => ["machine", id, "disks"] as const,
  events: (id: string, filters: EventFilters, offset: number) => ["machine", id, "events", filters, offset] as const,
  /** Not under ["machine", id]: each report would reload them; the 1 h range has the report's time in `tail`. */
  series: (id: string, metric: string, instance: string | null | undefined, range: RangeKey, tail: number) =>
    ["machine-series", id, metric, instance ?? "", range, tail] as const,
  /** Not under ["machine", id]: each report would reload 30 days of readings. */
  diskHistory: (id: string, disk: string) => ["machine-disk-history", id, disk] as const,
  summary: () => ["fleet-summary"] as const,
  metrics: () => ["metrics"] as const,
};

export const fleetSummaryQuery = () =>
  queryOptions({
    queryKey: machineKeys.summary(),
    queryFn: ({ signal }) => call("get", "/fleet/summary", { signal }),
  });

/** The fleet page's list: every page of the filtered fleet. */
export const fleetQuery = (f: FleetQuery) =>
  queryOptions({
    queryKey: machineKeys.fleetFiltered(f),
    queryFn: ({ signal }) =>
      fetchAllMachines((offset) =>
        call("get", "/machines", {
          query: { q: f.q, selector: f.selector, group: f.group, status: f.status, sort: f.sort, limit: PAGE, offset },
          signal,
        }),
      ),
  });

/** Every machine of the organisation (the API's maximum page, as many pages as it takes). */
export const allMachinesQuery = () =>
  queryOptions({
    queryKey: machineKeys.everyone(),
    queryFn: ({ signal }) => fetchAllMachines((offset) => call("get", "/machines", { query: { limit: PAGE, offset }, signal })),
  });

export const machineQuery = (id: string) =>
  queryOptions({
    queryKey: machineKeys.detail(id),
    queryFn: ({ signal }) => call("get", "/machines/{id}", { path: { id }, signal }),
  });

export const metricCatalogQuery = () =>
  queryOptions({
    queryKey: machineKeys.metrics(),
    queryFn: ({ signal }) => call("get", "/metrics", { signal }),
  });

export const seriesQuery = (id: string, line: { metric: string; instance?: string | null }, range: RangeKey, tail: number) =>
  queryOptions({
    queryKey: machineKeys.series(id, line.metric, line.instance, range, tail),
    queryFn: ({ signal }) => {
      const { from, to } = rangeWindow(range, Date.now());
      return call("get", "/machines/{id}/series", {
        path: { id },
        query: { metric: line.metric, instance: line.instance ?? undefined, from, to },
        signal,
      });
    },
  });

export const disksQuery = (id: string) =>
  queryOptions({
    queryKey: machineKeys.disks(id),
    queryFn: ({ signal }) => call("get", "/machines/{id}/disks", { path: { id }, signal }),
  });

export const diskHistoryQuery = (id: string, disk: string) =>
  queryOptions({
    queryKey: machineKeys.diskHistory(id, disk),
    queryFn: ({ signal }) => call("get", "/machines/{id}/disks/{key}/history", { path: { id, key: disk }, signal }),
  });

export const eventsQuery = (id: string, filters: EventFilters, offset: number) =>
  queryOptions({
    queryKey: machineKeys.events(id, filters, offset),
    queryFn: ({ signal }) => call("get", "/machines/{id}/events", { path: { id }, query: eventQuery(filters, offset), signal }),
  });

/** The server's answer is the machine itself: it replaces the cached one; the lists show its name, groups or labels. */
function machineChanged(queries: QueryClient, id: string, m: Machine) {
  queries.setQueryData(machineKeys.detail(id), m);
  void queries.invalidateQueries({ queryKey: machineKeys.lists() });
}

export function useUpdateMachine(id: string, onSaved?: () => void) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: UpdateMachine) => call("patch", "/machines/{id}", { path: { id }, body }),
    onSuccess: (m) => {
      machineChanged(queries, id, m);
      onSaved?.();
    },
  });
}

/** Groups' member counts change too. */
export function useSetMachineGroups(id: string) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: MachineGroups) => call("put", "/machines/{id}/groups", { path: { id }, body }),
    onSuccess: (m) => {
      machineChanged(queries, id, m);
      void queries.invalidateQueries({ queryKey: groupKeys.all() });
    },
  });
}

export function useSetMachineLabels(id: string) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: MachineLabels) => call("put", "/machines/{id}/labels", { path: { id }, body }),
    onSuccess: (m) => machineChanged(queries, id, m),
  });
}

/** The machine is gone: its cache goes (no refetch of a 404), the lists and counts are stale. */
export function useDeleteMachine(id: string, onDeleted?: () => void) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: () => call("delete", "/machines/{id}", { path: { id } }),
    onSuccess: () => {
      queries.removeQueries({ queryKey: machineKeys.detail(id) });
      void queries.invalidateQueries({ queryKey: machineKeys.lists() });
      void queries.invalidateQueries({ queryKey: machineKeys.summary() });
      onDeleted?.();
    },
  });
}

/** The answer is the disks' new state; the machine's score may change (exact: not its events). */
export function useAcknowledgeDisk(id: string) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: ({ key, ack }: { key: string; ack: boolean }) =>
      ack
        ? call("post", "/machines/{id}/disks/{key}/acknowledgement", { path: { id, key } })
        : call("delete", "/machines/{id}/disks/{key}/acknowledgement", { path: { id, key } }),
    onSuccess: (data) => {
      queries.setQueryData(machineKeys.disks(id), data);
      void queries.invalidateQueries({ queryKey: machineKeys.detail(id), exact: true });
    },
  });
}
