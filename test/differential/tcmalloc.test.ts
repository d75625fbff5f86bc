// The TCMalloc model against the real gperftools 2.10 (libtcmalloc_minimal preloaded into the native replayer):
// the size map against nallocx, the shared traces (merged and on real threads), and generated traces.
// Heap offsets count from the initial program break rounded up to 8 KiB on both sides.

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  runNative, runNativeText, sharedTraces, sharedTracesMissing, tcmallocNallocx, tcmallocUnavailable,
} from "../oracle/native.js";
import {
  firstDifference, kernelPlacedByRegion, LONG, modelAddressLines, modelUnavailable, SEED, TIMEOUT,
} from "./compare.js";
import { traceText } from "./gen.js";
import { enabled, record, title, writeStatus } from "./status.js";

const skip = tcmallocUnavailable() ?? modelUnavailable("tcmalloc");
if (skip) console.warn(`skipping TCMalloc differential tests: ${skip}`);
const noTraces = skip ?? sharedTracesMissing();


/** Sizes whose allocated size the size-map test checks: every size to 2 KiB, each class boundary ±1, and a
 * stride through the rest up to kMaxSize and beyond (whole pages). */
function sampleSizes(nallocx: Map<number, number>): number[] {
  const sizes = new Set<number>();
  for (let s = 0; s <= 2048; s++) sizes.add(s);
  for (const allocated of new Set(nallocx.values())) {
    for (const s of [allocated - 1, allocated, allocated + 1]) if (nallocx.has(s)) sizes.add(s);
  }
  for (let s = 2048; s <= 262_144; s += 509) sizes.add(s);
  for (const s of nallocx.keys()) if (s > 262_144) sizes.add(s);
  return [...sizes].sort((a, b) => a - b);
}

describe.skipIf(skip)("TCMalloc model vs gperftools 2.10", () => {
  afterAll(() => writeStatus("tcmalloc"));

  const sizeMapId = "tcmalloc/size-map/nallocx";
  it.skipIf(!enabled(sizeMapId))(title(sizeMapId), async () => {
    const nallocx = await tcmallocNallocx();
    const { createLab } = await import("../../src/lab/lab.js");
    const lab = await createLab({ model: "tcmalloc" });
    const wrong: string[] = [];
    for (const size of sampleSizes(nallocx)) {
      const p = lab.malloc(size);
      const usable = lab.usableSize(p);
      if (usable !== nallocx.get(size)) wrong.push(`malloc(${size}): real ${nallocx.get(size)}, model ${usable}`);
      lab.free(p);
    }
    record(sizeMapId, wrong[0] ?? null);
    expect(wrong.slice(0, 10)).toEqual([]);
  }, TIMEOUT);

  for (const trace of noTraces ? [] : sharedTraces()) {
    const modes: Array<["merge" | "real", "merge" | "arena"]> = trace.threads > 1
      ? [["merge", "merge"], ["real", "arena"]] : [["merge", "merge"]];
    for (const [nativeThreads, modelThreads] of modes) {
      const id = `tcmalloc/${trace.name}/${nativeThreads === "real" ? "threads" : "merged"}`;
      it.skipIf(!enabled(id))(title(id), async () => {
        const native = await runNative(trace.path, { allocator: "tcmalloc", threads: nativeThreads });
        const model = await modelAddressLines(trace.path, {
          model: "tcmalloc", threads: modelThreads, heapBase: native.heapBase,
        });
        // mmap lines by region: the kernel chooses mmap addresses (see kernelPlacedByRegion).
        const difference = firstDifference(kernelPlacedByRegion(native.lines), kernelPlacedByRegion(model));
        record(id, difference);
        expect(difference).toBeNull();
      }, TIMEOUT);
    }
  }

  const fuzzId = "tcmalloc/generated/default";
  it.skipIf(!enabled(fuzzId))(`${title(fuzzId)} (seed ${SEED})`, async () => {
    const departure = async (text: string): Promise<string | null> => {
      const native = await runNativeText(text, { allocator: "tcmalloc", threads: "merge" });
      const model = await modelAddressLines(new TextEncoder().encode(text), {
        model: "tcmalloc", threads: "merge", heapBase: native.heapBase,
      });
      return firstDifference(kernelPlacedByRegion(native.lines), kernelPlacedByRegion(model));
    };
    const result = await fc.check(
      fc.asyncProperty(traceText(LONG ? 2000 : 250), async (text) => (await departure(text)) === null),
      { numRuns: LONG ? 400 : 25, seed: SEED },
    );
    if (!result.failed) {
      record(fuzzId, null);
      return;
    }
    const shrunk = (result.counterexample?.[0] as string | undefined) ?? "";
    const difference = await departure(shrunk);
    record(fuzzId, `${difference} (seed ${SEED})`);
    expect.fail(`seed ${SEED}: ${difference}\nshrunk trace (${shrunk.split("\n").length - 2} ops):\n${shrunk}`);
  }, TIMEOUT);
});
