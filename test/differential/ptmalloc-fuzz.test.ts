// Generated traces (gen.ts) replayed on the real glibc 2.36 and on the ptmalloc model: identical address lines,
// counterexamples shrunk by fast-check. The seed is printed so a failure can be replayed with HEAPLAB_SEED.

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { oracleUnavailable, runNativeText } from "../oracle/native.js";
import {
  CONFIGS, firstDifference, glibcTunables, kernelPlacedByRegion, LONG, modelAddressLines, modelUnavailable, SEED,
  TIMEOUT,
} from "./compare.js";
import { traceText } from "./gen.js";
import { enabled, record, title, writeStatus } from "./status.js";

const RUNS = LONG ? 400 : 25;
const MAX_STEPS = LONG ? 2000 : 250;

const skip = oracleUnavailable() ?? modelUnavailable("ptmalloc");
if (skip) console.warn(`skipping ptmalloc fuzz differential tests: ${skip}`);

/** The model's first departure from glibc on one generated trace, or null. */
async function departure(text: string, tunables: string): Promise<string | null> {
  const native = await runNativeText(text, { tunables, threads: "merge" });
  const model = await modelAddressLines(new TextEncoder().encode(text), {
    model: "ptmalloc", tunables, threads: "merge", heapBase: native.heapBase,
  });
  return firstDifference(kernelPlacedByRegion(native.lines), kernelPlacedByRegion(model));
}

describe.skipIf(skip)(`ptmalloc model vs glibc 2.36 on generated traces (seed ${SEED})`, () => {
  afterAll(() => writeStatus("ptmalloc-fuzz"));
  for (const config of LONG ? CONFIGS : CONFIGS.slice(0, 4)) {
    const id = `ptmalloc-fuzz/generated/${config.name}`;
    it.skipIf(!enabled(id))(title(id), async () => {
      const tunables = glibcTunables(config.tunables);
      const result = await fc.check(
        fc.asyncProperty(traceText(MAX_STEPS), async (text) => (await departure(text, tunables)) === null),
        { numRuns: RUNS, seed: SEED },
      );
      if (!result.failed) {
        record(id, null);
        return;
      }
      const shrunk = (result.counterexample?.[0] as string | undefined) ?? "";
      const difference = await departure(shrunk, tunables);
      record(id, `${difference} (seed ${SEED})`);
      expect.fail(`seed ${SEED}: ${difference}\nshrunk trace (${shrunk.split("\n").length - 2} ops):\n${shrunk}`);
    }, TIMEOUT);
  }
});
