// Groups: colours, the form's body and the membership change a dialog makes.
import { machineName } from "./fleet";

/** A few colours to pick with one click (Tailwind's 500 shades). */
export const PRESET_COLORS = ["#3b82f6", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#ec4899", "#14b8a6", "#64748b"] as const;

export function isHexColor(value: string): boolean {
  return /^#[0-9a-fA-F]{6}$/.test(value);
}

export interface GroupForm {
  name: string;
  color: string;
  description: string;
}

export type GroupFormError = "name" | "color" | "description";

/** The body for POST or PATCH /groups, or the first field that is wrong. */
export function groupBody(form: GroupForm): { ok: true; body: GroupForm } | { ok: false; field: GroupFormError } {
  const name = form.name.trim();
  if (!name) return { ok: false, field: "name" };
  if (!isHexColor(form.color)) return { ok: false, field: "color" };
  const description = form.description.trim();
  if ([...description].length > 500) return { ok: false, field: "description" };
  return { ok: true, body: { name, color: form.color.toLowerCase(), description } };
}

/** What to send to POST /groups/{id}/machines to go from `before` to `after`. */
/** A copy of a membership with `id` in it (`on`) or out of it: a checkbox ticked or cleared. */
export function withMember(members: ReadonlySet<string>, id: string, on: boolean): Set<string> {
  const next = new Set(members);
  if (on) next.add(id);
  else next.delete(id);
  return next;
}

export function memberDiff(before: Iterable<string>, after: Iterable<string>): { add: string[]; remove: string[] } {
  const was = new Set(before);
  const now = new Set(after);
  return {
    add: [...now].filter((id) => !was.has(id)).sort(),
    remove: [...was].filter((id) => !now.has(id)).sort(),
  };
}

export interface NamedMachine {
  id: string;
  hostname: string;
  display_name?: string | null;
  ip?: string | null;
}

/** Machines whose name, hostname or address contains the text, sorted by name. */
export function filterMachines<M extends NamedMachine>(machines: M[], query: string): M[] {
  const q = query.trim().toLowerCase();
  const hit = (m: M) => !q || [m.display_name, m.hostname, m.ip].some((s) => s?.toLowerCase().includes(q));
  return machines.filter(hit).sort((a, b) => machineName(a).localeCompare(machineName(b)));
}
