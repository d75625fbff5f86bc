// Tens of thousands of live extents, against the real library: edata_t structs overflow base 0's first block
// (the next base block is mapped between two extent growths), and the heap crosses into a second 1 GiB of
// address space (a second rtree leaf, from a base block of its own). Address lines and stats.* must agree.

import { describe, expect, it } from "vitest";
import { modelUnavailable } from "../differential/compare.js";
import { firstDifference, jemallocUnavailable, runModel, runReal, statDifferences, traceFile } from "./real.js";

const skip = jemallocUnavailable() ?? modelUnavailable("jemalloc");

/** 50 000 mallocs of mostly large sizes, a fifth of the live blocks freed along the way (a fixed LCG). */
function manyExtents(): string {
  const sizes = [20_000, 24_000, 40_000, 70_000, 100, 3000, 9000];
  const lines = ["# alloc-trace v1 pid=1 ppid=1 exe=generated"];
  const live: string[] = [];
  let state = 12345;
  const next = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
  let seq = 0;
  for (let i = 0; i < 50_000; i++) {
    const address = `0x${(0x100000 + i * 0x1000).toString(16)}`;
    lines.push(`${++seq} 1 m ${sizes[next(sizes.length)]} ${address}`);
    live.push(address);
    if (next(5) === 0) lines.push(`${++seq} 1 f ${live.splice(next(live.length), 1)[0]}`);
  }
  return `${lines.join("\n")}\n`;
}

describe.skipIf(skip)("jemalloc model with many extents", () => {
  it("maps base blocks and rtree leaves when the library does", async () => {
    const path = traceFile(manyExtents());
    const real = await runReal(path);
    const model = await runModel(path, real);
    expect(real.stats["stats.metadata"]).toBeGreaterThan(6 << 20);
    expect(firstDifference(real.lines, model.lines)).toBeNull();
    expect(statDifferences(real.stats, model.stats)).toEqual([]);
  }, 300_000);
});
