// The safety net: random traces through each model with the invariant checker after every operation, plus the
// properties every allocator keeps (aligned, disjoint, usable sizes, no aborts on valid frees; determinism on
// every fourth trace).
// HEAPLAB_FUZZ_OPS sets the budget per model (default 200 000 operations); HEAPLAB_FUZZ_SEED the first seed.

import { expect } from "vitest";
import { anyTraceArbitrary, fuzz } from "../../src/fuzz/index.js";
import type { ModelName } from "../../src/lab/types.js";

export const BUDGET = Number(process.env.HEAPLAB_FUZZ_OPS ?? 200_000);
const FIRST_SEED = Number(process.env.HEAPLAB_FUZZ_SEED ?? 20261127);
const RUNS_PER_SEED = 20;

/** Tunables the seeds take in turn: the defaults, then settings that route frees through other paths. */
const TUNABLES: Readonly<Record<ModelName, readonly string[]>> = {
  ptmalloc: [
    "", "glibc.malloc.tcache_count=0", "glibc.malloc.mxfast=0:glibc.malloc.tcache_count=0",
    "glibc.malloc.mmap_threshold=65536",
  ],
  tcmalloc: ["", "TCMALLOC_TRANSFER_NUM_OBJ=2", "TCMALLOC_AGGRESSIVE_DECOMMIT=1"],
};

/** Fuzzes `model` with fresh seeds until BUDGET operations have been replayed; fails on the first finding. */
export async function campaign(model: ModelName): Promise<void> {
  const started = performance.now();
  let ops = 0;
  let runs = 0;
  for (let seed = FIRST_SEED; ops < BUDGET; seed++) {
    const traces = anyTraceArbitrary({ maxOps: 2000 });
    const tunables = TUNABLES[model][(seed - FIRST_SEED) % TUNABLES[model].length];
    const result = await fuzz({ model, tunables, runs: RUNS_PER_SEED, seed, traces, deterministic: 4 });
    ops += result.ops;
    runs += result.runs;
    if (result.failure) {
      const { finding, text } = result.failure;
      expect.fail(`${model}, seed ${seed}, tunables '${tunables}': ${finding.property}: ${finding.message}\n` +
        `violations: ${JSON.stringify(finding.violations.slice(0, 5))}\nminimal trace:\n${text}`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`fuzz ${model}: runs ${runs}, ops ${ops}, violations 0 (${seconds.toFixed(1)} s)`);
  expect(ops).toBeGreaterThanOrEqual(BUDGET);
}
