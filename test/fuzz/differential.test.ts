// HEAPLAB_DIFF=1: fuzz each model differentially against the real allocator (test/oracle's native replayer).
// Every random trace is replayed on glibc 2.36 or gperftools 2.10 and on the model, single-threaded; the first
// address line where they part is the failure, shrunk to a minimal trace. HEAPLAB_FUZZ_RUNS sets the traces per
// model (default 100), HEAPLAB_FUZZ_SEED the seed.

import { describe, expect, it } from "vitest";
import { fuzz, formatAllocTrace, traceArbitrary } from "../../src/fuzz/index.js";
import type { TraceOp } from "../../src/trace/types.js";
import { firstDifference, kernelPlacedByRegion, modelAddressLines } from "../differential/compare.js";
import { oracleUnavailable, runNativeText, tcmallocUnavailable } from "../oracle/native.js";

const ENABLED = process.env.HEAPLAB_DIFF === "1";
const RUNS = Number(process.env.HEAPLAB_FUZZ_RUNS ?? 100);
const SEED = Number(process.env.HEAPLAB_FUZZ_SEED ?? 20261127);

/** Throws the first address line where the model departs from the real allocator on `ops`. */
async function agreeWithNative(model: "ptmalloc" | "tcmalloc", ops: readonly TraceOp[]): Promise<void> {
  const text = formatAllocTrace(ops);
  const allocator = model === "ptmalloc" ? "glibc" : "tcmalloc";
  const native = await runNativeText(text, { threads: "merge", allocator });
  const lines = await modelAddressLines(new TextEncoder().encode(text), {
    model, threads: "merge", heapBase: native.heapBase,
  });
  const difference = firstDifference(kernelPlacedByRegion(native.lines), kernelPlacedByRegion(lines));
  if (difference) throw new Error(difference);
}

describe.skipIf(!ENABLED)("differential fuzzing against the real allocators (HEAPLAB_DIFF=1)", () => {
  for (const model of ["ptmalloc", "tcmalloc"] as const) {
    const unavailable = model === "ptmalloc" ? oracleUnavailable() : tcmallocUnavailable();
    it.skipIf(unavailable !== null)(`${model}: ${RUNS} traces agree address by address`, async () => {
      const result = await fuzz({
        model,
        runs: RUNS,
        seed: SEED,
        traces: traceArbitrary({ sizes: "small", lifetimes: "random", threads: 1, maxOps: 400 }),
        deterministic: false,
        property: (_lab, ops) => agreeWithNative(model, ops),
      });
      if (result.failure) {
        expect.fail(`${model}, seed ${result.seed}: ${result.failure.finding.message}\nminimal trace:\n${result.failure.text}`);
      }
    }, 3_600_000);
  }
});
