// An on/off switch for a list row (a rule or a channel enabled), busy while it saves.
import { cx } from "./ui";

export function Toggle({
  checked,
  onChange,
  label,
  busy,
  testId,
}: {
  checked: boolean;
  onChange: (next: boolean) => void;
  label: string;
  busy?: boolean;
  testId?: string;
}) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={checked}
      aria-label={label}
      aria-busy={busy || undefined}
      disabled={busy}
      data-testid={testId}
      onClick={() => onChange(!checked)}
      className={cx(
        "relative inline-flex h-6 w-11 shrink-0 items-center rounded-full transition focus-ring disabled:cursor-wait disabled:opacity-60",
        checked ? "bg-sky-700 dark:bg-sky-500" : "bg-slate-400/40 dark:bg-white/15",
      )}
    >
      <span
        aria-hidden="true"
        className={cx("inline-block h-5 w-5 rounded-full bg-white shadow transition", checked ? "translate-x-5.5" : "translate-x-0.5")}
      />
    </button>
  );
}
