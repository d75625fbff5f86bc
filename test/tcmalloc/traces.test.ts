// The shared traces of real programs replayed on the real gperftools 2.10 and on the model: every address line
// and the final MallocExtension statistics must be identical. Multi-threaded traces run twice: every op on the
// main thread, and one thread per trace thread (one thread cache each).

import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { tcmallocUnavailable } from "../oracle/native.js";
import { modelUnavailable } from "../differential/compare.js";
import { firstDifference, runModel, runReal, statDifferences } from "./real.js";

const skip = tcmallocUnavailable() ?? modelUnavailable("tcmalloc");
const TRACES = "../shared/traces";

const cases: Array<[string, "merge" | "real"]> = [
  ["sort-S1M", "merge"],
  ["git-log-p", "merge"],
  ["sqlite3-memdb", "merge"],
  ["sort-mt", "merge"],
  ["sort-mt", "real"],
  ["git-repack-pack-objects-mt", "merge"],
  ["git-repack-pack-objects-mt", "real"],
];

describe.skipIf(skip)("TCMalloc model on the shared traces", () => {
  for (const [name, threads] of cases) {
    const path = `${TRACES}/${name}.trace.gz`;
    it.skipIf(!existsSync(path))(`${name} (${threads === "real" ? "one thread cache per thread" : "one thread"})`, async () => {
      const real = await runReal(path, {}, threads);
      const model = await runModel(path, real.heapBase, {}, threads === "real" ? "arena" : "merge");
      expect(real.lines.length).toBeGreaterThan(0);
      expect(Object.keys(real.stats).length).toBeGreaterThan(10);
      expect(firstDifference(real.lines, model.lines)).toBeNull();
      expect(statDifferences(real.stats, model.stats)).toEqual([]);
      // Accounting: the bytes in use are the allocated objects of the heap walk.
      expect(model.live).toBe(model.stats["generic.current_allocated_bytes"]);
    }, 120_000);
  }
});
