// The mimalloc model against real programs recorded live (test/ptmalloc/realprog.ts): every address line must
// equal the real mimalloc 2.0.9's (preloaded into the native replayer), with every op on one thread and, for
// multi-threaded programs, with one heap per trace thread.

import { beforeAll, describe, expect, it } from "vitest";
import { firstDifference } from "../differential/compare.js";
import { type Program, recordPrograms, recordingUnavailable } from "../ptmalloc/realprog.js";
import { mimallocUnavailable, modelRun, realLines } from "./real.js";

const skip = mimallocUnavailable() ?? recordingUnavailable();
if (skip) console.warn(`skipping mimalloc real-program tests: ${skip}`);

const NAMES = ["mix", "rounds", "perl", "awk", "sqlite3"];

describe.skipIf(skip)("mimalloc model vs mimalloc 2.0.9 on real programs recorded live", () => {
  const programs = new Map<string, Program>();
  beforeAll(async () => {
    for (const p of await recordPrograms()) programs.set(p.name, p);
  }, 120_000);

  for (const name of NAMES) {
    for (const threads of ["merge", "real"] as const) {
      it(`${name} ${threads}`, async (ctx) => {
        const program = programs.get(name);
        if (!program || (threads === "real" && program.threads === 1)) return ctx.skip();
        const real = await realLines(program.trace, threads);
        const model = await modelRun(program.trace, threads === "real" ? "arena" : "merge");
        expect(real.length).toBeGreaterThan(1000);
        expect(firstDifference(real, model.lines)).toBeNull();
        expect(model.violations).toBe(0);
      }, 120_000);
    }
  }
});
