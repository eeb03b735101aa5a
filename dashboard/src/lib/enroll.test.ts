import { describe, expect, it } from "vitest";
import { installCommands, psQuote, shQuote } from "./enroll";

describe("shQuote", () => {
  it("leaves plain words bare", () => {
    expect(shQuote("https://optralis.example.com:8443")).toBe("https://optralis.example.com:8443");
    expect(shQuote("oek_AbC-123_xyz")).toBe("oek_AbC-123_xyz");
  });
  it("single-quotes anything special", () => {
    expect(shQuote("a b")).toBe("'a b'");
    expect(shQuote("$HOME")).toBe("'$HOME'");
    expect(shQuote("a;rm -rf /")).toBe("'a;rm -rf /'");
    expect(shQuote("")).toBe("''");
  });
  it("escapes single quotes", () => {
    expect(shQuote("it's")).toBe(`'it'\\''s'`);
  });
});

describe("psQuote", () => {
  it("leaves plain words bare", () => {
    expect(psQuote("http://localhost:5174")).toBe("http://localhost:5174");
    expect(psQuote("oek_abc-DEF")).toBe("oek_abc-DEF");
  });
  it("quotes what PowerShell would expand or split", () => {
    expect(psQuote("$env:x")).toBe("'$env:x'");
    expect(psQuote("a b")).toBe("'a b'");
    expect(psQuote("-flag")).toBe("'-flag'");
    expect(psQuote("a`b")).toBe("'a`b'");
    expect(psQuote("")).toBe("''");
  });
  it("doubles single quotes, typographic ones included", () => {
    expect(psQuote("it's")).toBe("'it''s'");
    expect(psQuote("it\u2019s")).toBe("'it\u2019\u2019s'");
  });
});

describe("installCommands", () => {
  it("builds the commands", () => {
    const c = installCommands("https://mon.example.com", "oek_secret");
    expect(c.oneLine).toBe("curl -fsSL https://mon.example.com/install.sh | sudo sh -s -- --key oek_secret");
    expect(c.linux).toBe("optralis-agent run --server https://mon.example.com --enroll-key oek_secret");
    expect(c.linuxService).toBe("sudo optralis-agent install --server https://mon.example.com --enroll-key oek_secret");
    expect(c.windowsOneLine).toBe("& ([scriptblock]::Create((irm https://mon.example.com/install.ps1))) -Key oek_secret");
    expect(c.windows).toBe(
      '& "C:\\Program Files\\Optralis\\Agent\\optralis-agent.exe" install-service --server https://mon.example.com --enroll-key oek_secret',
    );
  });
  it("quotes odd values in each shell", () => {
    const c = installCommands("https://x", "a'b c");
    expect(c.linux).toContain(`--enroll-key 'a'\\''b c'`);
    expect(c.linuxService).toContain(`--enroll-key 'a'\\''b c'`);
    expect(c.oneLine).toContain(`--key 'a'\\''b c'`);
    expect(c.windows).toContain("--enroll-key 'a''b c'");
    expect(c.windowsOneLine).toContain("-Key 'a''b c'");
  });
});
