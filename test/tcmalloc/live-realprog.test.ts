// The TCMalloc model against real programs recorded live (test/ptmalloc/realprog.ts): every address line must
// equal the real gperftools 2.10's (libtcmalloc_minimal preloaded into the native replayer), with every op on
// one thread and, for multi-threaded programs, with one thread (thread cache) per trace thread.

import { beforeAll, describe, expect, it } from "vitest";
import { runNative, tcmallocUnavailable } from "../oracle/native.js";
import { firstDifference, kernelPlacedByRegion, modelAddressLines, modelUnavailable } from "../differential/compare.js";
import { type Program, recordPrograms, recordingUnavailable } from "../ptmalloc/realprog.js";

const skip = tcmallocUnavailable() ?? modelUnavailable("tcmalloc") ?? recordingUnavailable();
if (skip) console.warn(`skipping TCMalloc real-program tests: ${skip}`);

const NAMES = ["mix", "rounds", "perl", "awk", "sqlite3"];

describe.skipIf(skip)("TCMalloc model vs gperftools 2.10 on real programs recorded live", () => {
  const programs = new Map<string, Program>();
  beforeAll(async () => {
    for (const p of await recordPrograms()) programs.set(p.name, p);
  }, 120_000);

  for (const name of NAMES) {
    for (const threads of ["merge", "real"] as const) {
      it(`${name} ${threads}`, async (ctx) => {
        const program = programs.get(name);
        if (!program || (threads === "real" && program.threads === 1)) return ctx.skip();
        const native = await runNative(program.trace, { allocator: "tcmalloc", threads });
        const model = await modelAddressLines(program.trace, {
          model: "tcmalloc", threads: threads === "real" ? "arena" : "merge", heapBase: native.heapBase,
        });
        expect(native.lines.length).toBeGreaterThan(1000);
        expect(firstDifference(kernelPlacedByRegion(native.lines), kernelPlacedByRegion(model))).toBeNull();
      }, 120_000);
    }
  }
});
