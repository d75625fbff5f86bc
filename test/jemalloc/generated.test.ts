// Generated traces on the real jemalloc 5.3.0 and on the model: identical address lines and stats.* totals, on
// one thread and on three threads (one tcache and arena each, blocks freed by other threads), and with the
// MALLOC_CONF options that change the layout. The generator is TCMalloc's (runs of one class, sizes around class
// and page boundaries, large and aligned blocks, reallocs), which exercises jemalloc's machinery as well.
// HEAPLAB_LONG=1 runs longer campaigns; HEAPLAB_SEED fixes the seed.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { modelUnavailable } from "../differential/compare.js";
import { traces } from "../tcmalloc/gen.js";
import { firstDifference, jemallocUnavailable, runModel, runReal, statDifferences, traceFile } from "./real.js";

const skip = jemallocUnavailable() ?? modelUnavailable("jemalloc");
const LONG = process.env.HEAPLAB_LONG === "1";
const seed = process.env.HEAPLAB_SEED ? Number(process.env.HEAPLAB_SEED) : Date.now() % 2 ** 31;

interface Setting {
  name: string;
  threads: number;
  conf: string;
  options: Record<string, number>;
}

const SETTINGS: Setting[] = [
  { name: "one thread", threads: 1, conf: "", options: {} },
  { name: "three threads", threads: 3, conf: "", options: {} },
  { name: "one thread, no tcache", threads: 1, conf: "tcache:false", options: { tcache: 0 } },
  {
    name: "three threads, dirty pages purged at once",
    threads: 3,
    conf: "dirty_decay_ms:0,muzzy_decay_ms:0",
    options: { dirty_decay_ms: 0, muzzy_decay_ms: 0 },
  },
  { name: "one thread, tcache_max 4096", threads: 1, conf: "tcache_max:4096", options: { tcache_max: 4096 } },
  {
    name: "three threads, a huge arena from 1 MiB",
    threads: 3,
    conf: "oversize_threshold:1048576",
    options: { oversize_threshold: 1_048_576 },
  },
  {
    name: "three threads on 2 cores' worth of arenas, tcache_max 64 KiB",
    threads: 3,
    conf: "narenas:8,tcache_max:65536",
    options: { cores: 2, tcache_max: 65_536 },
  },
  {
    name: "one thread, small tcache bins",
    threads: 1,
    conf: "lg_tcache_nslots_mul:0,tcache_nslots_small_min:4,tcache_nslots_small_max:16,tcache_nslots_large:4",
    options: { lg_tcache_nslots_mul: 0, tcache_nslots_small_min: 4, tcache_nslots_small_max: 16, tcache_nslots_large: 4 },
  },
  {
    name: "one thread, lg_extent_max_active_fit 0",
    threads: 1,
    conf: "lg_extent_max_active_fit:0",
    options: { lg_extent_max_active_fit: 0 },
  },
  // Without opt.retain every extent is a mapping of its own (small ones in the holes between the libraries), and
  // a purged one is unmapped, leaving a hole.
  { name: "one thread, retain:false", threads: 1, conf: "retain:false", options: { retain: 0 } },
  {
    name: "three threads, retain:false, dirty pages purged at once",
    threads: 3,
    conf: "retain:false,dirty_decay_ms:0,muzzy_decay_ms:0",
    options: { retain: 0, dirty_decay_ms: 0, muzzy_decay_ms: 0 },
  },
];

/** Where the model departs from the real library on `text`, or null. */
async function departure(text: string, setting: Setting): Promise<string | null> {
  const path = traceFile(text);
  const threads = setting.threads > 1 ? "real" : "merge";
  const real = await runReal(path, setting.conf, threads);
  const model = await runModel(path, real, setting.options, threads === "real" ? "arena" : "merge");
  const lines = firstDifference(real.lines, model.lines);
  if (lines) return lines;
  const stats = statDifferences(real.stats, model.stats);
  return stats.length ? stats.join("; ") : null;
}

describe.skipIf(skip)("jemalloc model on generated traces", () => {
  for (const setting of SETTINGS) {
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
