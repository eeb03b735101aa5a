// Notification channels and their deliveries. A channel's deliveries sit under its key, so a
// change to the channels refreshes an open deliveries list too.
import { queryOptions, useMutation, useQueryClient } from "@tanstack/react-query";
import type { CreateChannelBody, UpdateChannelBody } from "../lib/channels";
import { call } from "./http";
import type { components } from "./schema";

type CreateChannel = components["schemas"]["CreateChannel"];
type UpdateChannel = components["schemas"]["UpdateChannel"];

export const channelKeys = {
  all: () => ["channels"] as const,
  deliveries: (id: string) => ["channels", id, "deliveries"] as const,
};

/** Deliveries shown for a channel: the newest ones. */
export const DELIVERIES_SHOWN = 50;

export const channelsQuery = () =>
  queryOptions({
    queryKey: channelKeys.all(),
    queryFn: ({ signal }) => call("get", "/channels", { signal }),
  });

export const deliveriesQuery = (id: string) =>
  queryOptions({
    queryKey: channelKeys.deliveries(id),
    queryFn: ({ signal }) => call("get", "/channels/{id}/deliveries", { path: { id }, query: { limit: DELIVERIES_SHOWN }, signal }),
  });

// The schema gives `config` no properties (openapi-typescript reads the free-form object as
// Record<string, never>); lib/channels.ts builds each kind's fields and the server checks them.
type Config = CreateChannel["config"];
export const createBody = (b: CreateChannelBody): CreateChannel => ({ ...b, config: b.config as Config });
export const updateBody = (b: UpdateChannelBody): UpdateChannel => ({ ...b, config: b.config as Config });

export type SaveChannel = { create: CreateChannelBody } | { update: UpdateChannelBody };

/** Creates a channel, or edits the one with `id` (its kind cannot change); `onSaved` runs once the list is fresh. */
export function useSaveChannel<A extends SaveChannel>(id: string | null, onSaved?: (args: A) => void) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (args: A) =>
      "create" in args
        ? call("post", "/channels", { body: createBody(args.create) })
        : call("patch", "/channels/{id}", { path: { id: id ?? "" }, body: updateBody(args.update) }),
    onSuccess: async (_c, args) => {
      await queries.invalidateQueries({ queryKey: channelKeys.all() });
      onSaved?.(args);
    },
  });
}

export function useToggleChannel(id: string) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (enabled: boolean) => call("patch", "/channels/{id}", { path: { id }, body: { enabled } }),
    onSuccess: () => queries.invalidateQueries({ queryKey: channelKeys.all() }),
  });
}

export function useDeleteChannel(id: string) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: () => call("delete", "/channels/{id}", { path: { id } }),
    onSuccess: () => queries.invalidateQueries({ queryKey: channelKeys.all() }),
  });
}

/** Sends a test message; win or lose, a delivery was recorded. The page keeps the outcome per row. */
export function useTestChannel(handlers: {
  onMutate: (id: string) => void;
  onSuccess: (outcome: Awaited<ReturnType<typeof testChannel>>, id: string) => void;
  onError: (error: unknown, id: string) => void;
}) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: testChannel,
    onMutate: handlers.onMutate,
    onSuccess: handlers.onSuccess,
    onError: handlers.onError,
    onSettled: (_d, _e, id) => queries.invalidateQueries({ queryKey: channelKeys.deliveries(id) }),
  });
}

const testChannel = (id: string) => call("post", "/channels/{id}/test", { path: { id } });
