// Generated traces on the real gperftools 2.10 and on the model: identical address lines and statistics, on one
// thread, on three threads (one thread cache each, blocks freed by other threads), and with the TCMALLOC_*
// variables that change the thread-cache budget. HEAPLAB_LONG=1 runs longer campaigns; HEAPLAB_SEED fixes the seed.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { tcmallocUnavailable } from "../oracle/native.js";
import { modelUnavailable } from "../differential/compare.js";
import { traces } from "./gen.js";
import { firstDifference, runModel, runReal, statDifferences, traceFile } from "./real.js";

const skip = tcmallocUnavailable() ?? modelUnavailable("tcmalloc");
const LONG = process.env.HEAPLAB_LONG === "1";
const seed = process.env.HEAPLAB_SEED ? Number(process.env.HEAPLAB_SEED) : Date.now() % 2 ** 31;

interface Setting {
  name: string;
  threads: number;
  env: Record<string, string>;
  options: Record<string, number>;
}

const settings: Setting[] = [
  { name: "one thread", threads: 1, env: {}, options: {} },
  { name: "three threads", threads: 3, env: {}, options: {} },
  {
    name: "three threads, 512 KiB thread-cache budget",
    threads: 3,
    env: { TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES: "524288" },
    options: { TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES: 524288 },
  },
  {
    name: "one thread, batches of at most 8 objects",
    threads: 1,
    env: { TCMALLOC_TRANSFER_NUM_OBJ: "8" },
    options: { TCMALLOC_TRANSFER_NUM_OBJ: 8 },
  },
  {
    name: "forty threads (thread caches in several metadata blocks), 512 KiB budget",
    threads: 40,
    env: { TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES: "524288" },
    options: { TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES: 524288 },
  },
];

/** Where the model departs from the real library on `text`, or null. */
async function departure(text: string, setting: Setting): Promise<string | null> {
  const path = traceFile(text);
  const threads = setting.threads > 1 ? "real" : "merge";
  const real = await runReal(path, setting.env, threads);
  const model = await runModel(path, real.heapBase, setting.options, threads === "real" ? "arena" : "merge");
  const lines = firstDifference(real.lines, model.lines);
  if (lines) return lines;
  const stats = statDifferences(real.stats, model.stats);
  if (stats.length) return stats.join("; ");
  if (model.live !== model.stats["generic.current_allocated_bytes"]) {
    return `walk counts ${model.live} bytes in use, stats ${model.stats["generic.current_allocated_bytes"]}`;
  }
  return null;
}

describe.skipIf(skip)("TCMalloc model on generated traces", () => {
  for (const setting of settings) {
    it(`${setting.name} (seed ${seed})`, async () => {
      const result = await fc.check(
        fc.asyncProperty(traces(setting.threads, LONG ? 600 : 120), async (text) => (await departure(text, setting)) === null),
        { numRuns: LONG ? 300 : 12, seed },
      );
      if (!result.failed) return;
      const shrunk = (result.counterexample?.[0] as string | undefined) ?? "";
      expect.fail(`seed ${seed}: ${await departure(shrunk, setting)}\n${shrunk}`);
    }, LONG ? 3_600_000 : 120_000);
  }
});
