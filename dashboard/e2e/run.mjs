// End-to-end tests of the dashboard in Debian's Chromium against a real server and agent
// (started by `cargo xtask e2e` / `cargo xtask test`, which pass their address here).
// Screenshots of every main screen go to test-results/screenshots/.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { apiSession, assert, currentStep, receiver, runTests, totp } from "./lib.mjs";

const BASE = process.env.E2E_BASE_URL;
const EMAIL = process.env.E2E_ADMIN_EMAIL;
const PASSWORD = process.env.E2E_ADMIN_PASSWORD;
const EXECUTABLE = process.env.E2E_CHROMIUM ?? "/usr/bin/chromium";
// The agent binary (for a second machine) and the version of the signed release the server holds.
const AGENT_BIN = process.env.E2E_AGENT_BIN;
const NEXT_VERSION = process.env.E2E_NEXT_VERSION;
if (!BASE || !EMAIL || !PASSWORD || !AGENT_BIN || !NEXT_VERSION) {
  console.error(
    "E2E_BASE_URL, E2E_ADMIN_EMAIL, E2E_ADMIN_PASSWORD, E2E_AGENT_BIN and E2E_NEXT_VERSION are needed (cargo xtask e2e sets them)",
  );
  process.exit(2);
}
// Evaluated through the DevTools protocol, which the page's CSP (scripts from 'self' only) does not cover.
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const SHOTS = new URL("../test-results/screenshots/", import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: EXECUTABLE,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: "en-GB" });
const page = await context.newPage();
page.setDefaultTimeout(15_000);
const consoleErrors = [];
page.on("pageerror", (e) => consoleErrors.push(String(e)));

/** Every spinner in the page gone (the live stream keeps the network busy for good). */
const settled = async (p) => {
  await p.waitForFunction(() => document.querySelectorAll("main .animate-spin").length === 0);
  await p.waitForTimeout(200);
};
const shot = (name, p = page) => p.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
const state = { machineId: null, mfaSecret: null, recovery: [], hook: await receiver() };

/** An API call with the browser's session (the admin has MFA once that test ran). */
const browserApi = (method, path, body) =>
  page.evaluate(
    async ([method, path, body]) => {
      const r = await fetch("/api/v1/auth/refresh", { method: "POST" });
      const { access_token } = await r.json();
      const res = await fetch(`/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${access_token}`, "content-type": "application/json" },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: await res.json().catch(() => null) };
    },
    [method, path, body],
  );

/** Enrolls a second machine with a real agent that reports once or twice, then falls silent. */
async function silentMachine() {
  const key = await browserApi("POST", "/enroll-keys", { max_uses: 1 });
  assert(key.status === 201, `an enrollment key: ${JSON.stringify(key)}`);
  const before = (await browserApi("GET", "/machines?limit=100")).body.machines.length;
  const dir = mkdtempSync(join(tmpdir(), "optralis-e2e-silent-"));
  const agent = spawn(AGENT_BIN, ["run", "--server", BASE, "--interval", "2s", "--enroll-key", key.body.secret, "--state-dir", dir], {
    stdio: "ignore",
    env: { ...process.env, RUST_LOG: "warn" },
  });
  try {
    for (let i = 0; i < 60; i++) {
      const now = (await browserApi("GET", "/machines?limit=100")).body.machines;
      if (now.length > before && now.some((m) => m.facts?.agent_version)) return;
      await page.waitForTimeout(500);
    }
    throw new Error("the second agent did not enroll within 30 s");
  } finally {
    agent.kill("SIGTERM");
    await new Promise((r) => (agent.exitCode !== null ? r() : agent.once("exit", r)));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function signIn(p, email, password, code) {
  await p.getByLabel("Email").fill(email);
  await p.getByLabel("Password").fill(password);
  await p.getByRole("button", { name: "Sign in" }).click();
  if (code) {
    await p.getByLabel("Code").fill(code);
    await p.getByRole("button", { name: "Verify" }).click();
  }
}

const tests = [
  [
    "an anonymous visit goes to the login page",
    async () => {
      await page.goto(BASE);
      await page.waitForURL(/\/login/);
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      await shot("01-login");
    },
  ],
  [
    "the admin signs in and sees this machine report live",
    async () => {
      await signIn(page, EMAIL, PASSWORD);
      await page.waitForURL((u) => u.pathname === "/");
      const card = page.getByTestId("machine-card").first();
      await card.waitFor({ timeout: 30_000 });
      await page.getByText("Live", { exact: true }).waitFor();
      const href = await card.getAttribute("href");
      state.machineId = decodeURIComponent(href.split("/").pop());
      await shot("02-fleet");
    },
  ],
  [
    "the machine page draws its charts and follows new reports",
    async () => {
      await page.goto(`${BASE}/machines/${encodeURIComponent(state.machineId)}`);
      const chart = page.getByTestId("chart-cpu");
      await chart.locator("canvas").waitFor({ timeout: 20_000 });
      // The canvas has drawn pixels (a line), not just an empty frame.
      const drawn = async () =>
        chart.locator("canvas").evaluate((c) => {
          const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
          return n;
        });
      await page.waitForFunction(() => true);
      let pixels = 0;
      for (let i = 0; i < 40 && pixels < 50; i++) {
        pixels = await drawn();
        if (pixels < 50) await page.waitForTimeout(500);
      }
      assert(pixels >= 50, `the CPU chart drew ${pixels} pixels`);
      await page.getByTestId("chart-memory").locator("canvas").waitFor();
      await page.getByTestId("events").waitFor();
      // The agent's (stand-in) smartctl reports one drive with pending sectors.
      const disk = page.getByTestId("disk-/dev/sda");
      await disk.getByText("Warning").first().waitFor({ timeout: 20_000 });
      await disk.getByText("History (30 days)").click();
      await disk.getByTestId("disk-history-temperature").locator("canvas").waitFor();
      await disk.getByRole("button", { name: "Acknowledge", exact: true }).click();
      await disk.getByRole("button", { name: "Withdraw acknowledgement" }).waitFor();
      await shot("03-machine");
    },
  ],
  [
    "the admin turns MFA on with the QR code's secret and gets recovery codes",
    async () => {
      await page.goto(`${BASE}/profile`);
      await page.getByTestId("mfa-setup").click();
      await page.getByTestId("mfa-qr").waitFor();
      state.mfaSecret = (await page.getByTestId("mfa-secret").locator("pre").innerText()).replace(/\s+/g, "");
      await page.getByTestId("mfa-code").fill(totp(state.mfaSecret, currentStep()));
      await page.getByTestId("mfa-confirm").click();
      const codes = page.getByTestId("recovery-codes");
      await codes.waitFor();
      state.recovery = (await codes.locator("li").allTextContents()).map((c) => c.trim());
      assert(state.recovery.length >= 5, `recovery codes shown: ${state.recovery.join(" ")}`);
      await shot("04-profile-mfa");
    },
  ],
  [
    "signing in again asks for the second factor",
    async () => {
      await page.getByRole("button", { name: "Sign out", exact: true }).click();
      await page.waitForURL(/\/login/);
      // The next step's code: the server takes one step of drift and refuses a step twice.
      await signIn(page, EMAIL, PASSWORD, totp(state.mfaSecret, currentStep() + 1));
      await page.waitForURL((u) => u.pathname === "/");
      await page.getByTestId("machine-card").first().waitFor();
    },
  ],
  [
    "an expired session returns to login, then to the same page",
    async () => {
      const target = `/machines/${encodeURIComponent(state.machineId)}`;
      await page.goto(BASE + target);
      await page.getByTestId("chart-cpu").waitFor();
      await context.clearCookies();
      await page.reload();
      await page.waitForURL(/\/login\?next=/);
      await signIn(page, EMAIL, PASSWORD, state.recovery[0]);
      await page.waitForURL((u) => u.pathname === target);
      await page.getByTestId("chart-cpu").waitFor();
    },
  ],
  [
    "the admin creates a group and a label, then filters the fleet by selector and group",
    async () => {
      await page.goto(`${BASE}/groups`);
      await page.getByTestId("group-new").click();
      const dialog = page.getByRole("dialog");
      await dialog.getByLabel("Name").fill("E2E web");
      await dialog.getByLabel("Description").fill("Made by the browser test");
      await dialog.getByRole("button", { name: "Create" }).click();
      await page.getByText("E2E web").first().waitFor();
      await shot("05-groups");

      await page.goto(`${BASE}/machines/${encodeURIComponent(state.machineId)}`);
      const box = page.getByTestId("machine-groups");
      await box.getByRole("button", { name: "Edit groups" }).click();
      await box.getByLabel("E2E web").check();
      await box.getByRole("button", { name: "Save" }).click();
      await box.getByText("E2E web").waitFor();
      await box.getByLabel("Key").fill("env");
      await box.getByLabel("Value").fill("e2e");
      await box.getByRole("button", { name: "Add label" }).click();
      await box.getByText("env=e2e").waitFor();

      await page.goto(`${BASE}/?selector=${encodeURIComponent("env=e2e")}`);
      await page.getByTestId("machine-card").first().waitFor();
      assert((await page.getByTestId("machine-card").count()) === 1, "one machine has env=e2e");
      await page.getByTestId("fleet-selector").fill("env=other");
      await page.getByText("No machine matches these filters").waitFor();
      await page.getByTestId("fleet-selector").fill("");
      await page.getByTestId("fleet-group").selectOption({ label: "E2E web (1)" });
      await page.getByTestId("machine-card").first().waitFor();
      assert((await page.getByTestId("machine-card").count()) === 1, "one machine in the group");
      await page.getByRole("tab", { name: "Table" }).click();
      await page.getByTestId("machine-row").first().waitFor();
      await shot("06-fleet-table");
    },
  ],
  [
    "the admin adds a webhook channel and sends a test to a local receiver",
    async () => {
      await page.goto(`${BASE}/channels`);
      await page.getByTestId("channel-new").click();
      const dialog = page.getByRole("dialog");
      await dialog.getByLabel("Name").fill("E2E hook");
      await dialog.getByTestId("channel-kind").selectOption("webhook");
      await dialog.getByLabel("URL").fill(state.hook.url);
      await dialog.getByRole("button", { name: "Save" }).click();
      await page.getByText("E2E hook").first().waitFor();
      await page.getByRole("button", { name: "Send test" }).first().click();
      await page.getByTestId("channel-test-result").getByText("Delivered").waitFor({ timeout: 20_000 });
      const got = state.hook.requests.find((r) => r.method === "POST");
      assert(got, "the receiver got a POST");
      const body = JSON.parse(got.body);
      assert(body.event === "test" || JSON.stringify(body).includes("test"), `a test message: ${got.body.slice(0, 200)}`);
      await shot("07-channels");
    },
  ],
  [
    "alerts, rules, enrollment, users and audit screens open",
    async () => {
      for (const [path, name, testid] of [
        ["/alerts", "08-alerts", null],
        ["/rules", "09-rules", "rule-new"],
        ["/enroll", "10-enroll", null],
        ["/users", "11-users", null],
        ["/audit", "12-audit", null],
      ]) {
        await page.goto(BASE + path);
        await page.locator("main h1").waitFor();
        if (testid) await page.getByTestId(testid).waitFor();
        await settled(page);
        if (path === "/enroll") {
          // A single-use key that expires in a day: the list shows both.
          await page.getByTestId("enroll-key-uses").selectOption("single");
          await page.getByTestId("enroll-key-expiry").selectOption("day");
          await page.getByTestId("enroll-key-create").click();
          const secret = (await page.getByTestId("enroll-secret-value").locator("pre").innerText()).trim();
          const linux = await page.getByTestId("enroll-cmd-linux").innerText();
          assert(linux.includes(secret) && linux.includes(`--server`), `the Linux command carries the new key: ${linux}`);
          assert((await page.getByTestId("enroll-cmd-windows").innerText()).includes(secret), "the Windows command carries the new key");
          const windowsOneLine = await page.getByTestId("enroll-cmd-windows-oneline").innerText();
          assert(
            windowsOneLine.includes(`${BASE}/install.ps1`) && windowsOneLine.includes(secret),
            `the PowerShell one-line install names this server and the key: ${windowsOneLine}`,
          );
          const oneLine = await page.getByTestId("enroll-cmd-oneline").innerText();
          assert(
            oneLine.includes(`${BASE}/install.sh`) && oneLine.includes(secret),
            `the one-line install names this server and the key: ${oneLine}`,
          );
          await page.getByTestId("enroll-key-uses-count").filter({ hasText: "0 of 1" }).first().waitFor();
          await page.getByTestId("enroll-key-row").filter({ hasText: "Expires" }).first().waitFor();
        }
        await shot(name);
      }
    },
  ],
  [
    "the admin rolls out a signed release: the agent updates itself, a silent machine waits, pause, resume, cancel",
    async () => {
      await silentMachine();
      await page.goto(`${BASE}/updates`);
      await page.getByTestId("release-row").filter({ hasText: NEXT_VERSION }).waitFor();
      await page.getByTestId("agent-version").first().waitFor();
      await page.getByTestId("rollout-new").click();
      const dialog = page.getByRole("dialog");
      assert((await dialog.getByTestId("rollout-version").inputValue()) === NEXT_VERSION, "the newest release is proposed");
      // No canary: both machines are offered at once; the silent one never answers.
      await dialog.getByTestId("rollout-canary").fill("0");
      await dialog.getByTestId("rollout-start").click();
      await dialog.waitFor({ state: "detached" });
      const machines = page.getByTestId("rollout-machine");
      const updated = machines.filter({ has: page.getByTestId("rollout-machine-state").getByText("Healthy") });
      await updated.first().waitFor({ timeout: 90_000 });
      await updated.getByTestId("rollout-machine-version").getByText(NEXT_VERSION).waitFor({ timeout: 20_000 });
      await machines
        .filter({ has: page.getByTestId("rollout-machine-state").getByText("Waiting") })
        .first()
        .waitFor();
      const row = page.getByTestId("rollout-row").first();
      await row.getByTestId("progress-healthy").getByText("Healthy: 1").waitFor();
      await row.getByTestId("progress-waiting").getByText("Waiting: 1").waitFor();
      await page.getByTestId("agent-version").filter({ hasText: NEXT_VERSION }).waitFor();
      await shot("18-updates");

      const state = row.getByTestId("rollout-state");
      await row.getByTestId("rollout-pause").click();
      await state.getByText("Paused").waitFor();
      await row.getByTestId("rollout-resume").click();
      await state.getByText("Running").waitFor();
      page.once("dialog", (d) => void d.accept());
      await row.getByTestId("rollout-cancel").click();
      await state.getByText("Cancelled").waitFor();
      assert((await row.getByTestId("rollout-pause").count()) === 0, "a cancelled rollout has no actions");
      assert(/cancelled by/.test(await row.innerText()), "the row says who cancelled");
    },
  ],
  [
    "the interface switches to French",
    async () => {
      await page.goto(BASE);
      await page.getByTestId("language").selectOption("fr");
      await page.getByRole("heading", { name: "Parc" }).waitFor();
      await page.getByRole("link", { name: "Alertes" }).waitFor();
      assert((await page.locator("html").getAttribute("lang")) === "fr", "html lang is fr");
      await shot("13-fleet-fr");
      await page.getByTestId("language").selectOption("en");
      await page.getByRole("heading", { name: "Fleet" }).waitFor();
    },
  ],
  [
    "dark theme and phone width",
    async () => {
      await page.getByTestId("theme").click();
      assert(await page.locator("html.dark").count(), "dark class set");
      await shot("14-fleet-dark");
      await page.setViewportSize({ width: 375, height: 812 });
      await page.goto(`${BASE}/machines/${encodeURIComponent(state.machineId)}`);
      await page.getByTestId("chart-cpu").waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert(overflow <= 1, `no sideways scrolling at phone width (overflow ${overflow} px)`);
      await shot("15-machine-phone");
      await page.getByTestId("theme").click();
      await page.setViewportSize({ width: 1366, height: 900 });
    },
  ],
  [
    "main screens have no serious accessibility violations (axe-core, WCAG 2 A/AA), light and dark",
    async () => {
      const found = [];
      for (const theme of ["light", "dark"]) {
        await page.evaluate((t) => localStorage.setItem("optralis.theme", t), theme);
        for (const path of [
          "/",
          `/machines/${encodeURIComponent(state.machineId)}`,
          "/alerts",
          "/rules",
          "/channels",
          "/groups",
          "/updates",
          "/enroll",
          "/users",
          "/audit",
          "/profile",
          "/orgs",
        ]) {
          await page.goto(BASE + path);
          await page.locator("main h1").waitFor();
          await settled(page);
          await page.evaluate(AXE);
          const violations = await page.evaluate(async () => {
            const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } });
            return r.violations
              .filter((v) => v.impact === "serious" || v.impact === "critical")
              .map(
                (v) =>
                  `${v.id} (${v.nodes.length}): ${v.nodes
                    .slice(0, 3)
                    .map((n) => n.target.join(" "))
                    .join(" | ")}`,
              );
          });
          for (const v of violations) found.push(`${theme} ${path}: ${v}`);
        }
      }
      await page.evaluate(() => localStorage.setItem("optralis.theme", "light"));
      assert(found.length === 0, found.join("\n"));
    },
  ],
  [
    "an observer finds no edit controls",
    async () => {
      const call = await apiSession(BASE, EMAIL, PASSWORD).catch(() => null);
      // The admin has MFA now: make the observer with the browser's session instead.
      const made = await page.evaluate(async () => {
        const r = await fetch("/api/v1/auth/refresh", { method: "POST" });
        const { access_token } = await r.json();
        const h = { authorization: `Bearer ${access_token}`, "content-type": "application/json" };
        const u = await fetch("/api/v1/users", {
          method: "POST",
          headers: h,
          body: JSON.stringify({ email: "observer@e2e.test", role: "observer" }),
        });
        return u.json();
      });
      assert(call === null, "admin password login alone is refused once MFA is on");
      assert(made.link?.token, `an invitation link: ${JSON.stringify(made)}`);
      const obs = await browser.newContext({ viewport: { width: 1366, height: 900 } });
      const p = await obs.newPage();
      p.setDefaultTimeout(15_000);
      await p.goto(`${BASE}/set-password?token=${encodeURIComponent(made.link.token)}`);
      await p.getByLabel("New password").fill("quiet-meadow-lantern-7");
      await p.getByLabel("Repeat the password").fill("quiet-meadow-lantern-7");
      await p.getByRole("button", { name: "Save" }).click();
      await p.getByRole("button", { name: "Sign in" }).click();
      await signIn(p, "observer@e2e.test", "quiet-meadow-lantern-7");
      await p.getByTestId("read-only").waitFor();
      await p.getByTestId("machine-card").first().waitFor();
      for (const path of ["/groups", "/channels", "/rules", "/alerts", "/updates", `/machines/${encodeURIComponent(state.machineId)}`]) {
        await p.goto(BASE + path);
        await p.locator("main h1").waitFor();
        await settled(p);
        for (const testid of ["group-new", "channel-new", "rule-new", "rollout-new", "rollout-pause", "rollout-cancel"]) {
          assert((await p.getByTestId(testid).count()) === 0, `${path}: no ${testid}`);
        }
        for (const name of [/^(Edit|Delete|Create|Add|Acknowledge|Silence|Send test|Edit groups|Add label)\b/]) {
          const n = await p.locator("main").getByRole("button", { name }).count();
          assert(n === 0, `${path}: ${n} edit buttons for an observer`);
        }
      }
      assert((await p.getByRole("link", { name: "Users" }).count()) === 0, "no Users link for an observer");
      await shot("16-observer-machine", p);

      // Another organisation adds this existing account: it joins only if it accepts, and an
      // account whose password was set through a link an admin was shown (this one: the server
      // sends no mail here) cannot accept; it can decline.
      const invited = await page.evaluate(async () => {
        const r = await fetch("/api/v1/auth/refresh", { method: "POST" });
        const { access_token } = await r.json();
        const h = { authorization: `Bearer ${access_token}`, "content-type": "application/json" };
        const org = await (
          await fetch("/api/v1/orgs", { method: "POST", headers: h, body: JSON.stringify({ name: "second-e2e" }) })
        ).json();
        const u = await fetch("/api/v1/users", {
          method: "POST",
          headers: { ...h, "x-optralis-org": org.id },
          body: JSON.stringify({ email: "observer@e2e.test", role: "observer" }),
        });
        return { status: u.status, body: await u.json() };
      });
      assert(invited.status === 201 && !invited.body.link, `invited without a link: ${JSON.stringify(invited)}`);
      await p.reload();
      await p.getByTestId("invitation").waitFor();
      await p.getByTestId("invitation-accept").click();
      await p.getByTestId("invitation").getByRole("alert").waitFor();
      const refusal = await p.getByTestId("invitation").getByRole("alert").textContent();
      assert(/not verified/.test(refusal ?? ""), `accepting is refused: ${refusal}`);
      await shot("17-invitation", p);
      await p.getByTestId("invitation-decline").click();
      await p.getByTestId("invitation").waitFor({ state: "detached" });
      assert((await p.getByTestId("org-switcher").count()) === 0, "declined: still one organisation");
      await obs.close();
    },
  ],
  [
    "no script error in the page",
    async () => {
      assert(consoleErrors.length === 0, consoleErrors.join("\n"));
    },
  ],
];

const ok = await runTests(tests, {
  onFailure: async (name) => {
    const pages = browser.contexts().flatMap((c) => c.pages());
    for (const [i, p] of pages.entries()) await shot(`failed-${name.replace(/\W+/g, "-").slice(0, 60)}-${i}`, p);
  },
});
await state.hook.close();
await browser.close();
process.exit(ok ? 0 : 1);
