// The wasm metrics (assembly/common/metrics.ts) on a hand-computed ten-operation replay, through a stand-in
// model whose footprint, system calls and locks the test sets op by op. Every expected value below is worked
// out by hand in the comments.

import { beforeAll, describe, expect, it } from "vitest";
import { johnstoneWilson, peakUtilization } from "../../src/report/fragmentation.js";
import { ModelMetrics, type RawMetrics } from "../../src/report/metrics.js";
import { classTable, DEFAULT_COSTS } from "../../src/report/cost.js";
import { type Harness, harness } from "./harness.js";

const M = 1, C = 2, R = 3, F = 4;

// code, object, a, b, address, footprint, syscalls, locks, live after the op
const SCRIPT: number[][] = [
  [M, 0, 100, 0, 0x10010, 400, 1, 1, 100], //  1 live 100  H/L 4
  [M, 1, 300, 0, 0x20010, 600, 0, 1, 400], //  2 live 400  H/L 1.5
  [F, 0, 0, 0, 0, 600, 0, 1, 300], //          3 live 300  H/L 2
  [C, 2, 10, 20, 0x30ff0, 600, 0, 1, 500], //  4 live 500  H/L 1.2  first max live
  [R, 1, 50, 0, 0x20010, 1000, 2, 1, 250], //  5 live 250  H/L 4    first max footprint
  [M, 0, 250, 0, 0x40010, 1000, 0, 1, 500], // 6 live 500  H/L 2    ties both maxima, with more live: both peaks
  [F, 2, 0, 0, 0, 200, 1, 1, 300], //          7 live 300  H/L 2/3
  [R, 1, 0, 0, 0, 200, 0, 1, 250], //          8 realloc(p, 0) frees: live 250, H/L 0.8
  [F, 0, 0, 0, 0, 200, 0, 1, 0], //            9 live 0: skipped by #1
  [F, -1, 0, 0, 0, 200, 0, 1, 0], //          10 free(NULL): skipped by #1
];

async function replay(every: number): Promise<{ h: Harness; metrics: ModelMetrics; m: RawMetrics; rows: number }> {
  const h = await harness();
  const metrics = new ModelMetrics({ name: "ptmalloc", wasm: h as never });
  metrics.configure(every, 100);
  for (const [code, object, a, b, address, footprint, syscalls, locks, live] of SCRIPT) {
    h.step(code, object, a, b, address, footprint, syscalls, locks, live, 0);
  }
  const rows = metrics.drain(null, SCRIPT.length);
  return { h, metrics, m: metrics.read(), rows: rows.length };
}

describe("replay metrics", () => {
  let run: Awaited<ReturnType<typeof replay>>;
  beforeAll(async () => { run = await replay(0); });

  it("tracks live bytes through malloc, calloc, realloc and free", () => {
    expect(run.m.ops).toBe(10);
    expect(run.m.live).toBe(0);
    expect(run.m.footprint).toBe(200);
    expect(run.m.maxLive).toBe(500);
    expect(run.m.maxLiveOp).toBe(6);
    expect(run.m.footprintAtMaxLive).toBe(1000);
    expect(run.m.maxFootprint).toBe(1000);
    expect(run.m.maxFootprintOp).toBe(6);
    expect(run.m.liveAtMaxFootprint).toBe(500);
  });

  it("computes Johnstone & Wilson #1–#4", () => {
    // #1: mean of 4, 1.5, 2, 1.2, 4, 2, 2/3, 0.8 = (97/6)/8 = 97/48, minus 1 = 49/48
    // #2: 1000/500 − 1 = 1 · #3: 1000/500 − 1 = 1 · #4: 1000/500 − 1 = 1
    const [j1, j2, j3, j4] = johnstoneWilson(run.m);
    expect(j1).toBeCloseTo(49 / 48, 12);
    expect(j2).toBeCloseTo(1, 12);
    expect(j3).toBeCloseTo(1, 12);
    expect(j4).toBeCloseTo(1, 12);
    expect(peakUtilization(run.m)).toBeCloseTo(0.5, 12);
  });

  it("captures the decomposition at each peak, ties broken toward the most live bytes, then the last op", () => {
    // the stand-in decomposes into [live, footprint − live]: op 6 → [500, 500] for both peaks
    expect(run.m.partsAtPeakLive).toEqual({ a: 500, b: 500 });
    expect(run.m.partsAtPeakFootprint).toEqual({ a: 500, b: 500 });
    expect(run.m.partsFinal).toEqual({ a: 0, b: 200 });
  });

  it("records a row at every new peak, plus every K ops", async () => {
    // peaks: op 1 (both), op 2 (both), op 4 (live; footprint ties with more live), op 5 (footprint), op 6 (both)
    expect(run.rows).toBe(5);
    // every 3 ops adds ops 3 and 9 (op 6 is a peak row already)
    expect((await replay(3)).rows).toBe(7);
  });

  it("charges system calls and locks to operation classes", () => {
    // large (≥ 100 B): ops 1, 2, 4, 6 (one syscall at op 1); small: op 5 (2 syscalls); free: ops 3, 7, 8, 9, 10
    expect(run.m.classes["large alloc"]).toEqual({ calls: 4, callsInKernel: 1, syscalls: 1, locks: 4 });
    expect(run.m.classes["small alloc"]).toEqual({ calls: 1, callsInKernel: 1, syscalls: 2, locks: 1 });
    expect(run.m.classes.free).toEqual({ calls: 5, callsInKernel: 1, syscalls: 1, locks: 5 });
    const free = classTable(run.m, DEFAULT_COSTS).find((c) => c.class === "free")!;
    expect(free.withoutKernel).toBeCloseTo(0.8, 12);
    expect(free.ns).toBe(5 * DEFAULT_COSTS.call + 1 * DEFAULT_COSTS.syscall + 5 * DEFAULT_COSTS.lock);
    expect(run.m.counters.brk.count).toBe(4);
  });

  it("models resident pages: touched by allocations, dropped on release", () => {
    // pages 0x10, 0x20, 0x30 and 0x31 (the calloc straddles), 0x40: five pages; op 5 reuses page 0x20
    expect(run.m.maxResident).toBe(5 * 4096);
    run.h.metricsRelease(0x30000n, 0x2000n);
    expect(run.metrics.read().resident).toBe(3 * 4096);
  });

  it("decomposes every peak of a trace that peaks on every op, and every sample", async () => {
    // 20 000 mallocs, never freed: every op is a new live peak, and each one is decomposed
    const h = await harness();
    const metrics = new ModelMetrics({ name: "ptmalloc", wasm: h as never });
    metrics.configure(3000, 1 << 20);
    for (let k = 0; k < 20000; k++) h.step(M, k, 16, 0, 0x100010 + 32 * k, 4096 + 32 * k, 0, 0, 16 * (k + 1), 0);
    const rows = metrics.drain(null, 20000);
    const m = metrics.read();
    expect(m.maxLiveOp).toBe(20000);
    expect(m.partsAtPeakLive).toMatchObject({ a: 16 * 20000 });
    expect(rows.filter((r) => r.kinds.includes("peak-live"))).toHaveLength(20000);
    expect(rows.every((r) => r.parts.a === r.live)).toBe(true);
  });

  it("leaves the peaks undecomposed until the metrics are configured", async () => {
    const h = await harness();
    const metrics = new ModelMetrics({ name: "ptmalloc", wasm: h as never });
    h.step(M, 0, 16, 0, 0x100010, 4096, 0, 0, 16, 0);
    expect(metrics.read().partsAtPeakLive).toBeNull();
  });

  it("leaves live bytes alone for interactive calls (raw addresses, no object)", async () => {
    const h = await harness();
    const metrics = new ModelMetrics({ name: "ptmalloc", wasm: h as never });
    h.step(M, 7, 64, 0, 0x10010, 4096, 0, 0, 0, 1);
    h.step(M, -1, 64, 0, 0x20010, 4096, 0, 0, 0, 0);
    expect(metrics.read().live).toBe(0);
  });
});
