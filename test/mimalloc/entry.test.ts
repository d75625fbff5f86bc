// Every entry point of the preloaded library on the edge cases the generated traces rarely reach, against the real
// mimalloc 2.0.9: zero sizes, requests too large for the address space, bad alignments, alignments up to a segment, page
// rounding of valloc/pvalloc, realloc to and from nothing, huge blocks freed and their segments not reused.

import { describe, expect, it } from "vitest";
import { traceFile } from "../tcmalloc/real.js";
import { firstDifference } from "../differential/compare.js";
import { mimallocUnavailable, modelRun, realLines } from "./real.js";

const skip = mimallocUnavailable();

/** A trace of the given ops on one thread, each allocation under a fresh key. */
function trace(ops: string[]): string {
  const lines = ["# alloc-trace v1 pid=7 ppid=1 exe=edge"];
  ops.forEach((op, i) => lines.push(`${i + 1} 7 ${op}`));
  return `${lines.join("\n")}\n`;
}

const CASES: Record<string, string[]> = {
  // (a calloc whose product overflows is left out: the address lines print products above 2^53 rounded)
  "zero sizes": ["m 0 0x10", "c 0 8 0x20", "m 0 0x30", "r 0x0 0 0x40", "f 0x10", "m 8 0x50"],
  "too large for the address space": [
    "m 34 0x10", `m ${2 ** 50} 0x0`, "m 100 0x20", `c ${2 ** 25} ${2 ** 25} 0x0`, "m 100 0x30",
  ],
  "bad alignments": [
    "m 34 0x10", "P 12 100 0x0", "P 0 100 0x0", "a 48 100 0x0", "A 3 100 0x0", "P 4 100 0x0", "a 1 100 0x20",
  ],
  "alignments up to a segment": [
    "m 34 0x10", "a 64 100 0x20", "a 4096 100 0x30", "A 65536 300000 0x40", "P 1048576 100 0x50",
    "a 16777216 100 0x60", "a 33554432 5000000 0x70", "f 0x70", "f 0x60", "m 100 0x80",
  ],
  "valloc and pvalloc": ["m 34 0x10", "v 1 0x20", "v 5000 0x30", "V 1 0x40", "V 5000 0x50", "V 0 0x60"],
  "realloc in place, moved, to nothing": [
    "m 1000 0x10", "r 0x10 600 0x10", "r 0x10 400 0x20", "r 0x20 100000 0x30", "r 0x30 200000 0x40",
    "r 0x40 0 0x50", "r 0x0 300 0x60",
  ],
  "huge blocks freed, their segments never reused": [
    "m 34 0x10", "m 20000000 0x20", "f 0x20", "m 20000000 0x30", "m 100000000 0x40", "f 0x30", "m 17000000 0x50",
  ],
  "malloc_trim": ["m 34 0x10", "t 0 0", "m 100 0x20"],
  // 40 large blocks take a second segment; freed, it waits in the segment cache until a failed request's collect
  // unmaps it, so the next segment comes from a fresh hint
  "a failed request empties the segment cache": [
    "m 34 0x10",
    ...Array.from({ length: 40 }, (_, i) => `m 600000 0x${(0x1000 + i * 16).toString(16)}`),
    ...Array.from({ length: 40 }, (_, i) => `f 0x${(0x1000 + i * 16).toString(16)}`),
    `m ${2 ** 50} 0x0`,
    ...Array.from({ length: 40 }, (_, i) => `m 600000 0x${(0x9000 + i * 16).toString(16)}`),
  ],
};

describe.skipIf(skip)("mimalloc model's entry points on edge cases", () => {
  for (const [name, ops] of Object.entries(CASES)) {
    it(name, async () => {
      const path = traceFile(trace(ops));
      const real = await realLines(path, "merge");
      const model = await modelRun(path, "merge");
      expect(real.length).toBeGreaterThan(0);
      expect(firstDifference(real, model.lines)).toBeNull();
      expect(model.violations).toBe(0);
    });
  }
});
