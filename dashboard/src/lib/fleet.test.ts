import { describe, expect, it } from "vitest";
import type { Machine, MachineList } from "../api/types";
import { allLabels, columnsFor, fetchAllMachines, filtersFrom, machineName, PAGE, worstFilesystem } from "./fleet";

const machine = (id: string): Machine => ({ id, hostname: `host-${id}`, enrolled_at_ms: 0, facts: {} }) as unknown as Machine;

describe("filtersFrom", () => {
  it("reads the address bar and drops unknown values", () => {
    const f = filtersFrom(new URLSearchParams("q=web&selector=env%3Dprod&status=online,bogus,critical&sort=-score&view=table"));
    expect(f).toEqual({ q: "web", selector: "env=prod", group: "", status: "online,critical", sort: "-score", view: "table" });
    expect(filtersFrom(new URLSearchParams("sort=evil&view=x")).sort).toBe("name");
    expect(filtersFrom(new URLSearchParams("view=x")).view).toBe("cards");
  });
});

describe("fetchAllMachines", () => {
  it("reads every page of a fleet bigger than one page", async () => {
    const total = PAGE * 2 + 345;
    const all = Array.from({ length: total }, (_, i) => machine(String(i)));
    const offsets: number[] = [];
    const got = await fetchAllMachines(async (offset) => {
      offsets.push(offset);
      return { machines: all.slice(offset, offset + PAGE), total } satisfies MachineList;
    });
    expect(offsets.sort((a, b) => a - b)).toEqual([0, PAGE, PAGE * 2]);
    expect(got.machines.map((m) => m.id)).toEqual(all.map((m) => m.id));
    expect(got.total).toBe(total);
  });

  it("asks once for a small fleet", async () => {
    let calls = 0;
    const got = await fetchAllMachines(async () => {
      calls++;
      return { machines: [machine("a")], total: 1 };
    });
    expect(calls).toBe(1);
    expect(got.machines).toHaveLength(1);
  });
});

describe("machine display", () => {
  it("prefers the display name unless blank", () => {
    expect(machineName({ display_name: "DB primary", hostname: "db1" })).toBe("DB primary");
    expect(machineName({ display_name: "  ", hostname: "db1" })).toBe("db1");
    expect(machineName({ display_name: null, hostname: "db1" })).toBe("db1");
  });

  it("finds the fullest filesystem as df counts it", () => {
    const fs = (mount: string, used: number, free: number, total: number) => ({
      mount,
      used_bytes: used,
      free_bytes: free,
      total_bytes: total,
      device: "",
      fs_type: "ext4",
    });
    const latest = { filesystems: [fs("/", 50, 50, 110), fs("/var", 90, 10, 105), fs("/empty", 0, 0, 0)] } as never;
    expect(worstFilesystem(latest)).toEqual({ mount: "/var", percent: 90 });
    expect(worstFilesystem(null)).toBeNull();
  });

  it("merges labels, the API's winning", () => {
    expect(allLabels({ agent_labels: { env: "dev", rack: "a1" }, labels: { env: "prod" } })).toEqual([
      ["env", "prod"],
      ["rack", "a1"],
    ]);
  });

  it("fits cards to the width", () => {
    expect(columnsFor(300)).toBe(1);
    expect(columnsFor(288 * 2 + 16)).toBe(2);
    expect(columnsFor(1280)).toBe(4);
    expect(columnsFor(0)).toBe(1);
  });
});
