// Pieces repeated across the pages: labelled text and choice fields, checkboxes, a severity
// <select>, tables with their header row and a number field. Same markup, classes and labels
// wherever they appear.
import type { InputHTMLAttributes, ReactNode, SelectHTMLAttributes } from "react";
import { useTranslation } from "react-i18next";
import { Field, Input, Select, cx } from "./ui";

/** What a labelled field takes: its words (the label, a hint, an error), its value and its test id. */
export interface FieldProps<V> {
  label: ReactNode;
  hint?: ReactNode;
  error?: string;
  value: V;
  onChange: (value: V) => void;
  testId?: string;
}

/** A text input in a labelled field; any other input attribute (type, maxLength…) goes through. */
export function TextField({
  label,
  hint,
  error,
  value,
  onChange,
  testId,
  ...input
}: Omit<InputHTMLAttributes<HTMLInputElement>, "id" | "value" | "onChange"> & FieldProps<string>) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(id, d) => (
        <Input id={id} aria-describedby={d} {...input} value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId} />
      )}
    </Field>
  );
}

/**
 * A <select> of `options`, each worded by `optionLabel`. `onChange` gets one of them, or
 * undefined for the "any" entry (shown when `anyLabel` is given) or an unknown value.
 */
export function ChoiceSelect<V extends string>({
  options,
  optionLabel,
  value,
  onChange,
  anyLabel,
  keepValue,
  testId,
  ...select
}: Omit<SelectHTMLAttributes<HTMLSelectElement>, "value" | "onChange"> & {
  options: readonly V[];
  optionLabel: (value: V) => string;
  /** What is chosen; a value not among the options (or "") chooses none of them, unless `keepValue`. */
  value: string;
  onChange: (value: V | undefined) => void;
  anyLabel?: string;
  /** A value the options lack stays an option, first: a deleted rule, a machine not listed yet. */
  keepValue?: boolean;
  testId?: string;
}) {
  const shown = keepValue && value && !options.some((o) => o === value) ? [value as V, ...options] : options;
  return (
    <Select {...select} value={value} onChange={(e) => onChange(shown.find((o) => o === e.target.value))} data-testid={testId}>
      {anyLabel !== undefined && <option value="">{anyLabel}</option>}
      {shown.map((o) => (
        <option key={o} value={o}>
          {optionLabel(o)}
        </option>
      ))}
    </Select>
  );
}

/** A ChoiceSelect in a labelled field. */
export function SelectField<V extends string>({
  label,
  hint,
  error,
  ...select
}: Parameters<typeof ChoiceSelect<V>>[0] & { label: ReactNode; hint?: ReactNode; error?: string }) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(id, d) => <ChoiceSelect id={id} aria-describedby={d} {...select} />}
    </Field>
  );
}

/** A severity picker in a labelled field (see ChoiceSelect for `onChange` and `anyLabel`). */
export function SeveritySelect<S extends string>(props: Omit<Parameters<typeof SelectField<S>>[0], "optionLabel">) {
  const { t } = useTranslation();
  return <SelectField {...props} optionLabel={(s) => t(`common.severity.${s}`)} />;
}

/** A checkbox with its label after it; `className` replaces the label's classes. */
export function Checkbox({
  checked,
  onChange,
  testId,
  className = "inline-flex items-center gap-2 text-sm",
  children,
}: {
  checked: boolean;
  onChange: (checked: boolean) => void;
  testId?: string;
  className?: string;
  children: ReactNode;
}) {
  return (
    <label className={className}>
      <input
        type="checkbox"
        className="h-4 w-4 accent-sky-600"
        checked={checked}
        onChange={(e) => onChange(e.target.checked)}
        data-testid={testId}
      />
      {children}
    </label>
  );
}

/** A header cell: `className` is added to the table's cell class, `cell` replaces it; `srOnly` hides the label but for screen readers. */
export interface Column {
  label: ReactNode;
  className?: string;
  cell?: string;
  srOnly?: boolean;
}

/** A table's columns: a plain one is just its label; `false` entries (a column only admins see) are skipped. */
export type Columns = (Column | string | false | null | undefined)[];

const HEAD = {
  /** Small capitals, no rule: the settings-like lists. */
  caps: { thead: "text-xs text-muted uppercase", tr: undefined, cell: "px-2 py-2" },
  /** Muted, ruled under: the wide data tables. */
  ruled: { thead: "text-xs text-muted", tr: "border-b border-slate-400/20", cell: "px-3 py-2 font-medium" },
  /** Ruled under, the text as the card's: tables inside a machine's cards. */
  plain: { thead: undefined, tr: "border-b border-slate-400/20", cell: "px-2 py-1.5 font-medium" },
};

/** Where a table of each header variant scrolls sideways, and the table's own classes. */
const FRAME: Record<keyof typeof HEAD, { wrap: string; table: string }> = {
  caps: { wrap: "relative overflow-x-auto", table: "w-full text-left text-sm" },
  ruled: { wrap: "-mx-4 overflow-x-auto sm:-mx-5", table: "w-full text-left text-sm" },
  plain: { wrap: "overflow-x-auto", table: "w-full text-sm" },
};

/**
 * A table in its sideways-scrolling frame, with its header row; the rows are the children.
 * `className` adds to the table's classes (a minimum width), `wrap` replaces the frame's.
 */
export function Table({
  variant,
  columns,
  cell,
  className,
  wrap,
  label,
  testId,
  children,
}: {
  variant: keyof typeof HEAD;
  columns: Columns;
  cell?: string;
  className?: string;
  wrap?: string;
  label?: string;
  testId?: string;
  children: ReactNode;
}) {
  const frame = FRAME[variant];
  return (
    <div className={wrap ?? frame.wrap}>
      <table className={cx(frame.table, className)} aria-label={label} data-testid={testId}>
        <TableHead variant={variant} columns={columns} cell={cell} />
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** A table's header row. */
export function TableHead({ columns, variant, cell }: { columns: Columns; variant: keyof typeof HEAD; cell?: string }) {
  const v = HEAD[variant];
  return (
    <thead className={v.thead}>
      <tr className={v.tr}>
        {columns.map((entry, i) => {
          if (!entry) return null;
          const c = typeof entry === "string" ? { label: entry } : entry;
          return (
            <th key={i} scope="col" className={c.cell ?? (c.className ? cx(cell ?? v.cell, c.className) : (cell ?? v.cell))}>
              {c.srOnly ? <span className="sr-only">{c.label}</span> : c.label}
            </th>
          );
        })}
      </tr>
    </thead>
  );
}

/** A number typed as text (a decimal comma is fine), with its unit after it. */
export function NumberField({
  label,
  unit,
  hint,
  error,
  value,
  onChange,
  testId,
  inputMode = "decimal",
  inputProps,
  plain,
}: FieldProps<string> & {
  unit?: string;
  inputMode?: "decimal" | "numeric";
  /** For a native number input: type, min, max, step. */
  inputProps?: Pick<InputHTMLAttributes<HTMLInputElement>, "type" | "min" | "max" | "step" | "placeholder">;
  /** The input alone, for a field that never shows a unit. */
  plain?: boolean;
}) {
  const input = (id: string, d: string | undefined) => (
    <Input
      id={id}
      aria-describedby={d}
      inputMode={inputMode}
      {...inputProps}
      value={value}
      onChange={(e) => onChange(e.target.value)}
      data-testid={testId}
    />
  );
  return (
    <Field label={label} hint={hint} error={error}>
      {(id, d) =>
        plain ? (
          input(id, d)
        ) : (
          <div className="flex items-center gap-2">
            {input(id, d)}
            {unit && (
              <span className="shrink-0 text-sm text-muted" aria-hidden="true">
                {unit}
              </span>
            )}
          </div>
        )
      }
    </Field>
  );
}
