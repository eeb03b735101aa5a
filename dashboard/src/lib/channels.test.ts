import { describe, expect, it } from "vitest";
import type { Channel } from "../api/types";
import {
  buildChannelBody,
  buildConfig,
  channelFieldOf,
  channelTarget,
  channelToForm,
  isMasked,
  newChannelForm,
  parseRecipients,
  randomSecret,
} from "./channels";

const cfg = (o: Record<string, unknown>) => o as unknown as Channel["config"];

const email: Channel = {
  id: "c1",
  name: "Ops mail",
  kind: "email",
  config: cfg({
    host: "smtp.example.org",
    port: 587,
    tls: "starttls",
    username: "ops",
    password: "set",
    from: "optralis@example.org",
    to: ["a@example.org", "b@example.org"],
    accept_invalid_certs: false,
  }),
  min_severity: "warning",
  alert_kinds: ["metric"],
  enabled: true,
  created_ms: 0,
};

const slack: Channel = {
  ...email,
  id: "c2",
  name: "Slack",
  kind: "slack",
  config: cfg({ url: "https://hooks.slack.com/…" }),
  alert_kinds: [],
};

describe("recipients", () => {
  it("splits on commas, semicolons and lines", () => {
    expect(parseRecipients("a@x.org, b@y.org;c@z.org\n d@w.org ,,")).toEqual(["a@x.org", "b@y.org", "c@z.org", "d@w.org"]);
    expect(parseRecipients("  ")).toEqual([]);
  });
});

describe("channel config", () => {
  it("builds an email config", () => {
    const f = {
      ...newChannelForm("email"),
      name: "Mail",
      host: " smtp.x ",
      port: "465",
      security: "tls" as const,
      username: "u",
      password: "p",
      from: "o@x.org",
      to: "a@x.org, b@x.org",
      acceptInvalidCerts: true,
    };
    expect(buildConfig(f, false)).toEqual({
      config: {
        host: "smtp.x",
        port: 465,
        tls: "tls",
        username: "u",
        password: "p",
        from: "o@x.org",
        to: ["a@x.org", "b@x.org"],
        accept_invalid_certs: true,
      },
      errors: {},
    });
  });

  it("leaves out an empty port, username and password", () => {
    const f = { ...newChannelForm("email"), host: "smtp.x", from: "o@x.org", to: "a@x.org" };
    expect(buildConfig(f, false).config).toEqual({
      host: "smtp.x",
      tls: "starttls",
      from: "o@x.org",
      to: ["a@x.org"],
      accept_invalid_certs: false,
    });
  });

  it("checks what the form can check", () => {
    const { errors } = buildConfig({ ...newChannelForm("email"), port: "70000" }, false);
    expect(errors).toEqual({
      "config.host": "channels.error.required",
      "config.port": "channels.error.port",
      "config.from": "channels.error.required",
      "config.to": "channels.error.recipients",
    });
    expect(buildConfig({ ...newChannelForm("webhook"), url: "https://x", secret: "short" }, false).errors).toEqual({
      "config.secret": "channels.error.secretLength",
    });
  });

  it("round-trips an email channel, keeping the masked password by leaving it out", () => {
    const form = channelToForm(email);
    expect(form.password).toBe("");
    expect(form.to).toBe("a@example.org, b@example.org");
    const { body, errors } = buildChannelBody(form, true);
    expect(errors).toEqual({});
    expect(body).toEqual({
      name: "Ops mail",
      min_severity: "warning",
      alert_kinds: ["metric"],
      config: {
        host: "smtp.example.org",
        port: 587,
        tls: "starttls",
        username: "ops",
        from: "optralis@example.org",
        to: ["a@example.org", "b@example.org"],
        accept_invalid_certs: false,
      },
    });
    expect("password" in body.config).toBe(false);
  });

  it("sends a masked URL back as it was shown (the server keeps the secret one)", () => {
    const form = channelToForm(slack);
    expect(form.url).toBe("https://hooks.slack.com/…");
    expect(buildChannelBody(form, true).body.config).toEqual({ url: "https://hooks.slack.com/…" });
  });

  it("keeps a webhook's secret unless a new one is typed", () => {
    const hook: Channel = { ...slack, kind: "webhook", config: cfg({ url: "https://h.example/…", secret: "set" }) };
    const form = channelToForm(hook);
    expect(form.secret).toBe("");
    const kept = buildChannelBody(form, true);
    expect(kept.errors).toEqual({});
    expect(kept.body.config).toEqual({ url: "https://h.example/…" });
    const changed = buildChannelBody({ ...form, secret: "0123456789abcdef" }, true);
    expect(changed.body.config).toEqual({ url: "https://h.example/…", secret: "0123456789abcdef" });
  });

  it("creates with the kind; alert kinds in their usual order", () => {
    const f = { ...newChannelForm("discord"), name: " D ", url: "https://discord.com/api/webhooks/1/x", alertKinds: ["disk", "metric"] };
    expect(buildChannelBody(f, false)).toEqual({
      body: {
        name: "D",
        kind: "discord",
        config: { url: "https://discord.com/api/webhooks/1/x" },
        min_severity: "info",
        alert_kinds: ["metric", "disk"],
      },
      errors: {},
    });
    expect(buildChannelBody({ ...f, name: "" }, false).errors).toEqual({ name: "channels.error.required" });
  });
});

describe("helpers", () => {
  it("recognises masks", () => {
    expect(isMasked("set")).toBe(true);
    expect(isMasked("https://hooks.slack.com/…")).toBe(true);
    expect(isMasked("https://hooks.slack.com/services/x")).toBe(false);
    expect(isMasked(undefined)).toBe(false);
  });
  it("maps server fields to form fields", () => {
    expect(channelFieldOf("config.to[1]")).toBe("to");
    expect(channelFieldOf("config.url")).toBe("url");
    expect(channelFieldOf("name")).toBe("name");
  });
  it("makes long enough secrets", () => {
    const s = randomSecret();
    expect(s).toMatch(/^[0-9a-f]{32}$/);
    expect(randomSecret()).not.toBe(s);
  });
  it("sums up the target", () => {
    expect(channelTarget(email)).toBe("a@example.org, b@example.org · smtp.example.org:587");
    expect(channelTarget(slack)).toBe("https://hooks.slack.com/…");
  });
});
