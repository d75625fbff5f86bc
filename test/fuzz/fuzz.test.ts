// heaplab/fuzz as a library: generated traces are valid, written counterexamples read back as the same trace,
// fuzz() shrinks a failure to a minimal trace that `heaplab replay` reproduces.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  anyTraceArbitrary, commandsArbitrary, commandsToOps, formatAllocTrace, fuzz, LIFETIME_POLICIES, robsonArbitrary,
  runTrace, SIZE_DISTRIBUTIONS, sizeArbitrary, traceArbitrary,
} from "../../src/fuzz/index.js";
import type { Lab } from "../../src/lab/lab.js";
import { readAllocTrace } from "../../src/trace/alloc-trace.js";
import { OpCode, opAt, type TraceOp } from "../../src/trace/types.js";

/** The objects a trace frees must be live: every free and realloc names an address allocated and not yet freed. */
function liveViolations(ops: readonly TraceOp[]): string[] {
  const live = new Set<number>();
  const seen = new Set<number>();
  const problems: string[] = [];
  for (const op of ops) {
    if (op.code === OpCode.free || op.code === OpCode.realloc) {
      if (op.ptr !== 0 && !live.delete(op.ptr)) problems.push(`op ${op.seq} frees 0x${op.ptr.toString(16)}, not live`);
    }
    if (op.code !== OpCode.free && op.code !== OpCode.trim && op.res !== 0) {
      if (seen.has(op.res)) problems.push(`op ${op.seq} reuses the name 0x${op.res.toString(16)}`);
      seen.add(op.res);
      live.add(op.res);
    }
  }
  return problems;
}

describe("trace arbitraries", () => {
  it("generate valid traces of every shape, and shrink to valid traces", () => {
    for (const sizes of SIZE_DISTRIBUTIONS) {
      for (const lifetimes of LIFETIME_POLICIES) {
        fc.assert(fc.property(traceArbitrary({ sizes, lifetimes, threads: 3, maxOps: 200 }), (ops) => {
          expect(liveViolations(ops)).toEqual([]);
        }), { numRuns: 20, seed: 1 });
      }
    }
    fc.assert(fc.property(robsonArbitrary(), (ops) => {
      expect(liveViolations(ops)).toEqual([]);
    }), { numRuns: 20, seed: 2 });
    // any sub-list of commands (what shrinking explores) is still a valid program
    fc.assert(fc.property(commandsArbitrary({ maxOps: 100 }), fc.array(fc.boolean()), (commands, keep) => {
      const kept = commands.filter((_, i) => keep[i % Math.max(1, keep.length)] ?? true);
      expect(liveViolations(commandsToOps(kept, "random"))).toEqual([]);
    }), { numRuns: 50, seed: 3 });
  });

  it("resolve frees by their lifetime policy", () => {
    const alloc = (size: number) => ({ kind: "alloc" as const, code: OpCode.malloc, size, align: 16, thread: 0, keep: false });
    const free = { kind: "free" as const, pick: 1, thread: 0 };
    const program = [alloc(1), alloc(2), alloc(3), free, free];
    const freed = (lifetimes: "lifo" | "fifo" | "random") =>
      commandsToOps(program, lifetimes).filter((o) => o.code === OpCode.free).map((o) => o.ptr);
    const names = commandsToOps(program, "lifo").filter((o) => o.code === OpCode.malloc).map((o) => o.res);
    expect(freed("lifo")).toEqual([names[2], names[1]]);
    expect(freed("fifo")).toEqual([names[0], names[1]]);
    expect(freed("random")).toEqual([names[1], names[2]]);
  });

  it("draw sizes of each distribution in their ranges", () => {
    const small = fc.sample(sizeArbitrary("small"), { numRuns: 2000, seed: 4 });
    expect(small.filter((s) => s <= 128).length).toBeGreaterThan(1200);
    const bimodal = fc.sample(sizeArbitrary("bimodal"), { numRuns: 500, seed: 5 });
    expect(bimodal.every((s) => (s >= 16 && s <= 64) || (s >= 96 * 1024 && s <= 512 * 1024))).toBe(true);
    const power = fc.sample(sizeArbitrary("power-law"), { numRuns: 2000, seed: 6 });
    expect(Math.max(...power)).toBeGreaterThan(65536);
    expect(power.filter((s) => s < 1024).length).toBeGreaterThan(power.length / 3);
  });
});

describe("alloc-trace writer", () => {
  it("writes text that the reader turns back into the same operations", async () => {
    const ops = fc.sample(anyTraceArbitrary({ maxOps: 300 }), { numRuns: 5, seed: 7 }).flat()
      .map((op, i) => ({ ...op, seq: i + 1 }));
    const text = formatAllocTrace(ops, { pid: 1000 });
    const read: TraceOp[] = [];
    for await (const batch of readAllocTrace(new TextEncoder().encode(text)).batches()) {
      for (let i = 0; i < batch.length; i++) read.push(opAt(batch, i));
    }
    expect(read.map(({ line: _, ...op }) => op)).toEqual(ops.map(({ line: _, ...op }) => op));
  });
});

describe("runTrace", () => {
  it("passes a sound trace on both models", async () => {
    const [ops] = fc.sample(traceArbitrary({ sizes: "small", threads: 2, minOps: 200, maxOps: 300 }), { numRuns: 1, seed: 8 });
    expect(await runTrace(ops, { model: "ptmalloc" })).toBeNull();
    expect(await runTrace(ops, { model: "tcmalloc" })).toBeNull();
  });

  it("fails a custom property with its message", async () => {
    const ops: TraceOp[] = [{ seq: 1, tid: 1, code: OpCode.malloc, ptr: 0, a: 24, b: 0, res: 0x100, line: 0 }];
    const finding = await runTrace(ops, {
      model: "ptmalloc",
      property: (lab) => {
        if (lab.stats().uordblks > 0) throw new Error("something is in use");
      },
    });
    expect(finding).toMatchObject({ property: "custom", message: "something is in use" });
  });
});

describe("runTrace: the properties of every allocator", () => {
  const mallocs = (n: number, size: number): TraceOp[] => Array.from({ length: n }, (_, i) => (
    { seq: i + 1, tid: 1, code: OpCode.malloc, ptr: 0, a: size, b: 0, res: 0x100 + 16 * i, line: 0 }));
  type Debug = { debugLoad64(va: number): bigint; debugStore64(va: number, v: bigint): void };

  /** tcache poisoning: a freed 0x20 chunk whose next entry is itself, with a count of 2. */
  const poison = (lab: Lab) => {
    const wasm = lab.handle.wasm as unknown as Debug;
    const a = lab.malloc(24);
    lab.free(a);
    const tcache = lab.heapBase() + 16;
    wasm.debugStore64(a, BigInt(Math.floor(a / 4096)) ^ BigInt(a));
    wasm.debugStore64(tcache, (wasm.debugLoad64(tcache) & ~0xffffn) | 2n);
  };

  it("names overlapping live blocks (disjoint)", async () => {
    const finding = await runTrace(mallocs(2, 24), { model: "ptmalloc", setup: poison, checkEvery: 0 });
    expect(finding).toMatchObject({ property: "disjoint", op: 1 });
    expect(finding!.message).toMatch(/overlapping the live block at 0x/);
  });

  it("lets the checker see the poisoned tcache first when it runs after every operation", async () => {
    const finding = await runTrace(mallocs(2, 24), { model: "ptmalloc", setup: poison });
    expect(finding).toMatchObject({ property: "invariants", op: 0 });
    expect(finding!.violations.map((v) => v.message)).toContain(
      "tcache count differs from its entries, or exceeds tcache_count");
  });

  it("names an allocator abort on a valid trace (no-error)", async () => {
    const setup = (lab: Lab) => {
      const wasm = lab.handle.wasm as unknown as Debug;
      const a = lab.malloc(24);
      lab.free(a);
      wasm.debugStore64(a, 0x1234n); // tcache next now decodes to an unaligned pointer
      const tcache = lab.heapBase() + 16;
      wasm.debugStore64(tcache, (wasm.debugLoad64(tcache) & ~0xffffn) | 2n);
    };
    const finding = await runTrace(mallocs(2, 24), { model: "ptmalloc", setup, checkEvery: 0 });
    expect(finding).toMatchObject({ property: "no-error", op: 1 });
    expect(finding!.message).toMatch(/malloc\(\): unaligned tcache chunk detected/);
  });
});

describe("heaplab fuzz", () => {
  it("exits 0 with a last line of runs, ops and violations", () => {
    const out = execFileSync(process.execPath, [
      "dist/cli/main.js", "fuzz", "--model", "tcmalloc", "--runs", "3", "--seed", "5", "--ops", "100",
    ], { encoding: "utf8" });
    const last = out.trim().split("\n").at(-1);
    expect(last).toMatch(/^fuzz tcmalloc: runs 3, ops \d+, violations 0 \(seed 5, /);
  });
});

describe("fuzz()", () => {
  it("finds nothing wrong in a short campaign and counts its operations", async () => {
    const result = await fuzz({ model: "ptmalloc", runs: 5, seed: 9, traces: anyTraceArbitrary({ maxOps: 200 }) });
    expect(result.failure).toBeUndefined();
    expect(result.runs).toBe(5);
    expect(result.ops).toBeGreaterThan(0);
  });

  it("shrinks a failure to a minimal trace that heaplab replay reproduces", async () => {
    const dir = mkdtempSync(join(tmpdir(), "heaplab-fuzz-"));
    const output = join(dir, "minimal.trace");
    // the property: no allocation is ever served by mmap (false as soon as a block crosses the threshold)
    const result = await fuzz({
      model: "ptmalloc",
      runs: 50,
      seed: 10,
      traces: traceArbitrary({ sizes: "bimodal", maxOps: 200, allOps: false }),
      property: (lab) => lab.stats().hblks === 0 && lab.stats().max_n_mmaps === 0,
      output,
    });
    expect(result.failure?.finding.property).toBe("custom");
    const minimal = result.failure!.ops;
    expect(minimal).toHaveLength(1);
    expect(minimal[0].a).toBeGreaterThanOrEqual(128 * 1024 - 24);
    expect(readFileSync(output, "utf8")).toBe(result.failure!.text);
    const cli = ["dist/cli/main.js", "replay", output, "--model", "ptmalloc", "--json", "--check-every", "1"];
    const summary = JSON.parse(execFileSync(process.execPath, cli, { encoding: "utf8" }));
    expect(summary.ops).toBe(1);
    expect(summary.stats.max_n_mmaps).toBe(1);
  });
});
