import { describe, expect, it } from "vitest";
import { alignSeries, expectedStepMs, isEmptyData, rangeWindow, timeTicks, withGaps, withWindow } from "./series";

describe("expectedStepMs", () => {
  it("uses the bucket width, or the report interval for raw points", () => {
    expect(expectedStepMs(300, 30)).toBe(300_000);
    expect(expectedStepMs(0, 30)).toBe(30_000);
    expect(expectedStepMs(0, null)).toBe(0);
  });
});

describe("withGaps", () => {
  it("keeps evenly spaced points as they are", () => {
    const r = withGaps(
      [
        [0, 1],
        [10_000, 2],
        [20_000, 3],
      ],
      10_000,
    );
    expect(r.xs).toEqual([0, 10_000, 20_000]);
    expect(r.ys).toEqual([1, 2, 3]);
  });

  it("puts a null in a gap longer than 2.5 steps", () => {
    const r = withGaps(
      [
        [0, 1],
        [10_000, 2],
        [35_000, 3], // 2.5 steps: still joined
        [80_000, 4], // 4.5 steps: a gap
      ],
      10_000,
    );
    expect(r.xs).toEqual([0, 10_000, 35_000, 57_500, 80_000]);
    expect(r.ys).toEqual([1, 2, 3, null, 4]);
  });

  it("never breaks the line without a step, and drops duplicate or unordered points", () => {
    const r = withGaps(
      [
        [0, 1],
        [5, 9],
        [5, 8],
        [3, 7],
        [1_000_000, 2],
      ],
      0,
    );
    expect(r.xs).toEqual([0, 5, 1_000_000]);
    expect(r.ys).toEqual([1, 9, 2]);
  });
});

describe("alignSeries", () => {
  it("returns seconds and one array per series", () => {
    const d = alignSeries([
      {
        points: [
          [1_000, 1],
          [2_000, 2],
        ],
        stepMs: 1_000,
      },
    ]);
    expect(d).toEqual([
      [1, 2],
      [1, 2],
    ]);
  });

  it("merges different timestamps with undefined where a series has no point", () => {
    const d = alignSeries([
      {
        points: [
          [1_000, 1],
          [3_000, 3],
        ],
        stepMs: 2_000,
      },
      {
        points: [
          [2_000, 20],
          [3_000, 30],
        ],
        stepMs: 2_000,
      },
    ]);
    expect(d[0]).toEqual([1, 2, 3]);
    expect(d[1]).toEqual([1, undefined, 3]);
    expect(d[2]).toEqual([undefined, 20, 30]);
  });

  it("keeps each series' gaps as nulls on the shared axis", () => {
    const d = alignSeries([
      {
        points: [
          [0, 1],
          [10_000, 2],
          [100_000, 3],
        ],
        stepMs: 10_000,
      },
      {
        points: [
          [0, 5],
          [10_000, 6],
          [20_000, 7],
        ],
        stepMs: 10_000,
      },
    ]);
    expect(d[0]).toEqual([0, 10, 20, 55, 100]);
    expect(d[1]).toEqual([1, 2, undefined, null, 3]);
    expect(d[2]).toEqual([5, 6, 7, undefined, undefined]);
  });

  it("handles no series and empty series", () => {
    expect(alignSeries([])).toEqual([[]]);
    const d = alignSeries([{ points: [], stepMs: 0 }]);
    expect(d).toEqual([[], []]);
    expect(isEmptyData(d)).toBe(true);
  });

  it("aligns 30 days of several series quickly", () => {
    const n = 8_640; // 30 days at 5 minutes
    const make = (offset: number) => ({
      points: Array.from({ length: n }, (_, i) => [i * 300_000 + offset, i % 100] as [number, number]),
      stepMs: 300_000,
    });
    const start = performance.now();
    const d = alignSeries([make(0), make(0), make(1_000), make(0), make(0), make(0)]);
    expect(performance.now() - start).toBeLessThan(200);
    expect(d[0]!.length).toBe(2 * n);
  });
});

describe("isEmptyData", () => {
  it("is false once any value exists", () => {
    expect(
      isEmptyData([
        [1, 2],
        [null, undefined],
        [undefined, 0],
      ]),
    ).toBe(false);
    expect(isEmptyData([[1], [null]])).toBe(true);
  });
});

describe("timeTicks", () => {
  it("shows the date under the first tick of each day", () => {
    const h = 3_600;
    const midnight = Date.UTC(2024, 0, 15) / 1000;
    const ticks = timeTicks([midnight - 2 * h, midnight - h, midnight, midnight + h], h, "en-GB", "UTC");
    expect(ticks).toEqual(["22:00\n14 Jan", "23:00", "00:00\n15 Jan", "01:00"]);
  });

  it("shows only dates for daily ticks", () => {
    const d = Date.UTC(2024, 0, 15) / 1000;
    expect(timeTicks([d, d + 86_400], 86_400, "fr", "UTC")).toEqual(["15 janv.", "16 janv."]);
  });
});

describe("rangeWindow", () => {
  it("ends now", () => {
    expect(rangeWindow("24h", 100_000_000)).toEqual({ from: 100_000_000 - 86_400_000, to: 100_000_000 });
  });
});

describe("withWindow", () => {
  it("pads the x axis to the range with empty values", () => {
    const data = [
      [100, 160],
      [1, 2],
    ] as unknown as import("uplot").AlignedData;
    const got = withWindow(data, 40_000, 200_000);
    expect(got[0]).toEqual([40, 100, 160, 200]);
    expect(got[1]).toEqual([undefined, 1, 2, undefined]);
  });

  it("leaves data that already spans the range, and empty data, alone", () => {
    const data = [
      [100, 160],
      [1, 2],
    ] as unknown as import("uplot").AlignedData;
    expect(withWindow(data, 100_000, 160_000)).toBe(data);
    const empty = [[]] as unknown as import("uplot").AlignedData;
    expect(withWindow(empty, 0, 1)).toBe(empty);
  });
});
