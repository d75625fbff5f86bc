// The report against the real allocators: on the shared single-threaded traces, footprint and live (peaks,
// finals, the op of each peak) and mallinfo2 at the end equal what glibc 2.36 reports for the same replay, and
// TCMalloc's totals equal MallocExtension's. Live bytes are recomputed here from the trace text, independently
// of the wasm metrics. The decomposition must add up to the footprint on every timeline row.

import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { type Report, replayReport } from "../../src/report/report.js";
import { readAllocTrace } from "../../src/trace/alloc-trace.js";
import {
  oracleUnavailable, runNative, runNativeText, sharedTraces, sharedTracesMissing, tcmallocUnavailable,
} from "../oracle/native.js";

const noTraces = oracleUnavailable() ?? sharedTracesMissing();
const noTcmalloc = noTraces ?? tcmallocUnavailable();
const singleThreaded = noTraces ? [] : sharedTraces().filter((t) => t.threads === 1);

interface Series {
  peak: number;
  /** 1-based index of the op at the peak: of those that tie, the one with the most `by`, then the last. */
  peakOp: number;
  final: number;
}

function series(values: ArrayLike<number>, by: ArrayLike<number> = values): Series {
  let peak = -1;
  let peakOp = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] > peak || (values[i] === peak && by[i] >= by[peakOp - 1])) {
      peak = values[i];
      peakOp = i + 1;
    }
  }
  return { peak, peakOp, final: values[values.length - 1] };
}

/** Live requested bytes after every op line of an alloc-trace v1 file. */
function liveAfterEachOp(gzPath: string): number[] {
  const sizes = new Map<string, number>();
  const out: number[] = [];
  let live = 0;
  const free = (ptr: string): void => {
    live -= sizes.get(ptr) ?? 0;
    sizes.delete(ptr);
  };
  const start = (res: string, bytes: number): void => {
    if (res === "0x0") return;
    free(res); // an address handed out again while the trace still held it: the recording missed a free
    sizes.set(res, bytes);
    live += bytes;
  };
  for (const line of gunzipSync(readFileSync(gzPath)).toString("latin1").split("\n")) {
    if (line === "" || line[0] === "#") continue;
    const f = line.split(" ");
    switch (f[2]) {
      case "m": case "v": case "V": start(f[4], Number(f[3])); break;
      case "c": start(f[5], Number(f[3]) * Number(f[4])); break;
      case "a": case "A": case "P": start(f[5], Number(f[4])); break;
      case "f": free(f[3]); break;
      case "r":
        if (f[3] === "0x0") start(f[5], Number(f[4]));
        else if (f[4] === "0") free(f[3]);
        else if (f[5] !== "0x0") {
          free(f[3]);
          start(f[5], Number(f[4]));
        }
        break;
    }
    out.push(live);
  }
  return out;
}

/** The header and the first `ops` operation lines of an alloc-trace v1 file. */
function tracePrefix(gzPath: string, ops: number): string {
  const out: string[] = [];
  let taken = 0;
  for (const line of gunzipSync(readFileSync(gzPath)).toString("latin1").split("\n")) {
    if (line === "") continue;
    if (line[0] !== "#") {
      if (taken === ops) break;
      taken++;
    }
    out.push(line);
  }
  return out.join("\n") + "\n";
}

/** Every timeline row: parts are non-negative, add up to the footprint, and their live part is the live bytes. */
function decompositionErrors(report: Report): string[] {
  const errors: string[] = [];
  for (const row of report.timeline ?? []) {
    const parts = Object.values(row.parts);
    const sum = parts.reduce((a, b) => a + b, 0);
    if (sum !== row.footprint || parts.some((v) => v < 0) || row.parts.live !== row.live) {
      errors.push(`op ${row.op}: footprint ${row.footprint}, live ${row.live}, parts ${JSON.stringify(row.parts)}`);
    }
  }
  return errors;
}

describe.skipIf(noTraces)("report vs glibc 2.36", () => {
  for (const trace of singleThreaded) {
    describe(trace.name, () => {
      const both = Promise.all([
        runNative(trace.path, { mallinfo: true, threads: "merge" }),
        replayReport(readAllocTrace(trace.path), { model: "ptmalloc", threads: "merge", timeline: true, every: 1000 }),
      ]);

      it("footprint (arena + hblkhd): peak, its op (of a plateau, the most live, then the last), final", async () => {
        const [native, report] = await both;
        expect(native.mallinfo.length).toBe(report.ops);
        const expected = series(native.mallinfo.map((m) => m.arena + m.hblkhd), liveAfterEachOp(trace.path));
        expect(report.footprint).toMatchObject(expected);
      });

      it("live bytes: peak, its op (the last at the peak), final", async () => {
        const [, report] = await both;
        expect(report.live).toMatchObject(series(liveAfterEachOp(trace.path)));
      });

      it("mallinfo2 at the end", async () => {
        const [native, report] = await both;
        const end = native.mallinfo[native.mallinfo.length - 1];
        expect(report.allocatorStats).toMatchObject(end);
      });

      it("the decomposition adds up on every timeline row, and its free parts are mallinfo's fordblks", async () => {
        const [native, report] = await both;
        expect(decompositionErrors(report).slice(0, 3)).toEqual([]);
        const d = report.decomposition.final;
        const end = native.mallinfo[native.mallinfo.length - 1];
        expect(d.fastbins + d.unsorted + d.smallBins + d.largeBins + d.top).toBe(end.fordblks);
      });
    });
  }
});

describe.skipIf(noTraces)("report vs glibc 2.36, threads in their own arenas", () => {
  const multiThreaded = noTraces ? [] : sharedTraces().filter((t) => t.threads > 1);
  for (const trace of multiThreaded) {
    it(`${trace.name}: footprint after every op, mallinfo2 at the end, decomposition sums`, async () => {
      const [native, report] = await Promise.all([
        runNative(trace.path, { mallinfo: true, threads: "real" }),
        replayReport(readAllocTrace(trace.path), { model: "ptmalloc", threads: "arena", timeline: true, every: 1 }),
      ]);
      const footprints = report.timeline!.filter((r) => r.kinds.includes("sample")).map((r) => r.footprint);
      expect(footprints).toEqual(native.mallinfo.map((m) => m.arena + m.hblkhd));
      expect(report.allocatorStats).toMatchObject(native.mallinfo[native.mallinfo.length - 1]);
      expect(decompositionErrors(report).slice(0, 3)).toEqual([]);
    });
  }
});

describe.skipIf(noTcmalloc)("report vs gperftools 2.10 TCMalloc", () => {
  for (const trace of singleThreaded) {
    describe(trace.name, () => {
      const both = Promise.all([
        runNative(trace.path, { allocator: "tcmalloc", stats: true, threads: "merge" }),
        replayReport(readAllocTrace(trace.path), { model: "tcmalloc", threads: "merge", timeline: true, every: 1000 }),
      ]);

      it("final footprint is heap size less unmapped bytes, and the totals equal MallocExtension's", async () => {
        const [native, report] = await both;
        const s = native.stats;
        expect(report.footprint.final).toBe(s["generic.heap_size"] - s["tcmalloc.pageheap_unmapped_bytes"]);
        const names = ["generic.current_allocated_bytes", "generic.heap_size", "tcmalloc.pageheap_free_bytes",
          "tcmalloc.pageheap_unmapped_bytes", "tcmalloc.central_cache_free_bytes", "tcmalloc.transfer_cache_free_bytes",
          "tcmalloc.thread_cache_free_bytes"];
        const pick = (o: Record<string, number>) => Object.fromEntries(names.map((n) => [n, o[n]]));
        expect(pick(report.allocatorStats)).toEqual(pick(s));
      });

      it("live bytes: peak, its op (the last at the peak), final", async () => {
        const [, report] = await both;
        expect(report.live).toMatchObject(series(liveAfterEachOp(trace.path)));
      });

      it("peak footprint: the real library holds it after the peak op", async () => {
        const [, report] = await both;
        const footprintAfter = async (ops: number): Promise<number> => {
          const s = (await runNativeText(tracePrefix(trace.path, ops), { allocator: "tcmalloc", stats: true })).stats;
          return s["generic.heap_size"] - s["tcmalloc.pageheap_unmapped_bytes"];
        };
        expect(await footprintAfter(report.footprint.peakOp)).toBe(report.footprint.peak);
      });

      it("the decomposition adds up on every timeline row, and its free parts are MallocExtension's", async () => {
        const [native, report] = await both;
        expect(decompositionErrors(report).slice(0, 3)).toEqual([]);
        const d = report.decomposition.final;
        const s = native.stats;
        // gperftools counts the span tails (CentralFreeList::OverheadBytes) in central_cache_free_bytes
        expect({
          thread: d.threadCaches, transfer: d.transferCache, central: d.centralLists + d.spanTails,
          pageheap: d.pageHeapFree,
        }).toEqual({
          thread: s["tcmalloc.thread_cache_free_bytes"], transfer: s["tcmalloc.transfer_cache_free_bytes"],
          central: s["tcmalloc.central_cache_free_bytes"], pageheap: s["tcmalloc.pageheap_free_bytes"],
        });
      });
    });
  }
});
