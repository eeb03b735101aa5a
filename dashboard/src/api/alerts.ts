// Alerts and silences. Each tab of the alerts page has its own key under ["alerts"].
import { queryOptions, useMutation, useQueryClient } from "@tanstack/react-query";
import { alertQuery, type AlertTab } from "../lib/alerts";
import { call } from "./http";
import type { CreateSilence } from "./types";

export const alertKeys = {
  all: () => ["alerts"] as const,
  tab: (tab: AlertTab) => ["alerts", tab] as const,
  silences: () => ["silences"] as const,
};

export const alertsQuery = (tab: AlertTab) =>
  queryOptions({
    queryKey: alertKeys.tab(tab),
    queryFn: ({ signal }) => call("get", "/alerts", { query: alertQuery(tab), signal }),
  });

export const silencesQuery = () =>
  queryOptions({
    queryKey: alertKeys.silences(),
    queryFn: ({ signal }) => call("get", "/silences", { signal }),
  });

/** Every tab may show the alert. The mutation ends once the lists are fresh, so the button stays busy until then. */
export function useAcknowledgeAlert(id: number) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: () => call("post", "/alerts/{id}/acknowledgement", { path: { id } }),
    onSuccess: () => queries.invalidateQueries({ queryKey: alertKeys.all() }),
  });
}

/** The dialog closes once the list shows the new silence. */
export function useCreateSilence(onCreated?: () => void) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateSilence) => call("post", "/silences", { body }),
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: alertKeys.silences() });
      onCreated?.();
    },
  });
}

export function useEndSilence(id: string) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: () => call("delete", "/silences/{id}", { path: { id } }),
    onSuccess: () => queries.invalidateQueries({ queryKey: alertKeys.silences() }),
  });
}
