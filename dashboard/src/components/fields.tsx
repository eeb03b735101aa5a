// Pieces repeated across the pages: a severity <select>, a table's header row and a number
// field. Same markup, classes and labels wherever they appear.
import type { InputHTMLAttributes, ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Field, Input, Select, cx } from "./ui";

/**
 * A severity picker in a labelled field. `onChange` gets one of `options`, or undefined for
 * the "any" entry (shown when `anyLabel` is given) or an unknown value.
 */
export function SeveritySelect<S extends string>({
  label,
  error,
  options,
  value,
  onChange,
  anyLabel,
  testId,
}: {
  label: ReactNode;
  error?: string;
  options: readonly S[];
  value: S | "";
  onChange: (value: S | undefined) => void;
  anyLabel?: string;
  testId?: string;
}) {
  const { t } = useTranslation();
  return (
    <Field label={label} error={error}>
      {(id, d) => (
        <Select
          id={id}
          aria-describedby={d}
          value={value}
          onChange={(e) => onChange(options.find((s) => s === e.target.value))}
          data-testid={testId}
        >
          {anyLabel !== undefined && <option value="">{anyLabel}</option>}
          {options.map((s) => (
            <option key={s} value={s}>
              {t(`common.severity.${s}`)}
            </option>
          ))}
        </Select>
      )}
    </Field>
  );
}

/** A header cell: `className` is added to the table's cell class, `cell` replaces it; `srOnly` hides the label but for screen readers. */
export interface Column {
  label: ReactNode;
  className?: string;
  cell?: string;
  srOnly?: boolean;
}

const HEAD = {
  /** Small capitals, no rule: the settings-like lists. */
  caps: { thead: "text-xs text-muted uppercase", tr: undefined, cell: "px-2 py-2" },
  /** Muted, ruled under: the wide data tables. */
  ruled: { thead: "text-xs text-muted", tr: "border-b border-slate-400/20", cell: "px-3 py-2 font-medium" },
  /** Ruled under, the text as the card's: tables inside a machine's cards. */
  plain: { thead: undefined, tr: "border-b border-slate-400/20", cell: "px-2 py-1.5 font-medium" },
};

/** A table's header row; `false` entries (a column only admins see) are skipped. */
export function TableHead({
  columns,
  variant,
  cell,
}: {
  columns: (Column | false | null | undefined)[];
  variant: keyof typeof HEAD;
  cell?: string;
}) {
  const v = HEAD[variant];
  return (
    <thead className={v.thead}>
      <tr className={v.tr}>
        {columns.map(
          (c, i) =>
            c && (
              <th key={i} scope="col" className={c.cell ?? (c.className ? cx(cell ?? v.cell, c.className) : (cell ?? v.cell))}>
                {c.srOnly ? <span className="sr-only">{c.label}</span> : c.label}
              </th>
            ),
        )}
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
}: {
  label: ReactNode;
  unit?: string;
  hint?: ReactNode;
  error?: string;
  value: string;
  onChange: (v: string) => void;
  testId?: string;
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
