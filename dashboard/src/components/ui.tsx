// The dashboard's building blocks: glass cards, buttons (one that asks first), fields and the
// notes under them, badges, dialogs (one around a form), the messages a failed request leaves
// and the three states every list has (loading, error, empty).
import {
  useEffect,
  useId,
  useRef,
  useState,
  type ButtonHTMLAttributes,
  type FormEvent,
  type InputHTMLAttributes,
  type ReactNode,
  type SelectHTMLAttributes,
} from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";
import { formatDateTime, formatRelative } from "../lib/format";

export function cx(...classes: (string | false | null | undefined)[]): string {
  return classes.filter(Boolean).join(" ");
}

export function Card({
  children,
  className,
  title,
  actions,
}: {
  children: ReactNode;
  className?: string;
  title?: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <section className={cx("glass rounded-2xl p-4 sm:p-5", className)}>
      {(title || actions) && (
        <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
          {title && <h2 className="text-base font-semibold">{title}</h2>}
          {actions && <div className="flex flex-wrap items-center gap-2">{actions}</div>}
        </div>
      )}
      {children}
    </section>
  );
}

export function PageHeader({ title, subtitle, actions }: { title: ReactNode; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="mb-5 flex flex-wrap items-end justify-between gap-3">
      <div className="min-w-0">
        <h1 className="truncate text-2xl font-semibold tracking-tight">{title}</h1>
        {subtitle && <p className="mt-1 text-sm text-muted">{subtitle}</p>}
      </div>
      {actions && <div className="flex flex-wrap items-center gap-2">{actions}</div>}
    </header>
  );
}

type Variant = "primary" | "secondary" | "danger" | "ghost";
const VARIANTS: Record<Variant, string> = {
  primary: "bg-sky-700 text-white hover:bg-sky-800 dark:bg-sky-500 dark:hover:bg-sky-400 dark:text-slate-950",
  secondary: "glass-strong hover:bg-white/80 dark:hover:bg-white/15",
  danger: "bg-rose-600 text-white hover:bg-rose-500",
  ghost: "hover:bg-slate-900/5 dark:hover:bg-white/10",
};

// `disabled` comes after the spread: a caller's `disabled={false}` must not re-enable a busy button.
export function Button({
  variant = "secondary",
  className,
  busy,
  children,
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant; busy?: boolean }) {
  return (
    <button
      type="button"
      className={cx(
        "inline-flex min-h-9 items-center justify-center gap-2 rounded-xl px-3 py-1.5 text-sm font-medium transition focus-ring disabled:cursor-not-allowed disabled:opacity-50",
        VARIANTS[variant],
        className,
      )}
      {...rest}
      disabled={busy || rest.disabled}
      aria-busy={busy || undefined}
    >
      {busy && <Spinner small />}
      {children}
    </button>
  );
}

export function Field({
  label,
  hint,
  error,
  children,
}: {
  label: ReactNode;
  hint?: ReactNode;
  error?: ReactNode;
  children: (id: string, describedBy?: string) => ReactNode;
}) {
  const id = useId();
  const describedBy = error ? `${id}-err` : hint ? `${id}-hint` : undefined;
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-sm font-medium">
        {label}
      </label>
      {children(id, describedBy)}
      <FieldNote id={id} error={error} hint={hint} />
    </div>
  );
}

/**
 * The error, else the hint, under a control: a Field's (`id` names them for aria-describedby)
 * or a set of checkboxes'.
 */
export function FieldNote({ id, error, hint }: { id?: string; error?: ReactNode; hint?: ReactNode }) {
  if (error)
    return (
      <p id={id && `${id}-err`} role="alert" className="text-xs text-rose-600 dark:text-rose-400">
        {error}
      </p>
    );
  return hint ? (
    <p id={id && `${id}-hint`} className="text-xs text-muted">
      {hint}
    </p>
  ) : null;
}

export const inputClass =
  "w-full rounded-xl border border-slate-300/70 bg-white/70 px-3 py-2 text-sm shadow-sm placeholder:text-slate-400 focus-ring dark:border-white/15 dark:bg-slate-950/40";

export function Input(props: InputHTMLAttributes<HTMLInputElement>) {
  return <input {...props} className={cx(inputClass, props.className)} />;
}

export function Select(props: SelectHTMLAttributes<HTMLSelectElement>) {
  return <select {...props} className={cx(inputClass, "pr-8", props.className)} />;
}

export function Spinner({ small }: { small?: boolean }) {
  return (
    <span
      aria-hidden="true"
      className={cx(
        "inline-block animate-spin rounded-full border-2 border-current border-t-transparent",
        small ? "h-3.5 w-3.5" : "h-6 w-6",
      )}
    />
  );
}

export function Loading({ label }: { label?: string }) {
  const { t } = useTranslation();
  return (
    <div role="status" className="flex items-center justify-center gap-3 p-8 text-muted">
      <Spinner />
      <span>{label ?? t("common.state.loading")}</span>
    </div>
  );
}

export function errorText(error: unknown, t: (k: string) => string): string {
  if (error instanceof ApiError) return error.code === "network" ? t("common.state.unreachable") : error.message;
  return error instanceof Error ? error.message : String(error);
}

export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  const { t } = useTranslation();
  return (
    <div role="alert" className="flex flex-col items-center gap-3 p-8 text-center">
      <p className="font-medium text-rose-700 dark:text-rose-300">{t("common.state.error")}</p>
      <p className="text-sm text-muted">{errorText(error, t)}</p>
      {retry && <Button onClick={retry}>{t("common.action.retry")}</Button>}
    </div>
  );
}

export function EmptyState({ title, children }: { title?: ReactNode; children?: ReactNode }) {
  const { t } = useTranslation();
  return (
    <div className="flex flex-col items-center gap-2 p-8 text-center text-muted">
      <p className="font-medium">{title ?? t("common.state.empty")}</p>
      {children}
    </div>
  );
}

/** Loading, error, empty (when `empty` says so, titled `emptyTitle`) or the content, for one query. */
export function QueryView<T>({
  query,
  children,
  empty,
  emptyTitle,
}: {
  query: { data?: T; error: unknown; isPending: boolean; refetch: () => unknown };
  children: (data: T) => ReactNode;
  empty?: (data: T) => boolean;
  emptyTitle?: ReactNode;
}) {
  if (query.isPending) return <Loading />;
  if (query.error || query.data === undefined) return <ErrorState error={query.error} retry={() => void query.refetch()} />;
  if (empty?.(query.data)) return <EmptyState title={emptyTitle} />;
  return <>{children(query.data)}</>;
}

const STATUS_STYLES: Record<string, string> = {
  online: "bg-emerald-500/15 text-emerald-800 ring-emerald-600/30 dark:text-emerald-300",
  warning: "bg-amber-400/20 text-amber-900 ring-amber-600/30 dark:text-amber-200",
  critical: "bg-rose-500/15 text-rose-800 ring-rose-600/30 dark:text-rose-300",
  offline: "bg-slate-500/15 text-slate-700 ring-slate-500/30 dark:text-slate-300",
  decommissioned: "bg-slate-500/10 text-slate-500 ring-slate-500/20 dark:text-slate-400",
  info: "bg-sky-500/15 text-sky-800 ring-sky-600/30 dark:text-sky-300",
  error: "bg-orange-500/15 text-orange-800 ring-orange-600/30 dark:text-orange-300",
  ok: "bg-emerald-500/15 text-emerald-800 ring-emerald-600/30 dark:text-emerald-300",
  failing: "bg-rose-500/15 text-rose-800 ring-rose-600/30 dark:text-rose-300",
};

export function Badge({ tone, children, className }: { tone: string; children: ReactNode; className?: string }) {
  return (
    <span
      className={cx(
        "inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset",
        STATUS_STYLES[tone] ?? STATUS_STYLES.offline,
        className,
      )}
    >
      {children}
    </span>
  );
}

export function StatusBadge({ status }: { status: string }) {
  const { t } = useTranslation();
  const known = ["online", "warning", "critical", "offline", "decommissioned"].includes(status);
  return (
    <Badge tone={status}>
      <span aria-hidden="true" className={cx("h-1.5 w-1.5 rounded-full bg-current", status === "online" && "pulse-dot")} />
      {t(`common.status.${known ? status : "unknown"}`)}
    </Badge>
  );
}

export function SeverityBadge({ severity }: { severity: string }) {
  const { t } = useTranslation();
  return <Badge tone={severity}>{t(`common.severity.${severity}`, { defaultValue: severity })}</Badge>;
}

export function scoreTone(score: number): string {
  if (score >= 80) return "text-emerald-600 dark:text-emerald-400";
  if (score >= 50) return "text-amber-600 dark:text-amber-400";
  return "text-rose-600 dark:text-rose-400";
}

export function Score({ score, label }: { score: number; label: string }) {
  const r = 16;
  const c = 2 * Math.PI * r;
  return (
    <span className="relative inline-flex h-11 w-11 items-center justify-center" role="img" aria-label={`${label}: ${score}/100`}>
      <svg viewBox="0 0 40 40" className="absolute inset-0 -rotate-90" aria-hidden="true">
        <circle cx="20" cy="20" r={r} fill="none" strokeWidth="4" className="stroke-slate-400/20" />
        <circle
          cx="20"
          cy="20"
          r={r}
          fill="none"
          strokeWidth="4"
          strokeLinecap="round"
          strokeDasharray={`${(c * score) / 100} ${c}`}
          className={cx("stroke-current", scoreTone(score))}
        />
      </svg>
      <span className={cx("text-sm font-semibold tabular-nums", scoreTone(score))}>{score}</span>
    </span>
  );
}

/** Copies text to the clipboard; `copied` is true for a moment afterwards, for the button's label. */
export function useCopy(): { copied: boolean; copy: (text: string) => void } {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 1500);
    return () => clearTimeout(timer);
  }, [copied]);
  return { copied, copy: (text) => void navigator.clipboard?.writeText(text).then(() => setCopied(true)) };
}

export function CopyButton({ text, label }: { text: string; label?: string }) {
  const { t } = useTranslation();
  const { copied, copy } = useCopy();
  return (
    <Button variant="ghost" onClick={() => copy(text)} aria-label={label ?? t("common.action.copy")}>
      <span aria-live="polite">{copied ? t("common.action.copied") : t("common.action.copy")}</span>
    </Button>
  );
}

export function CodeBlock({ code, label }: { code: string; label?: string }) {
  return (
    <div className="relative rounded-xl bg-slate-950/90 p-3 pr-20 font-mono text-xs text-slate-100">
      <pre className="overflow-x-auto whitespace-pre-wrap break-all">{code}</pre>
      <div className="absolute top-1.5 right-1.5 text-slate-100">
        <CopyButton text={code} label={label} />
      </div>
    </div>
  );
}

/** A modal dialog on the native <dialog>: focus trap, Escape and the backdrop for free. */
export function Dialog({
  open,
  onClose,
  title,
  children,
  footer,
}: {
  open: boolean;
  onClose: () => void;
  title: ReactNode;
  children: ReactNode;
  footer?: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal?.();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onClose={onClose}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      className="glass-strong m-auto w-[min(36rem,calc(100vw-2rem))] rounded-2xl p-0 text-inherit backdrop:bg-slate-950/40 backdrop:backdrop-blur-sm"
    >
      {open && (
        <div className="flex max-h-[85vh] flex-col">
          <h2 id={titleId} className="px-5 pt-5 text-lg font-semibold">
            {title}
          </h2>
          <div className="overflow-y-auto px-5 py-4">{children}</div>
          {footer && <div className="flex flex-wrap justify-end gap-2 border-t border-slate-400/20 px-5 py-3">{footer}</div>}
        </div>
      )}
    </dialog>
  );
}

/**
 * A dialog around one form: Cancel and the submit button (Save unless `submitLabel`) in the
 * footer, `error` (one for no single field) boxed under the fields. `small`: a one-field form,
 * closer spacing and the browser's own check of required fields.
 */
export function FormDialog({
  title,
  onClose,
  onSubmit,
  busy,
  submitLabel,
  submitTestId,
  disabled,
  danger,
  formTestId,
  small,
  error,
  children,
}: {
  title: ReactNode;
  onClose: () => void;
  onSubmit: (e: FormEvent) => void;
  busy: boolean;
  submitLabel?: ReactNode;
  submitTestId: string;
  disabled?: boolean;
  danger?: boolean;
  formTestId?: string;
  small?: boolean;
  error?: ReactNode;
  children: ReactNode;
}) {
  const { t } = useTranslation();
  const formId = useId();
  return (
    <Dialog
      open
      onClose={onClose}
      title={title}
      footer={
        <>
          <Button onClick={onClose}>{t("common.action.cancel")}</Button>
          <Button
            type="submit"
            form={formId}
            variant={danger ? "danger" : "primary"}
            busy={busy}
            disabled={disabled}
            data-testid={submitTestId}
          >
            {submitLabel ?? t("common.action.save")}
          </Button>
        </>
      }
    >
      <form
        id={formId}
        onSubmit={onSubmit}
        noValidate={!small}
        className={small ? "flex flex-col gap-3" : "flex flex-col gap-4"}
        data-testid={formTestId}
      >
        {children}
        <ErrorBanner>{error}</ErrorBanner>
      </form>
    </Dialog>
  );
}

/** A row of tabs; `testId` names each tab for the tests, `nowrap` keeps a label on one line. */
export function Tabs<T extends string>({
  value,
  onChange,
  options,
  label,
  testId,
  nowrap,
}: {
  value: T;
  onChange: (v: T) => void;
  options: readonly { value: T; label: ReactNode }[];
  label: string;
  testId?: (v: T) => string;
  nowrap?: boolean;
}) {
  return (
    <div role="tablist" aria-label={label} className="glass-strong inline-flex rounded-xl p-1">
      {options.map((o) => (
        <button
          key={o.value}
          role="tab"
          type="button"
          aria-selected={o.value === value}
          data-testid={testId?.(o.value)}
          onClick={() => onChange(o.value)}
          className={cx(
            "rounded-lg px-3 py-1 text-sm font-medium transition focus-ring",
            nowrap && "whitespace-nowrap",
            o.value === value ? "bg-sky-700 text-white dark:bg-sky-500 dark:text-slate-950" : "hover:bg-slate-900/5 dark:hover:bg-white/10",
          )}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}

/** A button that asks `question` first and acts only when the user says yes. */
export function ConfirmButton({
  question,
  onConfirm,
  ...rest
}: Omit<ButtonHTMLAttributes<HTMLButtonElement>, "onClick"> & {
  variant?: Variant;
  busy?: boolean;
  question: string;
  onConfirm: () => void;
}) {
  return (
    <Button
      {...rest}
      onClick={() => {
        if (window.confirm(question)) onConfirm();
      }}
    />
  );
}

/**
 * A row's Delete (or another action that cannot be undone: `label`, `question`): asks first, names
 * what it acts on to screen readers (`srName`), shows it is busy.
 */
export function DeleteButton({
  name,
  onConfirm,
  busy,
  testid,
  srName,
  label,
  question,
}: {
  name?: string;
  onConfirm: () => void;
  busy: boolean;
  testid: string;
  srName?: boolean;
  label?: string;
  question?: string;
}) {
  const { t } = useTranslation();
  return (
    <ConfirmButton
      variant="ghost"
      className="text-rose-700 dark:text-rose-300"
      busy={busy}
      data-testid={testid}
      question={question ?? t("common.confirmDelete", { name })}
      onConfirm={onConfirm}
    >
      {label ?? t("common.action.delete")}
      {srName && <span className="sr-only"> {name}</span>}
    </ConfirmButton>
  );
}

/**
 * A failed request's message under the form or control that sent it; nothing without one.
 * `small` for the line under a table row's actions.
 */
export function FormError({ error, small, className }: { error: unknown; small?: boolean; className?: string }) {
  const { t } = useTranslation();
  if (!error) return null;
  return (
    <p role="alert" className={cx(small ? "text-xs" : "text-sm", "text-rose-600 dark:text-rose-400", className)}>
      {errorText(error, t)}
    </p>
  );
}

/** A form's error that belongs to no one field, boxed under the fields; nothing without one. */
export function ErrorBanner({ children }: { children: ReactNode }) {
  if (!children) return null;
  return (
    <p role="alert" className="rounded-xl bg-rose-500/10 px-3 py-2 text-sm text-rose-700 dark:text-rose-300">
      {children}
    </p>
  );
}

/** Something the user must read before going on (a secret shown once), on amber. */
export function Warning({ children, className }: { children: ReactNode; className?: string }) {
  return (
    <p role="alert" className={cx("rounded-xl bg-amber-400/20 px-3 py-2 text-sm text-amber-900 dark:text-amber-200", className)}>
      {children}
    </p>
  );
}

/** A page this reader may not use: its title and a card saying why. */
export function Restricted({ title, message }: { title: ReactNode; message: ReactNode }) {
  return (
    <>
      <PageHeader title={title} />
      <Card>
        <EmptyState title={message} />
      </Card>
    </>
  );
}

/** A moment as "3 min ago" (the full date on hover), or a dash; `prefix` words it ("next 3 min"). */
export function When({ ms, prefix }: { ms: number | null | undefined; prefix?: (when: string) => string }) {
  const { i18n } = useTranslation();
  if (ms === null || ms === undefined) return <span className="text-muted">–</span>;
  const rel = formatRelative(ms, i18n.language);
  return (
    <time dateTime={new Date(ms).toISOString()} title={formatDateTime(ms, i18n.language)}>
      {prefix ? prefix(rel) : rel}
    </time>
  );
}
