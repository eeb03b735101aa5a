// Small helpers for the end-to-end run: a test list with a summary line, TOTP codes, a local
// webhook receiver, and API calls for set-up that is not the subject of a test.
import { createHmac } from "node:crypto";
import { createServer } from "node:http";

export function totp(secretB32, step) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secretB32.replace(/=+$/, "").toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${c}`);
    bits += v.toString(2).padStart(5, "0");
  }
  const bytes = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigInt64BE(BigInt(step));
  const mac = createHmac("sha1", bytes).update(counter).digest();
  const offset = mac[19] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, "0");
}

export const currentStep = () => Math.floor(Date.now() / 1000 / 30);

/** A webhook receiver on the loopback interface that records every request. */
export async function receiver() {
  const requests = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/hook`, requests, close: () => new Promise((r) => server.close(r)) };
}

/** API calls as a signed-in user, for set-up the browser test is not about. */
export async function apiSession(base, email, password) {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (!res.ok) throw new Error(`login ${res.status}: ${await res.text()}`);
  const body = await res.json();
  if (!body.access_token) throw new Error("login needs MFA");
  const call = async (method, path, json) => {
    const r = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${body.access_token}`, ...(json ? { "content-type": "application/json" } : {}) },
      body: json ? JSON.stringify(json) : undefined,
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path} ${r.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  };
  return call;
}

export function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

export async function runTests(tests, { onFailure } = {}) {
  let passed = 0;
  let failed = 0;
  for (const [name, fn] of tests) {
    const started = Date.now();
    try {
      await fn();
      passed++;
      console.log(`  ✓ ${name} (${Date.now() - started} ms)`);
    } catch (e) {
      failed++;
      console.log(
        `  ✗ ${name} (${Date.now() - started} ms)\n    ${String(e?.stack ?? e)
          .split("\n")
          .slice(0, 6)
          .join("\n    ")}`,
      );
      await onFailure?.(name).catch(() => {});
    }
  }
  console.log(`\n${passed} passed, ${failed} failed`);
  return failed === 0;
}
