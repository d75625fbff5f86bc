// The jemalloc model against real programs recorded live (test/ptmalloc/realprog.ts): every address line and the
// stats.* totals must equal the real jemalloc 5.3.0's (preloaded into the native replayer, no ASLR, decay off),
// with every op on one thread and, for multi-threaded programs, with one thread (and arena) per trace thread.

import { beforeAll, describe, expect, it } from "vitest";
import { modelUnavailable } from "../differential/compare.js";
import { type Program, recordPrograms, recordingUnavailable } from "../ptmalloc/realprog.js";
import { firstDifference, jemallocUnavailable, runModel, runReal, statDifferences } from "./real.js";

const skip = jemallocUnavailable() ?? modelUnavailable("jemalloc") ?? recordingUnavailable();
if (skip) console.warn(`skipping jemalloc real-program tests: ${skip}`);

// "mix" calls pvalloc, which jemalloc 5.3.0 does not define: glibc's answers, and the real process crashes when
// it frees that block through jemalloc.
const NAMES = ["rounds", "perl", "awk", "sqlite3"];

describe.skipIf(skip)("jemalloc model vs jemalloc 5.3.0 on real programs recorded live", () => {
  const programs = new Map<string, Program>();
  beforeAll(async () => {
    for (const p of await recordPrograms()) programs.set(p.name, p);
  }, 120_000);

  for (const name of NAMES) {
    for (const threads of ["merge", "real"] as const) {
      it(`${name} ${threads}`, { timeout: 120_000 }, async (ctx) => {
        const program = programs.get(name);
        if (!program || (threads === "real" && program.threads === 1)) return ctx.skip();
        const real = await runReal(program.trace, "", threads);
        const model = await runModel(program.trace, real, {}, threads === "real" ? "arena" : "merge");
        expect(real.lines.length).toBeGreaterThan(1000);
        expect(firstDifference(real.lines, model.lines)).toBeNull();
        expect(statDifferences(real.stats, model.stats)).toEqual([]);
      });
    }
  }
});
