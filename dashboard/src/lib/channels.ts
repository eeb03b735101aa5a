// Notification channels without React: the form's state to the `config` JSON and back.
// Mirrors crates/server/src/notify/config.rs: the API shows secrets masked ("set", URLs cut
// to "https://host/…"); sent back unchanged, or left out, they keep the stored secret.
import { allNames, type AlertSeverity, type Channel, type ChannelKind, type RuleKind } from "../api/types";
import { RULE_KINDS } from "./rules";

export const CHANNEL_KINDS = allNames<ChannelKind>({ webhook: true, slack: true, discord: true, teams: true, email: true });
/** What an alert is about: a rule's kind. */
export const ALERT_KINDS = RULE_KINDS;
export const SMTP_SECURITY = ["starttls", "tls", "none"] as const;
export type SmtpSecurity = (typeof SMTP_SECURITY)[number];

/** The port each security mode uses when none is given. */
export const DEFAULT_PORTS: Record<SmtpSecurity, number> = { starttls: 587, tls: 465, none: 25 };

export const WEBHOOK_SECRET_MIN = 16;

/** A value the API shows in place of a secret. */
export function isMasked(value: unknown): boolean {
  return typeof value === "string" && (value === "set" || value.endsWith("/…"));
}

export interface ChannelForm {
  name: string;
  kind: ChannelKind;
  minSeverity: AlertSeverity;
  alertKinds: string[];
  url: string;
  secret: string;
  host: string;
  port: string;
  security: SmtpSecurity;
  username: string;
  password: string;
  from: string;
  to: string;
  acceptInvalidCerts: boolean;
}

export function newChannelForm(kind: ChannelKind = "webhook"): ChannelForm {
  return {
    name: "",
    kind,
    minSeverity: "info",
    alertKinds: [],
    url: "",
    secret: "",
    host: "",
    port: "",
    security: "starttls",
    username: "",
    password: "",
    from: "",
    to: "",
    acceptInvalidCerts: false,
  };
}

function str(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
}

/** An existing channel in the form. Secrets the API masked stay out of the inputs: left
 * empty they are left out of the update, which keeps them. The masked URL stays as shown. */
export function channelToForm(c: Channel): ChannelForm {
  const cfg = (c.config ?? {}) as Record<string, unknown>;
  const security = SMTP_SECURITY.find((s) => s === cfg.tls) ?? "starttls";
  const to = Array.isArray(cfg.to) ? cfg.to.map(str).filter(Boolean) : str(cfg.to) ? [str(cfg.to)] : [];
  return {
    ...newChannelForm(c.kind),
    name: c.name,
    minSeverity: c.min_severity,
    alertKinds: [...c.alert_kinds],
    url: str(cfg.url),
    secret: isMasked(cfg.secret) ? "" : str(cfg.secret),
    host: str(cfg.host),
    port: cfg.port === undefined || cfg.port === null ? "" : str(cfg.port),
    security,
    username: str(cfg.username),
    password: isMasked(cfg.password) ? "" : str(cfg.password),
    from: str(cfg.from),
    to: to.join(", "),
    acceptInvalidCerts: cfg.accept_invalid_certs === true,
  };
}

/** Whether the stored channel has this secret (shown masked). */
export function hasStoredSecret(c: Channel | null | undefined, field: "secret" | "password" | "url"): boolean {
  const cfg = (c?.config ?? {}) as Record<string, unknown>;
  return isMasked(cfg[field]);
}

/** "a@x.org, b@y.org; c@z.org" or one per line → the addresses. */
export function parseRecipients(text: string): string[] {
  return text
    .split(/[,;\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Field (as the server names it, "config.to[1]") → message key. */
export type FormErrors = Record<string, string>;

/** The `config` object for the form. Editing, empty secrets are left out (kept). */
export function buildConfig(f: ChannelForm, editing: boolean): { config: Record<string, unknown>; errors: FormErrors } {
  const errors: FormErrors = {};
  const config: Record<string, unknown> = {};
  const required = (field: string, value: string) => {
    if (!value.trim()) errors[`config.${field}`] = "channels.error.required";
    return value.trim();
  };
  const secretField = (field: "secret" | "password", value: string) => {
    if (value !== "") config[field] = value;
  };
  switch (f.kind) {
    case "webhook":
      config.url = required("url", f.url);
      if (!editing || f.secret !== "") {
        if (f.secret.length < WEBHOOK_SECRET_MIN) errors["config.secret"] = "channels.error.secretLength";
      }
      secretField("secret", f.secret);
      break;
    case "slack":
    case "discord":
    case "teams":
      config.url = required("url", f.url);
      break;
    case "email": {
      config.host = required("host", f.host);
      const port = f.port.trim();
      if (port) {
        const n = Number(port);
        if (!Number.isInteger(n) || n < 1 || n > 65_535) errors["config.port"] = "channels.error.port";
        else config.port = n;
      }
      config.tls = f.security;
      if (f.username.trim()) config.username = f.username.trim();
      secretField("password", f.password);
      config.from = required("from", f.from);
      const to = parseRecipients(f.to);
      if (to.length === 0) errors["config.to"] = "channels.error.recipients";
      config.to = to;
      config.accept_invalid_certs = f.acceptInvalidCerts;
      break;
    }
  }
  return { config, errors };
}

export interface CreateChannelBody {
  name: string;
  kind: ChannelKind;
  config: Record<string, unknown>;
  min_severity: AlertSeverity;
  alert_kinds: RuleKind[];
}

export type UpdateChannelBody = Omit<CreateChannelBody, "kind">;

/** The request body: a POST's when creating, a PATCH's (the kind cannot change) when editing. */
export function buildChannelBody(f: ChannelForm, editing: false): { body: CreateChannelBody; errors: FormErrors };
export function buildChannelBody(f: ChannelForm, editing: true): { body: UpdateChannelBody; errors: FormErrors };
export function buildChannelBody(f: ChannelForm, editing: boolean): { body: CreateChannelBody | UpdateChannelBody; errors: FormErrors } {
  const { config, errors } = buildConfig(f, editing);
  const name = f.name.trim();
  if (!name) errors.name = "channels.error.required";
  const common = {
    name,
    config,
    min_severity: f.minSeverity,
    alert_kinds: ALERT_KINDS.filter((k) => f.alertKinds.includes(k)),
  };
  return { body: editing ? common : { ...common, kind: f.kind }, errors };
}

/** The form field a server error names: "config.to[1]" → "to", "name" → "name". */
export function channelFieldOf(field: string | null | undefined): string | null {
  if (!field) return null;
  return field.replace(/^config\./, "").replace(/\[\d+\]$/, "");
}

/** A signing secret for a webhook created without one: 32 hex digits. */
export function randomSecret(bytes = 16): string {
  const b = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Where a channel sends, in short: the URL's host or the recipients and relay. */
export function channelTarget(c: Channel): string {
  const cfg = (c.config ?? {}) as Record<string, unknown>;
  if (c.kind === "email") {
    const to = Array.isArray(cfg.to) ? cfg.to.map(str).join(", ") : str(cfg.to);
    const host = str(cfg.host);
    const port = str(cfg.port);
    return [to, host && `${host}${port ? `:${port}` : ""}`].filter(Boolean).join(" · ");
  }
  return str(cfg.url);
}
