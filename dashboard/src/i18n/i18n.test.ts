import { describe, expect, it } from "vitest";
import { modules } from "./modules";

type Tree = { [k: string]: string | Tree };

function leaves(tree: Tree, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === "string") out.set(key, v);
    else for (const [kk, vv] of leaves(v, key)) out.set(kk, vv);
  }
  return out;
}

const placeholders = (s: string) => [...s.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]).sort();

describe("translations", () => {
  for (const [name, m] of Object.entries(modules)) {
    it(`${name}: French has English's keys, placeholders, and no empty string`, () => {
      const en = leaves(m.en as Tree);
      const fr = leaves(m.fr as Tree);
      expect([...fr.keys()].sort()).toEqual([...en.keys()].sort());
      for (const [key, text] of en) {
        expect(text.trim(), `${name}.${key} (en)`).not.toBe("");
        expect(fr.get(key)!.trim(), `${name}.${key} (fr)`).not.toBe("");
        expect(placeholders(fr.get(key)!), `${name}.${key}`).toEqual(placeholders(text));
      }
    });
  }

  it("French uses typographic apostrophes", () => {
    const straight: string[] = [];
    for (const [name, m] of Object.entries(modules)) {
      for (const [key, text] of leaves(m.fr as Tree)) if (/[A-Za-zÀ-ÿ]'[A-Za-zÀ-ÿ]/.test(text)) straight.push(`${name}.${key}: ${text}`);
    }
    expect(straight).toEqual([]);
  });
});
