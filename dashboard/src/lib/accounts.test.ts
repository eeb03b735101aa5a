import { describe, expect, it } from "vitest";
import { cleanCode, newPasswordProblem, recoveryCodesText, setPasswordUrl } from "./accounts";

describe("setPasswordUrl", () => {
  it("points at /set-password with the token encoded", () => {
    expect(setPasswordUrl("https://mon.example.com", "abc")).toBe("https://mon.example.com/set-password?token=abc");
    expect(setPasswordUrl("http://localhost:5174/", "a+b/c=")).toBe("http://localhost:5174/set-password?token=a%2Bb%2Fc%3D");
  });
});

describe("newPasswordProblem", () => {
  it("checks length, repeat and change", () => {
    expect(newPasswordProblem("old", "short", "short")).toBe("tooShort");
    expect(newPasswordProblem("old", "x".repeat(1025), "x".repeat(1025))).toBe("tooLong");
    expect(newPasswordProblem("long enough 1", "long enough 1", "long enough 1")).toBe("same");
    expect(newPasswordProblem("old", "long enough 1", "long enough 2")).toBe("mismatch");
    expect(newPasswordProblem("old", "long enough 1", "long enough 1")).toBeNull();
  });
});

describe("codes", () => {
  it("joins recovery codes one a line", () => {
    expect(recoveryCodesText(["a", "b"])).toBe("a\nb");
  });
  it("drops spaces in a typed code", () => {
    expect(cleanCode(" 123 456 ")).toBe("123456");
  });
});
