// The audit log: details shown compactly, and the pages of a "Load more" list.

/** A detail object as one line of JSON; "" when there is none. */
export function compactDetail(detail: unknown, max = 160): { text: string; full: string; truncated: boolean } {
  if (detail === null || detail === undefined) return { text: "", full: "", truncated: false };
  if (typeof detail === "object" && Object.keys(detail).length === 0) return { text: "", full: "", truncated: false };
  const full = typeof detail === "string" ? detail : JSON.stringify(detail);
  const chars = [...full];
  if (chars.length <= max) return { text: full, full, truncated: false };
  return { text: `${chars.slice(0, max - 1).join("")}…`, full, truncated: true };
}

export interface AuditPage<E> {
  entries: E[];
  next_before?: number | null;
}

/** The cursor for the next page, or undefined when this was the last. */
export function nextBefore<E>(page: AuditPage<E>): number | undefined {
  return page.next_before ?? undefined;
}

export function allEntries<E>(pages: AuditPage<E>[] | undefined): E[] {
  return (pages ?? []).flatMap((p) => p.entries);
}

/** The kind of the actor, for a badge: "user", "token", "cli" or "other". */
export function actorKind(actor: string): "user" | "token" | "cli" | "other" {
  if (actor.startsWith("user:")) return "user";
  if (actor.startsWith("token:")) return "token";
  if (actor === "cli") return "cli";
  return "other";
}

/** The actor without its kind prefix. */
export function actorName(actor: string): string {
  const kind = actorKind(actor);
  return kind === "user" || kind === "token" ? actor.slice(actor.indexOf(":") + 1) : actor;
}
