// Where a dialog form's errors show. The rule, channel and silence forms all check their input
// first (errors as translation keys, by field) and then show a failed save: next to the field
// the server names when the form shows that field, else once for the whole form.
import { ApiError } from "../api/client";

export interface ErrorPlaces {
  /** The form field a server error's `field` names ("scope.selector" → "selector"). */
  fieldOf: (field: string | null | undefined) => string | null;
  /** The fields that can show an error next to them. */
  shown: ReadonlySet<string>;
  /** The field a 409 without a field is about (a name already taken). */
  conflict?: string;
}

export function placeErrors(
  local: Record<string, string>,
  error: unknown,
  { fieldOf, shown, conflict }: ErrorPlaces,
  t: (key: string) => string,
  text: (error: unknown) => string,
): { errors: Record<string, string | undefined>; general: string | null } {
  const serverField =
    error instanceof ApiError ? (conflict && error.status === 409 && !error.field ? conflict : fieldOf(error.field)) : null;
  const placed = !!serverField && shown.has(serverField);
  const errors: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(local)) errors[fieldOf(k) ?? k] = t(v);
  if (error && placed) errors[serverField] = text(error);
  return { errors, general: error && !placed ? text(error) : null };
}
