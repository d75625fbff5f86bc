// The differential harness itself, without any model: comparison helpers, and generated traces that the real
// allocator replays deterministically.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { oracleUnavailable, runNativeText } from "../oracle/native.js";
import { firstDifference, glibcTunables, kernelPlacedByRegion, SEED } from "./compare.js";
import { renderTrace, steps } from "./gen.js";

describe("comparison helpers", () => {
  it("finds the first differing line, with the line before it", () => {
    expect(firstDifference(["1 m 1 heap+0x2a0"], ["1 m 1 heap+0x2a0"])).toBeNull();
    expect(firstDifference(["1 m 1 heap+0x2a0", "2 m 1 heap+0x2c0"], ["1 m 1 heap+0x2a0", "2 m 1 heap+0x2d0"]))
      .toBe("line 2: real `2 m 1 heap+0x2c0`, model `2 m 1 heap+0x2d0` (after `1 m 1 heap+0x2a0`)");
    expect(firstDifference(["1 m 1 null", "2 m 1 null"], ["1 m 1 null"])).toMatch(/^model stops after 1 lines/);
    expect(firstDifference(["1 m 1 null"], ["1 m 1 null", "2 t 0 1"])).toMatch(/^real stops after 1 lines/);
  });

  it("compares kernel-placed lines by region only", () => {
    expect(kernelPlacedByRegion([
      "1 m 2 arena1+0x10", "2 m 3 arena2+0x4000000", "3 m 3 arena1-0x10", "4 m 1 mmap-0x1000", "5 m 1 heap+0x10",
      "6 m 1 arena3+0x3ffffff", "7 m 1 mmap+0x0", "8 m 1 null",
    ])).toEqual([
      "1 m 2 arena1+0x10", "2 m 3 arena2 later-heap", "3 m 3 arena1 later-heap", "4 m 1 mmap", "5 m 1 heap+0x10",
      "6 m 1 arena3+0x3ffffff", "7 m 1 mmap", "8 m 1 null",
    ]);
  });

  it("expands short tunables", () => {
    expect(glibcTunables("")).toBe("");
    expect(glibcTunables("mxfast=0:tcache_count=3")).toBe("glibc.malloc.mxfast=0:glibc.malloc.tcache_count=3");
  });
});

describe(`generated traces (seed ${SEED})`, () => {
  it("keep frees and reallocs on live blocks only", () => {
    fc.assert(fc.property(steps(200), (list) => {
      const live = new Set<string>();
      for (const line of renderTrace(list).split("\n").slice(1, -1)) {
        const f = line.split(" ");
        if (f[2] === "f") {
          if (f[3] === "0x0") continue;
          if (!live.delete(f[3])) return false;
        } else if (f[2] === "r" && f[3] !== "0x0") {
          if (!live.delete(f[3])) return false;
          if (f[5] !== "0x0") live.add(f[5]);
        } else if (f[2] !== "t") {
          live.add(f[f.length - 1]);
        }
      }
      return true;
    }), { numRuns: 200, seed: SEED });
  });

  // Up to the first alignment above 4 KiB: from there on, offsets depend on the randomised heap base.
  it.skipIf(oracleUnavailable())("replay on glibc deterministically, one line per pointer-returning op", async () => {
    await fc.assert(fc.asyncProperty(steps(150), async (list) => {
      const ops = renderTrace(list).split("\n").slice(1, -1);
      const returning = ops.filter((l) => !/^\d+ \d+ f /.test(l)).length;
      const bigAlign = ops.findIndex((l) => /^\d+ \d+ [aAP] (\d+)/.test(l) && Number(l.split(" ")[3]) > 4096);
      const text = renderTrace(list);
      const first = await runNativeText(text, { tunables: "glibc.malloc.tcache_count=3" });
      const second = await runNativeText(text, { tunables: "glibc.malloc.tcache_count=3" });
      expect(first.lines).toHaveLength(returning);
      const comparable = (lines: string[]): string[] => {
        const stop = bigAlign < 0 ? lines.length : lines.findIndex((l) => Number(l.split(" ")[0]) >= bigAlign + 1);
        return kernelPlacedByRegion(lines.slice(0, stop < 0 ? lines.length : stop));
      };
      expect(comparable(second.lines)).toEqual(comparable(first.lines));
    }), { numRuns: 15, seed: SEED });
  });
});
