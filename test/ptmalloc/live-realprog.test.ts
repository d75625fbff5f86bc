// The ptmalloc model against real programs recorded live (test/ptmalloc/realprog.ts): every address line must
// equal the real glibc 2.36's under three tunable configurations, and the programs' own recorded heap addresses.
// Multi-threaded programs are replayed with every op on one thread and with one thread (arena) per trace thread.
// A replay keeps every trace thread alive to the end, while the recorded program's threads exit (their arenas go
// to glibc's free list and their tcaches are flushed without a traced free), so multi-threaded programs are not
// compared with their own addresses.

import { beforeAll, describe, expect, it } from "vitest";
import { oracleUnavailable, runNative } from "../oracle/native.js";
import { firstDifference, glibcTunables, kernelPlacedByRegion, modelAddressLines, modelUnavailable } from "../differential/compare.js";
import {
  PROGRAM_NAMES, type Program, recordPrograms, recordedAddressLines, recordedHeapBase, recordingUnavailable,
} from "./realprog.js";

const skip = oracleUnavailable() ?? modelUnavailable("ptmalloc") ?? recordingUnavailable();
if (skip) console.warn(`skipping ptmalloc real-program tests: ${skip}`);

const CONFIGS = ["", "tcache_count=0", "mxfast=0:top_pad=0"];
const NAMES = PROGRAM_NAMES;

describe.skipIf(skip)("ptmalloc model vs glibc 2.36 on real programs recorded live", () => {
  const programs = new Map<string, Program>();
  beforeAll(async () => {
    for (const p of await recordPrograms()) programs.set(p.name, p);
  }, 120_000);

  for (const name of NAMES) {
    for (const config of CONFIGS) {
      for (const threads of ["merge", "real"] as const) {
        it(`${name} ${config || "default"} ${threads}`, async (ctx) => {
          const program = programs.get(name);
          if (!program || (threads === "real" && program.threads === 1)) return ctx.skip();
          const tunables = glibcTunables(config);
          const native = await runNative(program.trace, { tunables, threads });
          const model = await modelAddressLines(program.trace, {
            model: "ptmalloc", tunables, threads: threads === "real" ? "arena" : "merge", heapBase: native.heapBase,
          });
          expect(native.lines.length).toBeGreaterThan(1000);
          expect(firstDifference(kernelPlacedByRegion(native.lines), kernelPlacedByRegion(model))).toBeNull();
        }, 120_000);
      }
    }
    it(`${name}: the program's own heap addresses`, async (ctx) => {
      const program = programs.get(name);
      if (!program || program.threads > 1) return ctx.skip();
      const model = await modelAddressLines(program.trace, { model: "ptmalloc", heapBase: recordedHeapBase(program.trace) });
      const recorded = recordedAddressLines(program.trace);
      expect(firstDifference(recorded, kernelPlacedByRegion(model))).toBeNull();
    }, 120_000);
  }
});
