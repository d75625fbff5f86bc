// Generated traces on the real mimalloc 2.0.9 and on the model: identical address lines on one thread, on three
// threads (one heap each, blocks freed by other threads), and with the MIMALLOC_* variables the model knows.
// HEAPLAB_LONG=1 runs longer campaigns; HEAPLAB_SEED fixes the seed.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { traces } from "../tcmalloc/gen.js";
import { traceFile } from "../tcmalloc/real.js";
import { firstDifference } from "../differential/compare.js";
import { mimallocSizes } from "./gen.js";
import { mimallocUnavailable, modelRun, realLines } from "./real.js";

const skip = mimallocUnavailable();
const LONG = process.env.HEAPLAB_LONG === "1";
const seed = process.env.HEAPLAB_SEED ? Number(process.env.HEAPLAB_SEED) : Date.now() % 2 ** 31;

interface Setting {
  name: string;
  threads: number;
  env: Record<string, string>;
  options: Record<string, number>;
  /**
   * Leave realloc out: when allocations fail, the native replayer forgets a block whose realloc failed while the
   * lab follows the recording (the next realloc of it is replayed by one and skipped by the other).
   */
  noRealloc?: boolean;
}

/** The trace without its realloc lines. */
function withoutRealloc(text: string): string {
  return text.split("\n").filter((line) => !/^\d+ \d+ r /.test(line)).join("\n");
}

const settings: Setting[] = [
  { name: "one thread", threads: 1, env: {}, options: {} },
  { name: "three threads", threads: 3, env: {}, options: {} },
  { name: "twenty threads (a segment each)", threads: 20, env: {}, options: {} },
  {
    name: "one thread, no OS memory (MIMALLOC_LIMIT_OS_ALLOC)",
    threads: 1,
    env: { MIMALLOC_LIMIT_OS_ALLOC: "1" },
    options: { MIMALLOC_LIMIT_OS_ALLOC: 1 },
    noRealloc: true,
  },
  {
    // a size without a unit is bytes, in the environment as in the option
    name: "one thread, a 256 MiB arena (MIMALLOC_RESERVE_OS_MEMORY)",
    threads: 1,
    env: { MIMALLOC_RESERVE_OS_MEMORY: "268435456" },
    options: { MIMALLOC_RESERVE_OS_MEMORY: 268435456 },
  },
  {
    name: "three threads, a 128 MiB arena and no other OS memory",
    threads: 3,
    env: { MIMALLOC_RESERVE_OS_MEMORY: "134217728", MIMALLOC_LIMIT_OS_ALLOC: "1" },
    options: { MIMALLOC_RESERVE_OS_MEMORY: 134217728, MIMALLOC_LIMIT_OS_ALLOC: 1 },
    noRealloc: true,
  },
];

/** Where the model departs from the real library on `text`, or null. */
async function departure(text: string, setting: Setting): Promise<string | null> {
  const path = traceFile(setting.noRealloc ? withoutRealloc(text) : text);
  const threads = setting.threads;
  const real = await realLines(path, threads > 1 ? "real" : "merge", setting.env);
  const model = await modelRun(path, threads > 1 ? "arena" : "merge", setting.options);
  const lines = firstDifference(real, model.lines);
  if (lines) return lines;
  if (model.violations) return `the checker finds ${model.violations} violations`;
  if (model.walkLive !== model.stats.live_block_bytes) return `walk ${model.walkLive}, stats ${model.stats.live_block_bytes}`;
  return null;
}

describe.skipIf(skip)("mimalloc model on generated traces", () => {
  for (const setting of settings) {
    it(`${setting.name} (seed ${seed})`, async () => {
      const result = await fc.check(
        fc.asyncProperty(traces(setting.threads, LONG ? 600 : 150, mimallocSizes),
          async (text) => (await departure(text, setting)) === null),
        { numRuns: LONG ? 300 : 12, seed },
      );
      if (!result.failed) return;
      const shrunk = (result.counterexample?.[0] as string | undefined) ?? "";
      expect.fail(`seed ${seed}: ${await departure(shrunk, setting)}\n${shrunk}`);
    }, LONG ? 3_600_000 : 120_000);
  }
});
