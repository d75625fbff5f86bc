// The mimalloc model against real programs recorded live (test/ptmalloc/realprog.ts): every address line must
// equal the real mimalloc 2.0.9's (preloaded into the native replayer), with every op on one thread and, for
// multi-threaded programs, with one heap per trace thread, threads ending at their exit lines (their segments
// abandoned, and adopted by the threads that allocate next).

import { describe, expect } from "vitest";
import { firstDifference } from "../differential/compare.js";
import { eachProgram, recordingUnavailable } from "../ptmalloc/realprog.js";
import { mimallocUnavailable, modelRun, realLines } from "./real.js";

const skip = mimallocUnavailable() ?? recordingUnavailable();
if (skip) console.warn(`skipping mimalloc real-program tests: ${skip}`);

describe.skipIf(skip)("mimalloc model vs mimalloc 2.0.9 on real programs recorded live", () => {
  eachProgram(async (program, threads) => {
    const path = threads === "real" ? program.trace : program.withoutExits;
    const real = await realLines(path, threads);
    const model = await modelRun(path, threads === "real" ? "arena" : "merge");
    expect(real.length).toBeGreaterThan(1000);
    expect(firstDifference(real, model.lines)).toBeNull();
    expect(model.violations).toBe(0);
  });
});
