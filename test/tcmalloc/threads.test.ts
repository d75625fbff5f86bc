// Many threads on the real gperftools 2.10 and on the model, one thread cache each: caches spread over several
// blocks of the thread-cache allocator, a budget pool spent early, objects freed by
// other threads. Addresses and statistics must be identical.

import { describe, expect, it } from "vitest";
import { tcmallocUnavailable } from "../oracle/native.js";
import { modelUnavailable } from "../differential/compare.js";
import { firstDifference, runModel, runReal, statDifferences, traceFile } from "./real.js";

const skip = tcmallocUnavailable() ?? modelUnavailable("tcmalloc");
const PID = 3000;

/** `threads` threads take turns: each allocates a few blocks and frees blocks other threads allocated. */
function manyThreads(threads: number, rounds: number): string {
  const lines = [`# alloc-trace v1 pid=${PID} ppid=1 exe=threads`];
  const live: string[] = [];
  let seq = 0;
  let key = 0x10000;
  let x = 12345;
  const random = (n: number): number => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x % n;
  };
  for (let round = 0; round < rounds; round++) {
    for (let t = 0; t < threads; t++) {
      const tid = PID + t;
      for (let k = 0; k < 3; k++) {
        const a = `0x${(key += 16).toString(16)}`;
        const size = [16, 100, 1000, 5000, 40000][random(5)] + random(16);
        lines.push(`${++seq} ${tid} m ${size} ${a}`);
        live.push(a);
      }
      for (let k = 0; k < 2 && live.length > 0; k++) lines.push(`${++seq} ${tid} f ${live.splice(random(live.length), 1)[0]}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The main thread grows its budget with a long run of frees; then other threads must steal budget from it. */
function stealing(threads: number): string {
  const lines = [`# alloc-trace v1 pid=${PID} ppid=1 exe=steal`];
  let seq = 0;
  let key = 0x10000;
  const burst = (tid: number, count: number, size: number) => {
    const run: string[] = [];
    for (let i = 0; i < count; i++) {
      const a = `0x${(key += 16).toString(16)}`;
      run.push(a);
      lines.push(`${++seq} ${tid} m ${size} ${a}`);
    }
    for (const a of run) lines.push(`${++seq} ${tid} f ${a}`);
  };
  burst(PID, 3000, 1000);
  for (let t = 1; t < threads; t++) burst(PID + t, 400 + 10 * t, 900 + t);
  burst(PID, 2000, 2000);
  return `${lines.join("\n")}\n`;
}

describe.skipIf(skip)("TCMalloc model with many threads", () => {
  it("steals thread-cache budget from a thread that grew it", async () => {
    const trace = traceFile(stealing(12));
    const env = { TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES: "1048576" };
    const real = await runReal(trace, env, "real");
    const model = await runModel(trace, real.heapBase, { TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES: 1048576 }, "arena");
    expect(firstDifference(real.lines, model.lines)).toBeNull();
    expect(statDifferences(real.stats, model.stats)).toEqual([]);
  }, 120_000);

  const path = () => traceFile(manyThreads(200, 8));
  for (const [name, env, options] of [
    ["the default 32 MiB pool", {}, {}],
    ["a 512 KiB pool (spent after eight caches)", { TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES: "524288" },
      { TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES: 524288 }],
  ] as const) {
    it(`200 threads with ${name}`, async () => {
      const trace = path();
      const real = await runReal(trace, env, "real");
      const model = await runModel(trace, real.heapBase, options, "arena");
      expect(firstDifference(real.lines, model.lines)).toBeNull();
      expect(statDifferences(real.stats, model.stats)).toEqual([]);
      expect(model.stats["tcmalloc.thread_heaps_in_use"]).toBe(201);
    }, 120_000);
  }
});
