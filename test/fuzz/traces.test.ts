// The recorded programs of ../shared/traces keep every invariant of the models: each trace is replayed with the
// checker after every operation (every 50th for the largest), and the final heap is checked once more. The
// checkers hold the running totals of the footprint's decomposition equal to a heap walk, so these runs also
// compare the report's parts with a walk at every checked operation. mimalloc's check walks every free list of
// every page: it checks its larger traces at every 10th operation.

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { createLab } from "../../src/lab/lab.js";

const dir = resolve(import.meta.dirname, "../../../shared/traces");
const TRACES: ReadonlyArray<{ name: string; checkEvery: number }> = [
  { name: "sort-S1M", checkEvery: 1 },
  { name: "sort-mt", checkEvery: 1 },
  { name: "git-repack-pack-objects-mt", checkEvery: 1 },
  { name: "git-log-p", checkEvery: 1 },
  { name: "sqlite3-memdb", checkEvery: 50 },
];

describe.skipIf(!existsSync(dir))("recorded traces pass the invariant checkers", () => {
  for (const model of ["ptmalloc", "tcmalloc", "mimalloc"] as const) {
    for (const { name, checkEvery: every } of TRACES) {
      const checkEvery = model === "mimalloc" && every === 1 && name.startsWith("git") ? 10 : every;
      it(`${model}: ${name} (checked every ${checkEvery === 1 ? "operation" : `${checkEvery} operations`})`, async () => {
        const lab = await createLab({ model });
        const summary = await lab.replay(resolve(dir, `${name}.trace.gz`), { checkEvery });
        expect(summary.ops).toBeGreaterThan(0);
        expect(lab.check()).toEqual([]);
      }, 600_000);
    }
  }
});
