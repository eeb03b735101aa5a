// The state of a dialog form that checks its input before it saves: the rule, channel and
// silence dialogs. lib/formErrors.ts decides where each error shows.
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { placeErrors, type ErrorPlaces } from "../lib/formErrors";
import { errorText } from "./ui";

/**
 * `set` changes one value; `check(found)` shows the local checks' errors (translation keys by
 * field), forgets the last failed save and says whether the form may be sent. `errors` go next
 * to their fields, `general` under the form.
 */
export function useCheckedForm<F extends object>(initial: F | (() => F), save: { error: unknown; reset: () => void }, places: ErrorPlaces) {
  const { t } = useTranslation();
  const [form, setForm] = useState<F>(initial);
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const { errors, general } = placeErrors(localErrors, save.error, places, t, (e) => errorText(e, t));
  const set = <K extends keyof F>(key: K, value: F[K]) => setForm((f) => ({ ...f, [key]: value }));
  const check = (found: Record<string, string>) => {
    setLocalErrors(found);
    save.reset();
    return Object.keys(found).length === 0;
  };
  return { form, setForm, set, check, errors, general };
}
