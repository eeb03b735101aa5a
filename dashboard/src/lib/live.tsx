// One SSE connection per signed-in tab; machine events refresh the fleet and the machine
// shown, without polling.
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { machineKeys } from "../api/machines";
import { followStream, type SseMessage } from "../api/sse";
import type { Machine, MachineList, MachineStatus } from "../api/types";

const LiveContext = createContext(false);
const LIST_REFRESH_MS = 5_000;

interface MachineEvent {
  id: string;
  status?: MachineStatus;
  score?: number;
  last_seen_ms?: number;
  to?: MachineStatus;
}

/** Applies a stream message to the cached data; heavier changes just mark queries stale. */
export function applyLive(queries: QueryClient, m: SseMessage, refreshLists: () => void) {
  if (m.event === "lagged") {
    void queries.invalidateQueries();
    return;
  }
  let e: MachineEvent;
  try {
    e = JSON.parse(m.data) as MachineEvent;
  } catch {
    return;
  }
  const patch = (machine: Machine): Machine => {
    if (machine.id !== e.id) return machine;
    const next = { ...machine };
    if (m.event === "status" && e.to) next.status = e.to;
    if (m.event === "machine" && e.status) next.status = e.status;
    if (e.last_seen_ms) next.last_seen_ms = e.last_seen_ms;
    if (typeof e.score === "number" && next.health) next.health = { ...next.health, score: e.score };
    return next;
  };
  queries.setQueriesData<MachineList>({ queryKey: machineKeys.lists() }, (old) =>
    old ? { ...old, machines: old.machines.map(patch) } : old,
  );
  void queries.invalidateQueries({ queryKey: machineKeys.detail(e.id) });
  if (m.event !== "machine") void queries.invalidateQueries({ queryKey: machineKeys.summary() });
  // New latest values: the lists refresh in the background, at most every few seconds
  // (a fleet of thousands reports many times a second).
  refreshLists();
}

export function LiveProvider({ children }: { children: ReactNode }) {
  const queries = useQueryClient();
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const stop = new AbortController();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const refreshLists = () => {
      timer ??= setTimeout(() => {
        timer = null;
        // Only the fleet's own list: pickers of machines elsewhere need no fresh figures.
        void queries.invalidateQueries({ queryKey: machineKeys.fleet() });
        void queries.invalidateQueries({ queryKey: machineKeys.summary() });
      }, LIST_REFRESH_MS);
    };
    void followStream((m) => applyLive(queries, m, refreshLists), setConnected, stop.signal);
    return () => {
      stop.abort();
      if (timer) clearTimeout(timer);
    };
  }, [queries]);
  return <LiveContext.Provider value={connected}>{children}</LiveContext.Provider>;
}

export function useLive() {
  return useContext(LiveContext);
}
