// The JS side of the report: histograms, the cost model, sweep combinations and ranking, compare's contestants,
// the CLI's JSON contract keys, and J&W of a whole replay against the real glibc's mallinfo2 series.

import { afterEach, describe, expect, it, vi } from "vitest";
import { compareReplays, formatComparison, parseContestant } from "../../src/report/compare.js";
import { DEFAULT_COSTS, parseCosts } from "../../src/report/cost.js";
import { explain } from "../../src/report/fragmentation.js";
import type { Bucket, Histograms } from "../../src/report/histograms.js";
import { metricAt, replayReport } from "../../src/report/report.js";
import { combinations, parseVariation, rank, sweep } from "../../src/report/sweep.js";
import { timelineCsvHeader, timelineCsvLines } from "../../src/report/timeline.js";
import { readAllocTrace } from "../../src/trace/alloc-trace.js";
import { run as replayCli } from "../../src/cli/replay.js";
import { oracleUnavailable, runNativeText, sharedTraces, sharedTracesMissing } from "../oracle/native.js";

const text = (lines: string[]): Uint8Array => new TextEncoder().encode(["# alloc-trace v1 pid=7 ppid=1 exe=t", ...lines, ""].join("\n"));

// 1 malloc(24)  2 calloc(4, 10)  3 realloc(a, 100)  4 free(b)  5 malloc(0)  6 free(c)  7 realloc(a, 0)
const SMALL = [
  "1 7 m 24 0x1000", "2 7 c 4 10 0x2000", "3 7 r 0x1000 100 0x3000", "4 7 f 0x2000", "5 7 m 0 0x4000",
  "6 7 f 0x4000", "7 7 r 0x3000 0 0x0",
];

/** The histograms of a trace computed from its text alone, keyed by trace address: the reference. */
async function referenceHistograms(bytes: Uint8Array): Promise<Histograms> {
  const sizes = new Map<number, Bucket>();
  const lifetimes = new Map<number, Bucket>();
  const bump = (into: Map<number, Bucket>, v: number) => {
    const k = v <= 1 ? v : Math.ceil(Math.log2(v)) + 1;
    const b = into.get(k) ?? { from: k <= 1 ? 0 : 2 ** (k - 2), to: k === 0 ? 0 : 2 ** (k - 1), count: 0, total: 0 };
    b.count++;
    b.total += v;
    into.set(k, b);
  };
  const born = new Map<number, number>();
  let op = 0;
  for await (const batch of readAllocTrace(bytes).batches()) {
    for (let i = 0; i < batch.length; i++) {
      op++;
      const [code, ptr, res, a, b] = [batch.code[i], batch.ptr[i], batch.res[i], batch.a[i], batch.b[i]];
      if (code === 10) continue; // trim
      const freeing = code === 4 || (code === 3 && ptr !== 0 && a === 0);
      if (freeing) {
        if (born.has(ptr)) bump(lifetimes, op - born.get(ptr)!);
        born.delete(ptr);
        continue;
      }
      bump(sizes, code === 2 ? a * b : code >= 5 && code <= 7 ? b : a);
      if (res === 0) continue;
      if (code === 3 && ptr !== 0) {
        const birth = born.get(ptr)!;
        born.delete(ptr);
        born.set(res, birth);
      } else {
        born.set(res, op);
      }
    }
  }
  const sorted = (m: Map<number, Bucket>) => [...m.entries()].sort((x, y) => x[0] - y[0]).map(([, b]) => b);
  return { sizes: sorted(sizes), lifetimes: sorted(lifetimes), liveAtEnd: born.size };
}

describe("trace histograms", () => {
  it.each(["ptmalloc", "tcmalloc"] as const)("buckets request sizes by powers of two and lifetimes in ops (%s)",
    async (model) => {
      const r = (await replayReport(text(SMALL), { model })).histograms;
      // sizes 24, 40, 100, 0 → buckets {0}, (16, 32], (32, 64], (64, 128]
      expect(r.sizes.map((b) => [b.from, b.to, b.count, b.total])).toEqual([[0, 0, 1, 0], [16, 32, 1, 24],
        [32, 64, 1, 40], [64, 128, 1, 100]]);
      // b: ops 2 → 4 (2), the malloc(0): 5 → 6 (1), a (moved by realloc): 1 → 7 (6)
      expect(r.lifetimes.map((b) => [b.from, b.to, b.count])).toEqual([[0, 1, 1], [1, 2, 1], [4, 8, 1]]);
      expect(r.liveAtEnd).toBe(0);
    });

  it.each(["ptmalloc", "tcmalloc"] as const)("start a new lifetime for a block whose free the trace missed (%s)",
    async (model) => {
      // 0x1000 is allocated again at op 3 while still live: the block of op 1 is lost, the new one lives 3 → 4
      const lines = ["1 7 m 24 0x1000", "2 7 m 40 0x2000", "3 7 m 24 0x1000", "4 7 f 0x1000", "5 7 f 0x2000"];
      const report = await replayReport(text(lines), { model, checkEvery: 1 });
      expect(report.replay.pointerReuse).toBe(1);
      expect(report.histograms).toEqual(await referenceHistograms(text(lines)));
      expect(report.live.final).toBe(0);
    });

  it("buckets sizes up to 2^64 without growing", async () => {
    const r = (await replayReport(text(["1 7 m 18446744073709551615 0x0", "2 7 m 9223372036854777856 0x0"]))).histograms;
    expect(r.sizes.map((b) => [b.from, b.to, b.count])).toEqual([[2 ** 63, 2 ** 64, 2]]);
  });

  it.skipIf(sharedTracesMissing())("equal a reference computed from the trace text, on every shared trace", async () => {
    const { readFileSync } = await import("node:fs");
    const { gunzipSync } = await import("node:zlib");
    for (const { name, path } of sharedTraces()) {
      const bytes = gunzipSync(readFileSync(path));
      const report = await replayReport(bytes, { model: "ptmalloc", every: 0 });
      expect(report.histograms, name).toEqual(await referenceHistograms(bytes));
    }
  });
});

describe("fragmentation explained", () => {
  it("splits parts into live, internal, external and metadata fractions", () => {
    expect(explain({ live: 50, headers: 10, rounding: 15, tcache: 12, top: 8, metadata: 5 }))
      .toEqual({ live: 0.5, internal: 0.25, external: 0.2, metadata: 0.05 });
    expect(explain({ live: 0, other: 0 })).toBeNull();
  });
});

describe("cost model and sweep plumbing", () => {
  it("parses --cost overrides and rejects unknown names", () => {
    expect(parseCosts(["syscall=250"])).toEqual({ ...DEFAULT_COSTS, syscall: 250 });
    expect(() => parseCosts(["fault=1"])).toThrow(/name one of/);
  });

  it("builds every combination of --vary values, first variation slowest", () => {
    const v = [parseVariation("a=1,2"), parseVariation("b=0,5,9")];
    expect(combinations(v)).toEqual([
      { a: 1, b: 0 }, { a: 1, b: 5 }, { a: 1, b: 9 }, { a: 2, b: 0 }, { a: 2, b: 5 }, { a: 2, b: 9 },
    ]);
    expect(() => parseVariation("a=x")).toThrow();
  });

  it("gives each model the tunables that belong to it", () => {
    const shared = { "glibc.malloc.mxfast": 0, TCMALLOC_RELEASE_RATE: 0, heap_base: 4096 };
    expect(parseContestant("tcmalloc", shared).options).toEqual({ TCMALLOC_RELEASE_RATE: 0, heap_base: 4096 });
    expect(parseContestant("ptmalloc:glibc.malloc.tcache_count=0", shared).options)
      .toEqual({ "glibc.malloc.mxfast": 0, heap_base: 4096, "glibc.malloc.tcache_count": 0 });
  });
});

describe("a ptmalloc replay report", () => {
  afterEach(() => { vi.restoreAllMocks(); });

  it("tracks live bytes by hand on a small trace and writes consistent timeline rows", async () => {
    const report = await replayReport(text(SMALL), { model: "ptmalloc", timeline: true, every: 1 });
    // live: 24, 64, 140, 100, 100, 100, 0 → peak 140 first at op 3
    expect(report.live).toMatchObject({ peak: 140, peakOp: 3, peakLine: 4, final: 0 });
    expect(report.timeline!.map((r) => r.live)).toEqual([24, 64, 140, 100, 100, 100, 0]);
    const parts = report.decomposition.parts;
    const lines = timelineCsvLines(report.timeline!, parts);
    expect(timelineCsvHeader(parts).split(",")).toHaveLength(7 + parts.length);
    // the footprint has not moved since op 1: op 3, with the most live bytes, is its peak too
    expect(lines[2].split(",").slice(0, 5)).toEqual(["3", "3", "4", "sample+peak-live+peak-footprint", "140"]);
    expect(report.footprint.peakOp).toBe(3);
    expect(metricAt(report, "fragmentation.johnstoneWilson.3")).toBe(report.fragmentation.johnstoneWilson[3]);
  });

  it("models resident pages: a mmapped block's pages come and go with it", async () => {
    const report = await replayReport(text(["1 7 m 1048576 0x7000010", "2 7 f 0x7000010"]), { model: "ptmalloc" });
    // the chunk header and 1 MiB of payload from a page boundary (+16): 256 pages and one more; munmap drops them
    expect(report.syscalls).toMatchObject({ mmap: 1, munmap: 1 });
    expect(report.resident).toEqual({ peak: 257 * 4096, final: 0 });
  });

  it("decomposes the peaks of a trace that peaks on every op, in one replay", async () => {
    // 30 000 mallocs of 24 bytes, never freed: the live peak is the last op, the footprint peak the last brk
    const lines = Array.from({ length: 30000 }, (_, k) => `${k + 1} 7 m 24 0x${(0x10000 + 32 * k).toString(16)}`);
    const report = await replayReport(text(lines), { model: "ptmalloc", every: 0 });
    expect(report.live).toMatchObject({ peak: 24 * 30000, peakOp: 30000 });
    const atLive = report.decomposition.atPeakLive!;
    expect([atLive.live, atLive.headers, atLive.rounding]).toEqual([24 * 30000, 8 * 30000, 0]);
    const op = report.footprint.peakOp;
    expect(op).toBeGreaterThan(20000);
    const atFootprint = report.decomposition.atPeakFootprint!;
    expect([atFootprint.live, atFootprint.headers]).toEqual([24 * op, 8 * op]);
    expect(Object.values(atFootprint).reduce((a, b) => a + b, 0)).toBe(report.footprint.peak);
  });

  it("prints the contract keys with --json", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const { writeFileSync, mkdtempSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const path = join(mkdtempSync(join(tmpdir(), "heaplab-report-")), "small.trace");
    writeFileSync(path, text(SMALL));
    expect(await replayCli([path, "--model", "ptmalloc", "--json"])).toBe(0);
    const r = JSON.parse(String(log.mock.calls[0][0]));
    for (const key of ["footprint.peak", "footprint.final", "live.peak", "live.final", "allocatorStats.arena",
      "allocatorStats.hblkhd", "allocatorStats.uordblks", "allocatorStats.fordblks", "syscalls.brk", "syscalls.mmap",
      "syscalls.munmap", "syscalls.mremap", "syscalls.madvise"]) {
      expect(typeof metricAt(r, key), key).toBe("number");
    }
    expect(r.fragmentation.johnstoneWilson).toHaveLength(4);
    expect(r.loss).toBeDefined();
  });
});

describe("compare", () => {
  it("puts both models in one table and marks the smaller footprint", async () => {
    const reports = await compareReplays(text(SMALL), [{ model: "ptmalloc" }, { model: "tcmalloc" }]);
    expect(reports.map((r) => r.live.peak)).toEqual([140, 140]);
    const table = formatComparison(reports, ["ptmalloc", "tcmalloc"]);
    const row = table.split("\n").find((l) => l.startsWith("footprint peak"))!;
    const [pt, tc] = reports.map((r) => r.footprint.peak);
    expect(pt).not.toBe(tc);
    const [, ptCell, tcCell] = row.split(/ {2,}/);
    expect([ptCell.includes("◀"), tcCell.includes("◀")]).toEqual([pt < tc, tc < pt]);
  });
});

describe.skipIf(oracleUnavailable())("J&W of a whole replay vs glibc's mallinfo2", () => {
  it("equals the four measures computed from the real allocator's footprint after every op", async () => {
    // sizes chosen to cross the mmap threshold and to leave holes: live is computed by hand below
    const sizes = [100, 200000, 5000, 300, 150000, 40];
    const lines: string[] = [];
    let seq = 0;
    sizes.forEach((s, i) => lines.push(`${++seq} 7 m ${s} 0x${(0x1000 * (i + 1)).toString(16)}`));
    for (const i of [1, 3, 0]) lines.push(`${++seq} 7 f 0x${(0x1000 * (i + 1)).toString(16)}`);
    const live: number[] = [];
    let sum = 0;
    for (const s of sizes) live.push(sum += s);
    for (const i of [1, 3, 0]) live.push(sum -= sizes[i]);
    const trace = ["# alloc-trace v1 pid=7 ppid=1 exe=t", ...lines, ""].join("\n");
    const native = await runNativeText(trace, { mallinfo: true });
    const h = native.mallinfo.map((m) => m.arena + m.hblkhd);
    const ratios = h.map((v, i) => v / live[i]);
    // ties: the last op at the live peak; at the footprint peak, the op with the most live bytes, the last of those
    const iL = live.lastIndexOf(Math.max(...live));
    const iH = h.reduce((best, v, i) => (v === h[best] && live[i] >= live[best] ? i : v > h[best] ? i : best), 0);
    const expected = [ratios.reduce((a, b) => a + b, 0) / ratios.length - 1, ratios[iL] - 1, ratios[iH] - 1,
      Math.max(...h) / Math.max(...live) - 1];
    const report = await replayReport(new TextEncoder().encode(trace), { model: "ptmalloc" });
    report.fragmentation.johnstoneWilson.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
  });
});

describe.skipIf(sharedTracesMissing())("sweep", () => {
  it("replays every combination and ranks them (in-process)", async () => {
    const trace = sharedTraces().find((t) => t.name === "sort-S1M")!.path;
    const results = await sweep(trace, [parseVariation("glibc.malloc.top_pad=0,131072")],
      { model: "ptmalloc", workers: 0, every: 0 });
    expect(results.map((r) => r.options["glibc.malloc.top_pad"])).toEqual([0, 131072]);
    // without top padding the heap grows by exactly what it needs: never more than with 128 KiB of padding
    const ranked = rank(results, "footprint.peak");
    expect(ranked[0].options["glibc.malloc.top_pad"]).toBe(0);
    expect(ranked[0].report.footprint.peak).toBeLessThanOrEqual(ranked[1].report.footprint.peak);
  });
});

describe("formatCount", () => {
  it("groups digits as toLocaleString('en-US') does", async () => {
    const { formatCount } = await import("../../src/report/format.js");
    const fc = (await import("fast-check")).default;
    fc.assert(fc.property(fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.double({ min: -1e15, max: 1e15, noNaN: true })), (n) => {
      expect(formatCount(n)).toBe((Math.round(n) + 0).toLocaleString("en-US")); // -0 prints as 0
    }), { numRuns: 500 });
  });
});
