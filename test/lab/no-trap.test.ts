// No call into a lab may let a wasm trap escape: whatever numbers a program passes, a lab answers with an address,
// or throws HeapError (the allocator's abort, a fault the real process would take, a limit of the wasm instance),
// TypeError or RangeError, and stays usable afterwards.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createLab, HeapError, type Lab } from "../../src/index.js";
import type { ModelName } from "../../src/wasm/load.js";

const MODELS: ModelName[] = ["ptmalloc", "tcmalloc"];

/** Numbers a careless or hostile caller passes: sizes at every scale, the edges of u64 and f64, garbage. */
const anyNumber = fc.oneof(
  fc.integer({ min: 0, max: 4096 }),
  fc.integer({ min: -4096, max: 1 << 30 }),
  fc.constantFrom(0, 1, 8, 16, 0x10000, 2 ** 31, 2 ** 32, 2 ** 47, 2 ** 48, 2 ** 52, 2 ** 53, 2 ** 60, 2 ** 63, 2 ** 64,
    -1, -(2 ** 63), NaN, Infinity, -Infinity, 0.5, 1e300, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.double(),
);

type Step =
  | { op: "malloc" | "valloc" | "pvalloc"; size: number }
  | { op: "calloc" | "memalign" | "alignedAlloc" | "posixMemalign"; a: number; size: number }
  | { op: "free" | "usableSize"; pick: number; offset: number; raw: number; useRaw: boolean }
  | { op: "realloc"; pick: number; offset: number; raw: number; useRaw: boolean; size: number }
  | { op: "trim"; size: number };

const target = { pick: fc.nat(), offset: fc.constantFrom(0, 0, 0, 8, -8, 16, 24, 4096, -16), raw: anyNumber,
  useRaw: fc.boolean() };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constantFrom("malloc" as const, "valloc" as const, "pvalloc" as const), size: anyNumber }),
  fc.record({
    op: fc.constantFrom("calloc" as const, "memalign" as const, "alignedAlloc" as const, "posixMemalign" as const),
    a: anyNumber, size: anyNumber,
  }),
  fc.record({ op: fc.constantFrom("free" as const, "usableSize" as const), ...target }),
  fc.record({ op: fc.constant("realloc" as const), ...target, size: anyNumber }),
  fc.record({ op: fc.constant("trim" as const), size: anyNumber }),
);

/** The calling thread: mostly the main one, sometimes others, sometimes nonsense. */
const thread = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 300 }) },
  { weight: 1, arbitrary: fc.constantFrom(-1, NaN, 0.5, 2 ** 31, 2 ** 40, 4095, 4096) },
);

function run(lab: Lab, live: number[], s: Step, thread: number): void {
  const address = "pick" in s ? (s.useRaw || live.length === 0 ? s.raw : live[s.pick % live.length] + s.offset) : 0;
  const o = { thread };
  let result = 0;
  switch (s.op) {
    case "malloc": case "valloc": case "pvalloc": result = lab[s.op](s.size, o); break;
    case "calloc": case "memalign": case "alignedAlloc": case "posixMemalign": result = lab[s.op](s.a, s.size, o); break;
    case "free": lab.free(address, o); live.splice(live.indexOf(address) >>> 0, live.includes(address) ? 1 : 0); break;
    case "usableSize": lab.usableSize(address); break;
    case "realloc": {
      result = lab.realloc(address, s.size, o);
      if (result !== 0 || s.size === 0) live.splice(live.indexOf(address) >>> 0, live.includes(address) ? 1 : 0);
      break;
    }
    case "trim": lab.trim(s.size); break;
  }
  if (result) live.push(result);
}

function expectTyped(error: unknown): void {
  if (error instanceof HeapError || error instanceof TypeError || error instanceof RangeError) return;
  throw error;
}

describe.each(MODELS)("%s: the lab API never traps", (model) => {
  it("arbitrary calls with arbitrary numbers throw only typed errors and leave the lab usable", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(step, thread), { maxLength: 40 }), async (steps) => {
        const lab = await createLab({ model, metrics: false });
        const live: number[] = [];
        for (const [s, t] of steps) {
          try {
            run(lab, live, s, t);
          } catch (error) {
            expectTyped(error);
          }
        }
        // Usable afterwards: walks, checks and statistics answer, and a fresh block can be had and given back.
        lab.chunks();
        lab.stats();
        lab.check();
        const p = lab.malloc(24);
        expect(p).toBeGreaterThan(0);
        lab.free(p);
      }),
      { numRuns: Number(process.env.HEAPLAB_NO_TRAP_RUNS ?? 150), seed: Number(process.env.HEAPLAB_SEED ?? 12) },
    );
  }, 120_000);
});

describe.each(MODELS)("%s: heap and mapping bases anywhere", (model) => {
  it("a base outside user space is refused; any other pair of bases answers every call without a trap", async () => {
    await expect(createLab({ model, options: { heap_base: 2 ** 48 } })).rejects.toThrow(/rejected|heap_base|mmap_base/);
    await expect(createLab({ model, options: { mmap_base: 2 ** 60 } })).rejects.toThrow(/rejected|heap_base|mmap_base/);
    const bases = [0x10000, 2 ** 32, 0x555555559000, 0x7ffff7fc0000, 2 ** 47 - 0x4000];
    for (const heap of bases) {
      for (const mmap of bases) {
        const lab = await createLab({ model, metrics: false, options: { heap_base: heap, mmap_base: mmap } });
        const calls = [() => lab.malloc(24), () => lab.malloc(200_000), () => lab.malloc(2 ** 40), () => lab.calloc(10, 10),
          () => lab.memalign(2 ** 20, 100), () => lab.trim(0), () => lab.chunks(), () => lab.check(), () => lab.stats()];
        for (const call of calls) {
          try {
            call();
          } catch (error) {
            expectTyped(error);
          }
        }
      }
    }
  }, 120_000);
});

describe.each(MODELS)("%s: a heap the wasm instance cannot hold", (model) => {
  it("64 KiB blocks until linear memory is exhausted: a limit HeapError, nothing changed, the lab still usable",
    async () => {
      const lab = await createLab({ model, metrics: false });
      const blocks: number[] = [];
      let error: unknown;
      try {
        for (;;) blocks.push(lab.malloc(65536));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(HeapError);
      expect((error as HeapError).kind).toBe("limit");
      // Far more than the 32 Ki blocks that used to trap: only the 4 GiB of linear memory bounds the heap.
      expect(blocks.length).toBeGreaterThan(60_000);
      const rows = lab.chunks();
      expect(lab.check()).toEqual([]);
      expect(rows.filter((r) => r.state === "allocated" && r.requested === 65536).length).toBe(blocks.length);
      for (const b of blocks.slice(0, 1000)) lab.free(b);
      expect(lab.malloc(65536)).toBeGreaterThan(0);
      expect(lab.check()).toEqual([]);
    }, 120_000);

  it("a trace of them stops at the line that runs out, with the heap as it was before that line", async () => {
    const lab = await createLab({ model, metrics: false });
    const lines = ["# alloc-trace v1 pid=9 ppid=1 exe=big"];
    for (let i = 1; i <= 70_000; i++) lines.push(`${i} 9 m 65536 0x${(i * 16).toString(16)}`);
    let error: unknown;
    try {
      await lab.replay(new TextEncoder().encode(lines.join("\n") + "\n"));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HeapError);
    const heapError = error as HeapError;
    expect(heapError.kind).toBe("limit");
    expect(heapError.line).toBeGreaterThan(60_000);
    const allocated = lab.chunks().filter((r) => r.state === "allocated" && r.requested === 65536);
    expect(allocated.length).toBe(heapError.line! - 2);
    expect(lab.check()).toEqual([]);
  }, 120_000);
});
