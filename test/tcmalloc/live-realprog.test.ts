// The TCMalloc model against real programs recorded live (test/ptmalloc/realprog.ts): every address line must
// equal the real gperftools 2.10's (libtcmalloc_minimal preloaded into the native replayer), with every op on
// one thread and, for multi-threaded programs, with one thread (thread cache) per trace thread.

import { describe, expect } from "vitest";
import { runNative, tcmallocUnavailable } from "../oracle/native.js";
import { firstDifference, kernelPlacedByRegion, modelAddressLines, modelUnavailable } from "../differential/compare.js";
import { eachProgram, recordingUnavailable } from "../ptmalloc/realprog.js";

const skip = tcmallocUnavailable() ?? modelUnavailable("tcmalloc") ?? recordingUnavailable();
if (skip) console.warn(`skipping TCMalloc real-program tests: ${skip}`);

describe.skipIf(skip)("TCMalloc model vs gperftools 2.10 on real programs recorded live", () => {
  eachProgram(async (program, threads) => {
    const native = await runNative(program.trace, { allocator: "tcmalloc", threads });
    const model = await modelAddressLines(program.trace, {
      model: "tcmalloc", threads: threads === "real" ? "arena" : "merge", heapBase: native.heapBase,
    });
    expect(native.lines.length).toBeGreaterThan(1000);
    expect(firstDifference(kernelPlacedByRegion(native.lines), kernelPlacedByRegion(model))).toBeNull();
  });
});
