// Final statistics of the models against the real allocators after the same replay: glibc's mallinfo2()
// (summed over all arenas, as glibc reports it) and TCMalloc's MallocExtension numeric properties.

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  oracleUnavailable, runNative, runNativeText, sharedTraces, sharedTracesMissing, tcmallocUnavailable,
  type NativeOptions,
} from "../oracle/native.js";
import {
  BIG_TRACE_OPS, CONFIGS, glibcTunables, LONG, type ModelName, modelUnavailable, SEED, TIMEOUT,
} from "./compare.js";
import { traceText } from "./gen.js";
import { enabled, record, title, writeStatus } from "./status.js";

const MALLINFO_FIELDS = ["arena", "hblkhd", "uordblks", "fordblks"] as const;

/** The model's statistics after replaying a trace (a path, or the trace text). */
async function modelStats(
  source: string | Uint8Array, model: ModelName, tunables: string | undefined, threads: "merge" | "arena",
  heapBase: number,
): Promise<Record<string, number>> {
  const { createLab } = await import("../../src/lab/lab.js");
  const lab = await createLab({ model, tunables, options: { heap_base: heapBase } });
  await lab.replay(source, { threads });
  return lab.stats();
}

/** Fields where the model's final statistics differ from the real allocator's, as `name real≠model`. */
async function statDifferences(
  source: { path?: string; text?: string }, model: ModelName, tunables: string, threads: "merge" | "real",
): Promise<string[]> {
  const native: NativeOptions = {
    tunables: tunables || undefined, threads, allocator: model === "ptmalloc" ? "glibc" : "tcmalloc",
    mallinfo: model === "ptmalloc" ? "final" : false, stats: model === "tcmalloc",
  };
  const run = source.path ? await runNative(source.path, native) : await runNativeText(source.text!, native);
  const modelSource = source.path ?? new TextEncoder().encode(source.text!);
  const modelThreads = threads === "real" ? "arena" : "merge";
  const stats = await modelStats(modelSource, model, tunables || undefined, modelThreads, run.heapBase);
  const real: Record<string, number> = model === "ptmalloc"
    ? { ...(run.mallinfo.at(-1) ?? { arena: 0, hblkhd: 0, uordblks: 0, fordblks: 0 }) }
    : run.stats;
  const names = model === "ptmalloc" ? MALLINFO_FIELDS : Object.keys(real).filter((n) => n in stats);
  if (names.length < 4) return [`only ${names.length} statistics in common: ${Object.keys(real).join(", ")}`];
  return names.filter((n) => real[n] !== stats[n]).map((n) => `${n} ${real[n]}≠${stats[n]}`);
}

const skipGlibc = oracleUnavailable() ?? modelUnavailable("ptmalloc");
const skipTcmalloc = tcmallocUnavailable() ?? modelUnavailable("tcmalloc");
/** The biggest traces only with HEAPLAB_LONG=1: their address lines are checked in the default run already. */
const traces = (oracleUnavailable() ?? sharedTracesMissing() ? [] : sharedTraces())
  .filter((t) => LONG || t.ops <= BIG_TRACE_OPS);

afterAll(() => writeStatus("stats"));

describe.skipIf(skipGlibc)("ptmalloc model: final mallinfo2 as glibc reports it", () => {
  for (const trace of traces) {
    const modes: Array<"merge" | "real"> = trace.threads > 1 ? ["merge", "real"] : ["merge"];
    for (const threads of modes) {
      for (const config of CONFIGS.slice(0, 2)) {
        const id = `stats/ptmalloc/${trace.name}/${threads}/${config.name}`;
        it.skipIf(!enabled(id))(title(id), async () => {
          const tunables = glibcTunables(config.tunables);
          const differences = await statDifferences({ path: trace.path }, "ptmalloc", tunables, threads);
          record(id, differences[0] ?? null);
          expect(differences).toEqual([]);
        });
      }
    }
  }

  const fuzzId = "stats/ptmalloc/generated/default";
  it.skipIf(!enabled(fuzzId))(`${title(fuzzId)} (seed ${SEED})`, async () => {
    await fc.assert(fc.asyncProperty(traceText(200), async (text) => {
      const differences = await statDifferences({ text }, "ptmalloc", "", "merge");
      record(fuzzId, differences[0] ?? null);
      expect(differences).toEqual([]);
    }), { numRuns: 20, seed: SEED });
  }, TIMEOUT);
});

describe.skipIf(skipTcmalloc)("TCMalloc model: final MallocExtension properties as gperftools reports them", () => {
  for (const trace of traces) {
    const modes: Array<"merge" | "real"> = trace.threads > 1 ? ["merge", "real"] : ["merge"];
    for (const threads of modes) {
      const id = `stats/tcmalloc/${trace.name}/${threads}`;
      it.skipIf(!enabled(id))(title(id), async () => {
        const differences = await statDifferences({ path: trace.path }, "tcmalloc", "", threads);
        record(id, differences[0] ?? null);
        expect(differences).toEqual([]);
      }, TIMEOUT);
    }
  }
});
