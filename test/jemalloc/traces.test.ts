// The shared traces of real programs replayed on the real jemalloc 5.3.0 (no ASLR, decay off) and on the model:
// every address line and the stats.* totals (allocated, active, metadata, resident, mapped, retained) must be
// identical. Multi-threaded traces run twice: every op on the main thread, and one thread (and arena) per trace
// thread, in lockstep. Then once more with dirty pages purged at once (dirty_decay_ms:0, muzzy_decay_ms:0).

import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { modelUnavailable } from "../differential/compare.js";
import { firstDifference, jemallocUnavailable, runModel, runReal, statDifferences } from "./real.js";

const skip = jemallocUnavailable() ?? modelUnavailable("jemalloc");
const TRACES = "../shared/traces";

const IMMEDIATE = { conf: "dirty_decay_ms:0,muzzy_decay_ms:0", options: { dirty_decay_ms: 0, muzzy_decay_ms: 0 } };
const NEVER = { conf: "", options: {} };

/** HEAPLAB_LARGE_TRACE=path adds a trace of one's own (e.g. a multi-million-op recording), replayed on one thread. */
const LARGE = process.env.HEAPLAB_LARGE_TRACE;

const cases: Array<[string, "merge" | "real"]> = [
  ["sort-S1M", "merge"],
  ["git-log-p", "merge"],
  ["sqlite3-memdb", "merge"],
  ["sort-mt", "merge"],
  ["sort-mt", "real"],
  ["git-repack-pack-objects-mt", "merge"],
  ["git-repack-pack-objects-mt", "real"],
  ...(LARGE ? [[LARGE, "merge"] as [string, "merge"]] : []),
];

const SETTINGS = [["never purged", NEVER], ["purged at once", IMMEDIATE]] as const;

describe.skipIf(skip).each(SETTINGS)("jemalloc model on the shared traces, dirty pages %s", (_, setting) => {
  for (const [name, threads] of cases) {
    const path = name === LARGE ? name : `${TRACES}/${name}.trace.gz`;
    it.skipIf(!existsSync(path))(`${name} (${threads === "real" ? "one arena per thread" : "one thread"})`, async () => {
      const real = await runReal(path, setting.conf, threads);
      const model = await runModel(path, real, setting.options, threads === "real" ? "arena" : "merge");
      expect(real.lines.length).toBeGreaterThan(0);
      expect(Object.keys(real.stats)).toHaveLength(6);
      expect(firstDifference(real.lines, model.lines)).toBeNull();
      expect(statDifferences(real.stats, model.stats)).toEqual([]);
    }, name === LARGE ? 1_200_000 : 120_000);
  }
});
