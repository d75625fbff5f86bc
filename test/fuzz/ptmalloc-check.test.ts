// The ptmalloc checker names each broken invariant: a heap built through the allocator's own calls is corrupted
// one word at a time through the debug exports, and the checker must report that exact invariant.

import { describe, expect, it } from "vitest";
import { createLab, type Lab } from "../../src/lab/lab.js";
import { HeapError } from "../../src/lab/types.js";
import { traceSource } from "../../src/fuzz/source.js";
import { OpCode } from "../../src/trace/types.js";

interface Debug {
  debugLoad64(va: number): bigint;
  debugStore64(va: number, value: bigint): void;
}

const debug = (lab: Lab) => lab.handle.wasm as unknown as Debug;
const load = (lab: Lab, va: number) => debug(lab).debugLoad64(va);
const store = (lab: Lab, va: number, v: bigint) => debug(lab).debugStore64(va, v);
const messages = (lab: Lab) => lab.check().map((v) => v.message);
const NO_TCACHE = "glibc.malloc.tcache_count=0";

/** The malloc_state of the arena that owns free chunk `mem` in the unsorted bin (its fd is the bin header). */
function arenaOfUnsorted(lab: Lab, mem: number): number {
  return Number(load(lab, mem)) - 96;
}

describe("ptmalloc checker: sound heaps", () => {
  it("finds nothing wrong in a heap of allocated, cached, fast, sorted and mmapped chunks", async () => {
    const lab = await createLab();
    const blocks = [24, 100, 1000, 2000, 5000, 200000, 40, 600].map((n) => lab.malloc(n));
    lab.free(blocks[0]);
    lab.free(blocks[2]);
    lab.free(blocks[3]);
    lab.malloc(9000);
    expect(lab.check()).toEqual([]);
  });
});

describe("ptmalloc checker: each corruption is named", () => {
  it("an unaligned size", async () => {
    const lab = await createLab();
    const a = lab.malloc(100);
    lab.malloc(100);
    store(lab, a - 8, load(lab, a - 8) | 8n);
    expect(lab.check()).toContainEqual(expect.objectContaining({
      message: expect.stringMatching(/chunk size below MINSIZE, unaligned/), address: a - 16,
    }));
  });

  it("a P bit cleared under an allocated chunk", async () => {
    const lab = await createLab();
    lab.malloc(100);
    const b = lab.malloc(100);
    store(lab, b - 8, load(lab, b - 8) & ~1n);
    expect(lab.check()).toContainEqual(expect.objectContaining({
      message: expect.stringMatching(/P bit clear but the previous chunk/), address: b - 16,
    }));
  });

  it("a free chunk whose footer disagrees", async () => {
    const lab = await createLab({ tunables: NO_TCACHE });
    const a = lab.malloc(200);
    const guard = lab.malloc(200);
    lab.free(a);
    store(lab, guard - 16, 0x40n);
    expect(messages(lab)).toContain("free chunk's size differs from the next chunk's prev_size");
  });

  it("a free chunk taken off its bin", async () => {
    const lab = await createLab({ tunables: NO_TCACHE });
    const a = lab.malloc(200);
    lab.malloc(200);
    lab.free(a);
    const head = Number(load(lab, a));
    store(lab, head + 16, BigInt(head));
    store(lab, head + 24, BigInt(head));
    expect(lab.check()).toContainEqual(expect.objectContaining({ message: "free chunk on no bin", address: a - 16 }));
  });

  it("a broken back link", async () => {
    const lab = await createLab({ tunables: NO_TCACHE });
    const a = lab.malloc(200);
    const b = lab.malloc(200);
    lab.malloc(200);
    lab.free(a);
    store(lab, a + 8, BigInt(b - 16));
    expect(messages(lab)).toContain("bin links disagree (fd->bk != chunk)");
  });

  it("two adjacent free chunks", async () => {
    const lab = await createLab({ tunables: NO_TCACHE });
    const a = lab.malloc(200);
    const b = lab.malloc(200);
    const c = lab.malloc(200);
    lab.free(a);
    const sizeB = load(lab, b - 8) & ~7n;
    store(lab, c - 16, sizeB);
    store(lab, c - 8, load(lab, c - 8) & ~1n);
    expect(lab.check()).toContainEqual(expect.objectContaining({ message: "two adjacent free chunks", address: b - 16 }));
  });

  it("a free chunk left before the top", async () => {
    const lab = await createLab({ tunables: NO_TCACHE });
    lab.malloc(200);
    const b = lab.malloc(200);
    const top = b - 16 + Number(load(lab, b - 8) & ~7n);
    store(lab, top, load(lab, b - 8) & ~7n);
    store(lab, top + 8, load(lab, top + 8) & ~1n);
    expect(lab.check()).toContainEqual(expect.objectContaining({
      message: "free chunk before the top (not merged into it)", address: b - 16,
    }));
  });

  it("a fastbin that loops on itself", async () => {
    const lab = await createLab({ tunables: NO_TCACHE });
    const a = lab.malloc(24);
    lab.malloc(24);
    lab.free(a);
    store(lab, a, BigInt(Math.floor(a / 4096)) ^ BigInt(a - 16)); // safe-linked fd pointing back at itself
    expect(messages(lab)).toEqual(expect.arrayContaining([
      "list longer than the heap has chunks (a cycle)", "chunk on two lists (or twice on one)",
    ]));
  });

  it("a chunk in the wrong small bin", async () => {
    const lab = await createLab({ tunables: NO_TCACHE });
    const a = lab.malloc(200);
    lab.malloc(200);
    lab.free(a);
    lab.malloc(5000); // the unsorted scan files `a` in its small bin
    const bin = Number(load(lab, a + 8));
    const wrong = bin + 16; // the next bin's header
    // move the chunk to the next small bin, links consistent
    store(lab, bin + 16, BigInt(bin));
    store(lab, bin + 24, BigInt(bin));
    store(lab, wrong + 16, BigInt(a - 16));
    store(lab, wrong + 24, BigInt(a - 16));
    store(lab, a, BigInt(wrong));
    store(lab, a + 8, BigInt(wrong));
    expect(messages(lab)).toContain("chunk in the wrong bin for its size");
  });

  it("a large bin out of order, its nextsize ring and the binmap", async () => {
    const lab = await createLab({ tunables: NO_TCACHE });
    const small = lab.malloc(0x3f8); // chunk 0x400, large bin 64
    lab.malloc(24);
    const big = lab.malloc(0x428); // chunk 0x430, large bin 64
    lab.malloc(24);
    lab.free(small);
    lab.free(big);
    lab.malloc(0x2000); // sorts both into bin 64: 0x430 first, then 0x400
    expect(lab.check()).toEqual([]);
    const bin = Number(load(lab, big + 8));
    expect(Number(load(lab, bin + 16))).toBe(big - 16);
    store(lab, big + 16, 0n); // fd_nextsize of the first chunk
    expect(messages(lab)).toContain("large bin nextsize ring inconsistent");
    store(lab, big + 16, BigInt(small - 16));
    expect(lab.check()).toEqual([]);
    // swap the two chunks in the list: small first, then big
    store(lab, bin + 16, BigInt(small - 16));
    store(lab, small, BigInt(big - 16));
    store(lab, small + 8, BigInt(bin));
    store(lab, big, BigInt(bin));
    store(lab, big + 8, BigInt(small - 16));
    store(lab, bin + 24, BigInt(big - 16));
    expect(messages(lab)).toContain("large bin not sorted from large to small");
    const av = bin - 80 - 16 * 64;
    store(lab, av + 2144 + 8, 0n);
    expect(messages(lab)).toContain("non-empty bin not marked in the binmap");
  });

  it("a fastbin chunk in a second fastbin, and have_fastchunks cleared", async () => {
    const lab = await createLab({ tunables: NO_TCACHE });
    const probe = lab.malloc(300);
    lab.malloc(24);
    lab.free(probe);
    const av = arenaOfUnsorted(lab, probe);
    const a = lab.malloc(24);
    lab.malloc(24);
    lab.free(a);
    expect(lab.check()).toEqual([]);
    store(lab, av + 8, 0n);
    expect(messages(lab)).toContain("have_fastchunks clear while a fastbin holds chunks");
    store(lab, av + 8, 1n);
    store(lab, av + 16 + 8, BigInt(a - 16)); // fastbin 1 (0x30) now also holds the 0x20 chunk
    expect(messages(lab)).toEqual(expect.arrayContaining([
      "chunk in the wrong fastbin for its size", "chunk on two lists (or twice on one)",
    ]));
  });

  it("a tcache count off by one, and an entry without its key", async () => {
    const lab = await createLab();
    const a = lab.malloc(24);
    lab.malloc(24);
    lab.free(a);
    const tcache = lab.heapBase() + 16;
    const counts = load(lab, tcache);
    store(lab, tcache, counts + 1n);
    expect(messages(lab)).toContain("tcache count differs from its entries, or exceeds tcache_count");
    store(lab, tcache, counts);
    store(lab, a + 8, 0n);
    expect(messages(lab)).toContain("tcache entry without the tcache key");
  });

  it("system_mem and the top's end", async () => {
    const lab = await createLab({ tunables: NO_TCACHE });
    const a = lab.malloc(300);
    const b = lab.malloc(24);
    lab.free(a);
    const av = arenaOfUnsorted(lab, a);
    const top = b - 16 + 0x20;
    store(lab, top + 8, load(lab, top + 8) + 0x1000n);
    expect(messages(lab)).toContain("the walk does not end with the top at the end of the heap");
    store(lab, top + 8, load(lab, top + 8) - 0x1000n);
    store(lab, av + 2184, load(lab, av + 2184) + 4096n);
    expect(lab.check()).toContainEqual(expect.objectContaining({
      message: "system_mem differs from what the arena's heaps span", address: av,
    }));
  });

  it("an mmapped chunk without its flag", async () => {
    const lab = await createLab();
    const a = lab.malloc(300000);
    store(lab, a - 8, load(lab, a - 8) & ~2n);
    expect(lab.check()).toContainEqual(expect.objectContaining({
      message: "mmapped chunk not page aligned, not flagged, or not its mapping's size", address: a - 16,
    }));
  });

  it("a non-main arena chunk that lost its A bit", async () => {
    const lab = await createLab();
    lab.malloc(24, { thread: 1 });
    const b = lab.malloc(100, { thread: 1 });
    expect(lab.check()).toEqual([]);
    store(lab, b - 8, load(lab, b - 8) & ~4n);
    expect(messages(lab)).toContain("chunk flags wrong for its heap (IS_MMAPPED set, or NON_MAIN_ARENA wrong)");
  });
});

describe("ptmalloc checker during replay", () => {
  it("stops a replay with checkEvery at the first operation after which the heap is broken", async () => {
    const lab = await createLab({ tunables: NO_TCACHE });
    const a = lab.malloc(200);
    lab.malloc(200);
    lab.free(a);
    const av = arenaOfUnsorted(lab, a);
    store(lab, av + 2184, load(lab, av + 2184) + 4096n); // system_mem: no allocator path reads it
    const ops = [
      { seq: 1, tid: 7, code: OpCode.malloc, ptr: 0, a: 24, b: 0, res: 0x1000, line: 0 },
    ];
    const error = await lab.replay(traceSource(ops), { checkEvery: 1 }).then(() => null, (e) => e);
    expect(error).toBeInstanceOf(HeapError);
    expect((error as HeapError).allocatorMessage).toMatch(/^heap check: /);
    expect((error as HeapError).line).toBe(2);
  });
});
