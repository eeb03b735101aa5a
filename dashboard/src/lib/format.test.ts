import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, formatMetric, formatPercent, formatRelative } from "./format";

// Intl puts narrow no-break spaces in French numbers: compare with plain spaces.
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, " ");

describe("format", () => {
  it("sizes in binary units, localised", () => {
    expect(formatBytes(0, "en")).toBe("0 B");
    expect(formatBytes(1536, "en")).toBe("1.5 KB");
    expect(plain(formatBytes(1536, "fr"))).toBe("1,5 Ko");
    expect(formatBytes(5 * 1024 ** 4, "en")).toBe("5 TB");
    expect(formatBytes(null, "en")).toBe("–");
    expect(formatBytes(Number.NaN, "en")).toBe("–");
  });

  it("percentages", () => {
    expect(formatPercent(42.4, "en")).toBe("42%");
    expect(plain(formatPercent(42.4, "fr"))).toBe("42 %");
    expect(formatPercent(undefined, "en")).toBe("–");
  });

  it("durations with the two largest units", () => {
    expect(formatDuration(0, "en")).toBe("0 s");
    expect(formatDuration(59, "en")).toBe("59 s");
    expect(formatDuration(3 * 86_400 + 4 * 3_600 + 5 * 60, "en")).toBe("3 d 4 h");
    expect(formatDuration(3 * 86_400 + 4 * 3_600, "fr")).toBe("3 j 4 h");
    expect(formatDuration(3_600 + 30, "en")).toBe("1 h 30 s");
  });

  it("relative times", () => {
    const now = 1_000_000_000_000;
    expect(formatRelative(now - 5 * 60_000, "en", now)).toBe("5 minutes ago");
    expect(formatRelative(now - 5 * 60_000, "fr", now)).toBe("il y a 5 minutes");
    expect(formatRelative(now + 2 * 3_600_000, "en", now)).toBe("in 2 hours");
    expect(formatRelative(null, "en", now)).toBe("–");
  });

  it("metric values by catalog unit", () => {
    expect(formatMetric(2048, "B/s", "en")).toBe("2 KB/s");
    expect(formatMetric(55.5, "°C", "en")).toBe("55.5 °C");
    expect(formatMetric(0.25, "", "en")).toBe("0.25");
    expect(formatMetric(12, "ops/s", "en")).toBe("12 ops/s");
  });
});
