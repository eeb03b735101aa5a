import { describe, expect, it } from "vitest";
import type { Me } from "../api/types";
import { safeNext } from "../pages/Login";
import { loginPath, pickOrg } from "./session";

const me = (orgs: { id: string; disabled?: boolean }[]): Me => ({
  id: "u",
  email: "a@b.c",
  platform_admin: false,
  mfa_enabled: false,
  recovery_codes_left: 0,
  orgs: orgs.map((o) => ({ id: o.id, name: o.id, role: "admin", require_mfa: false, disabled: o.disabled ?? false })),
});

describe("session", () => {
  it("keeps the saved organisation while it is a usable membership", () => {
    expect(pickOrg(me([{ id: "a" }, { id: "b" }]), "b")?.id).toBe("b");
    expect(pickOrg(me([{ id: "a" }, { id: "b", disabled: true }]), "b")?.id).toBe("a");
    expect(pickOrg(me([{ id: "a" }]), "gone")?.id).toBe("a");
    expect(pickOrg(me([]), null)).toBeNull();
  });

  it("sends the user back where they were, and only inside the app", () => {
    expect(loginPath("/machines/m1?range=7d")).toBe("/login?next=%2Fmachines%2Fm1%3Frange%3D7d");
    expect(loginPath("/login?next=%2F")).toBe("/login");
    expect(safeNext("/alerts")).toBe("/alerts");
    expect(safeNext("//evil.example")).toBe("/");
    expect(safeNext("https://evil.example")).toBe("/");
    expect(safeNext("/login")).toBe("/");
    expect(safeNext(null)).toBe("/");
  });
});
