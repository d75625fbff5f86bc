// The invariant checker over whole replays: the shared traces (every 200 operations, one arena per thread) and
// generated traces (after every operation, decay never and at once) leave every structure consistent.

import { existsSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { modelUnavailable } from "../differential/compare.js";
import { traces } from "../tcmalloc/gen.js";

const skip = modelUnavailable("jemalloc");
const TRACES = "../shared/traces";

async function lab(options: Record<string, number> = {}) {
  const { createLab } = await import("../../src/lab/lab.js");
  return createLab({ model: "jemalloc", metrics: false, options });
}

describe.skipIf(skip)("jemalloc model's invariants over whole replays", () => {
  for (const name of ["sort-S1M", "git-log-p", "sort-mt", "git-repack-pack-objects-mt"]) {
    const path = `${TRACES}/${name}.trace.gz`;
    it.skipIf(!existsSync(path))(name, async () => {
      const l = await lab();
      await l.replay(readFileSync(path), { checkEvery: 200, threads: "arena" });
      expect(l.check()).toEqual([]);
    }, 120_000);
  }

  for (const decay of [-1, 0]) {
    it(`generated traces, three threads, checked after every op (dirty_decay_ms ${decay})`, async () => {
      await fc.assert(fc.asyncProperty(traces(3, 150), async (text) => {
        const l = await lab({ dirty_decay_ms: decay });
        await l.replay(new TextEncoder().encode(text), { checkEvery: 1, threads: "arena" });
        expect(l.check()).toEqual([]);
      }), { numRuns: 25 });
    }, 120_000);
  }
});
