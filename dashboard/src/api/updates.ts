// Agent releases (platform-wide) and this organisation's rollouts of them. A running rollout
// changes with every agent's report: its queries poll while one runs.
import { queryOptions, useMutation, useQueryClient } from "@tanstack/react-query";
import { fetchAllMachines, PAGE } from "../lib/fleet";
import { isMoving } from "../lib/updates";
import { call } from "./http";
import type { CreateRollout, RolloutList, RolloutState } from "./types";

export const updateKeys = {
  releases: () => ["agent-releases"] as const,
  rollouts: () => ["rollouts"] as const,
  machines: (id: string) => ["rollouts", id, "machines"] as const,
  /** The fleet's machines for their versions: a key of its own, which the live stream's
   *  patches of the machine lists do not touch (each would restart the polling's timer). */
  fleetVersions: () => ["rollouts", "fleet-versions"] as const,
};

/** How often a rollout under way is read again: agents report every few seconds. */
const UPDATES_POLL_MS = 5_000;

export const releasesQuery = () =>
  queryOptions({
    queryKey: updateKeys.releases(),
    queryFn: ({ signal }) => call("get", "/agent-releases", { signal }),
  });

const anyMoving = (data: RolloutList | undefined) => !!data?.rollouts.some((r) => isMoving(r.state));

export const rolloutsQuery = () =>
  queryOptions({
    queryKey: updateKeys.rollouts(),
    queryFn: ({ signal }) => call("get", "/rollouts", { signal }),
    refetchInterval: (q) => (anyMoving(q.state.data) ? UPDATES_POLL_MS : false),
  });

export const rolloutMachinesQuery = (id: string, moving: boolean) =>
  queryOptions({
    queryKey: updateKeys.machines(id),
    queryFn: ({ signal }) => call("get", "/rollouts/{id}/machines", { path: { id }, signal }),
    refetchInterval: moving ? UPDATES_POLL_MS : false,
  });

export const fleetVersionsQuery = (moving: boolean) =>
  queryOptions({
    queryKey: updateKeys.fleetVersions(),
    queryFn: ({ signal }) => fetchAllMachines((offset) => call("get", "/machines", { query: { limit: PAGE, offset }, signal })),
    refetchInterval: moving ? UPDATES_POLL_MS : false,
  });

/** A new rollout cancels the one before it: the whole list changes. */
export function useCreateRollout(onCreated?: (id: string) => void) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateRollout) => call("post", "/rollouts", { body }),
    onSuccess: (created) => {
      void queries.invalidateQueries({ queryKey: updateKeys.rollouts() });
      onCreated?.(created.id);
    },
  });
}

/** Pause, resume (also after a halt) or cancel. */
export function useSetRolloutState(id: string) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (state: RolloutState) => call("patch", "/rollouts/{id}", { path: { id }, body: { state } }),
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: updateKeys.rollouts() });
    },
  });
}
