// Every key=value label in use across an organisation's machines, for the labels overview.

export interface LabelledMachine {
  labels?: Record<string, string>;
  agent_labels?: Record<string, string>;
}

export interface LabelUse {
  key: string;
  value: string;
  /** Machines carrying this pair. */
  count: number;
  /** Of those, machines where the agent declares it (not editable in the dashboard). */
  fromAgent: number;
}

/** The labels a machine is selected by: the admin's, with the agent's own taking precedence. */
export function effectiveLabels(m: LabelledMachine): Record<string, string> {
  return { ...(m.labels ?? {}), ...(m.agent_labels ?? {}) };
}

/** Pairs in use, by key then value; each machine counted once per pair. */
export function collectLabels(machines: LabelledMachine[]): LabelUse[] {
  const uses = new Map<string, LabelUse>();
  for (const m of machines) {
    const agent = m.agent_labels ?? {};
    for (const [key, value] of Object.entries(effectiveLabels(m))) {
      const id = `${key}\u0000${value}`;
      let use = uses.get(id);
      if (!use) {
        use = { key, value, count: 0, fromAgent: 0 };
        uses.set(id, use);
      }
      use.count++;
      if (agent[key] === value) use.fromAgent++;
    }
  }
  return [...uses.values()].sort((a, b) => cmp(a.key, b.key) || cmp(a.value, b.value));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `key=value` as a selector requirement (an empty value is `key=`). */
export function labelSelector(key: string, value: string): string {
  return `${key}=${value}`;
}

/** The fleet page filtered to the machines with this label. */
export function fleetLinkFor(key: string, value: string): string {
  return `/?selector=${encodeURIComponent(labelSelector(key, value))}`;
}
