// The shared traces of real programs on the real mimalloc 2.0.9 and on the model: every address line identical.
// Multi-threaded traces run twice: every op on the main thread, and one thread per trace thread (one heap each,
// blocks freed across threads through thread_free and the delayed-free list). At the end the model's heap walk
// must agree with its own accounting and its invariant checker must find nothing.

import { describe, expect, it } from "vitest";
import { sharedTraces } from "../oracle/native.js";
import { firstDifference } from "../differential/compare.js";
import { mimallocUnavailable, modelRun, realLines } from "./real.js";

const skip = mimallocUnavailable();

describe.skipIf(skip)("mimalloc model on the shared traces", () => {
  for (const trace of sharedTraces()) {
    const modes: Array<"merge" | "real"> = trace.threads > 1 ? ["merge", "real"] : ["merge"];
    for (const threads of modes) {
      it(`${trace.name} (${threads === "real" ? "one heap per thread" : "one thread"})`, async () => {
        const real = await realLines(trace.path, threads);
        const model = await modelRun(trace.path, threads === "real" ? "arena" : "merge");
        expect(real.length).toBeGreaterThan(0);
        expect(firstDifference(real, model.lines)).toBeNull();
        expect(model.walkLive).toBe(model.stats.live_block_bytes);
        expect(model.violations).toBe(0);
      }, 180_000);
    }
  }
});
