// The shared traces of real programs on the real mimalloc 2.0.9 and on the model: every address line identical.
// Multi-threaded traces run twice: every op on the main thread, and one thread per trace thread (one heap each,
// blocks freed across threads through thread_free and the delayed-free list). At the end the model's heap walk
// must agree with its own accounting and its invariant checker must find nothing.

import { describe, expect, it } from "vitest";
import { sharedTraces } from "../oracle/native.js";
import { firstDifference } from "../differential/compare.js";
import { mimallocUnavailable, modelRun, realLines, realRun, statAmount, statRow } from "./real.js";

const skip = mimallocUnavailable();

describe.skipIf(skip)("mimalloc model on the shared traces", () => {
  for (const trace of sharedTraces()) {
    const modes: Array<"merge" | "real"> = trace.threads > 1 ? ["merge", "real"] : ["merge"];
    for (const threads of modes) {
      it(`${trace.name} (${threads === "real" ? "one heap per thread" : "one thread"})`, async () => {
        const real = await realLines(trace.path, threads);
        // the invariant checker after every op, where the trace is short enough for it
        const model = await modelRun(trace.path, threads === "real" ? "arena" : "merge", {},
          trace.ops <= 40_000 ? 1 : undefined);
        expect(real.length).toBeGreaterThan(0);
        expect(firstDifference(real, model.lines)).toBeNull();
        expect(model.walkLive).toBe(model.stats.live_block_bytes);
        expect(model.violations).toBe(0);
      }, 180_000);
    }
  }
});

// A release build keeps few statistics (the per-size and page counters are compiled out, only decrements of
// `pages` survive); those it keeps must read as mi_stats_print prints them.
describe.skipIf(skip)("mimalloc model's statistics against mi_stats_print", () => {
  for (const trace of sharedTraces()) {
    it(`${trace.name}: reserved, segments and pages freed`, async () => {
      const real = await realRun(trace.path, "merge");
      const { stats } = await modelRun(trace.path, "merge");
      const bytes = (n: number) => statAmount(n, true);
      const counts = (n: number) => statAmount(n, false);
      const reserved = [stats["reserved.peak"], stats["reserved.total"], stats["reserved.total"] - stats["reserved.current"],
        stats["reserved.current"]].flatMap(bytes);
      expect(statRow(real.statLines, "reserved").slice(0, reserved.length)).toEqual(reserved);
      const segments = [stats["segments.peak"], stats["segments.total"],
        stats["segments.total"] - stats["segments.current"], stats["segments.current"]].flatMap(counts);
      expect(statRow(real.statLines, "segments").slice(0, segments.length)).toEqual(segments);
      const pagesFreed = counts(stats["pages.total"] - stats["pages.current"]);
      expect(statRow(real.statLines, "pages").slice(2, 2 + pagesFreed.length)).toEqual(pagesFreed);
    }, 180_000);
  }
});
