// The TCMalloc checker names each broken invariant: a heap built through the allocator's own calls is corrupted
// one word at a time through the debug exports (at the addresses of the model's layout diagrams), and the checker
// must report that exact invariant.

import { describe, expect, it } from "vitest";
import { createLab, type Lab } from "../../src/lab/lab.js";
import { HeapError } from "../../src/lab/types.js";
import { traceSource } from "../../src/fuzz/source.js";
import { OpCode } from "../../src/trace/types.js";

interface Debug {
  debugLoad64(va: number): bigint;
  debugStore64(va: number, value: bigint): void;
}

const STATICS = 0xfff2_0000_0000;
const HEAP_START = STATICS + 8;
const SYSTEM_BYTES = STATICS + 48;
const FREE_BYTES = STATICS + 56;
const CENTRAL = STATICS + 0x10000;
const CENTRAL_STRIDE = 0x500;
const THREAD_TABLE = STATICS + 0x60000;
const PAGEMAP_ROOT = 0xfff3_0000_0000;
const NOTES = 0x9000_0000_0000;

const debug = (lab: Lab) => lab.handle.wasm as unknown as Debug;
const load = (lab: Lab, va: number) => debug(lab).debugLoad64(va);
const store = (lab: Lab, va: number, v: bigint) => debug(lab).debugStore64(va, v);
const add = (lab: Lab, va: number, delta: bigint) => store(lab, va, load(lab, va) + delta);
const messages = (lab: Lab) => lab.check().map((v) => v.message);

/** The pagemap slot of page `page`. */
function pagemapSlot(lab: Lab, page: number): number {
  const leaf = Number(load(lab, PAGEMAP_ROOT + Math.floor(page / 2 ** 18) * 8));
  return leaf + (page % 2 ** 18) * 8;
}

const spanOf = (lab: Lab, address: number) => Number(load(lab, pagemapSlot(lab, Math.floor(address / 8192))));
const spanClass = (lab: Lab, span: number) => Number((load(lab, span + 40) >> 16n) & 0xffn);

describe("TCMalloc checker: sound heaps", () => {
  it("finds nothing wrong after small, large, cached and freed objects on two threads", async () => {
    const lab = await createLab({ model: "tcmalloc" });
    const blocks = [24, 100, 1000, 5000, 40000, 300000, 24, 8].map((n, i) => lab.malloc(n, { thread: i % 2 }));
    for (const b of blocks.slice(0, 6)) lab.free(b, { thread: 1 });
    for (let i = 0; i < 500; i++) lab.free(lab.malloc(64));
    expect(lab.check()).toEqual([]);
  });
});

describe("TCMalloc checker: each corruption is named", () => {
  it("a span's first page unmapped in the pagemap", async () => {
    const lab = await createLab({ model: "tcmalloc" });
    const span = spanOf(lab, lab.malloc(24));
    const start = Number(load(lab, span));
    store(lab, pagemapSlot(lab, start), 0n);
    expect(lab.check()).toContainEqual(expect.objectContaining({
      message: "the pagemap does not map the span's first page to it", address: start * 8192,
    }));
  });

  it("an interior page of a small-object span mapped elsewhere", async () => {
    const lab = await createLab({ model: "tcmalloc" });
    const span = spanOf(lab, lab.malloc(200000));
    const start = Number(load(lab, span));
    expect(Number(load(lab, span + 8))).toBeGreaterThan(2);
    store(lab, pagemapSlot(lab, start + 1), 0n);
    expect(messages(lab)).toContain("the pagemap does not map an interior page of a small-object span to it");
  });

  it("a span list whose links disagree", async () => {
    const lab = await createLab({ model: "tcmalloc" });
    const span = spanOf(lab, lab.malloc(24));
    store(lab, span + 16, BigInt(span));
    expect(messages(lab)).toContain("span list links disagree (next->prev != span)");
  });

  it("an object both in a thread cache and on its span", async () => {
    const lab = await createLab({ model: "tcmalloc" });
    const x = lab.malloc(24);
    lab.free(x);
    const span = spanOf(lab, x);
    store(lab, span + 32, BigInt(x));
    expect(lab.check()).toContainEqual(expect.objectContaining({ message: "object in two free lists", address: x }));
  });

  it("objects dropped from their span", async () => {
    const lab = await createLab({ model: "tcmalloc" });
    const span = spanOf(lab, lab.malloc(24));
    store(lab, span + 32, 0n);
    expect(messages(lab)).toEqual(expect.arrayContaining([
      "object neither allocated nor on any free list", "span refcount differs from the objects handed out of it",
    ]));
  });

  it("an allocated object pushed on its span's free list", async () => {
    const lab = await createLab({ model: "tcmalloc" });
    const x = lab.malloc(24);
    store(lab, spanOf(lab, x) + 32, BigInt(x));
    expect(lab.check()).toContainEqual(expect.objectContaining({
      message: "allocated object also on a free list", address: x,
    }));
  });

  it("a span refcount off by one, and an unknown location", async () => {
    const lab = await createLab({ model: "tcmalloc" });
    const span = spanOf(lab, lab.malloc(24));
    add(lab, span + 40, 1n);
    expect(messages(lab)).toContain("span refcount differs from the objects handed out of it");
    add(lab, span + 40, -1n + (7n << 24n));
    expect(messages(lab)).toContain("span with an unknown location");
  });

  it("a thread cache list length and the cache size", async () => {
    const lab = await createLab({ model: "tcmalloc" });
    const x = lab.malloc(24);
    lab.free(x);
    const cache = Number(load(lab, THREAD_TABLE));
    const cl = spanClass(lab, spanOf(lab, x));
    add(lab, cache + cl * 32 + 8, 1n);
    expect(messages(lab)).toContain("thread cache list length differs from its objects");
    add(lab, cache + cl * 32 + 8, -1n);
    add(lab, cache + 4096, 8n);
    expect(messages(lab)).toContain("thread cache size differs from the bytes on its lists");
  });

  it("a transfer cache slot that is not one full batch", async () => {
    const lab = await createLab({ model: "tcmalloc" });
    const blocks = Array.from({ length: 2000 }, () => lab.malloc(24));
    for (const b of blocks) lab.free(b);
    const cl = spanClass(lab, spanOf(lab, blocks[0]));
    const central = CENTRAL + cl * CENTRAL_STRIDE;
    expect(Number(load(lab, central + 112))).toBeGreaterThan(0); // slots in use
    expect(lab.check()).toEqual([]);
    store(lab, central + 136 + 8, 0n); // slot 0's tail
    expect(messages(lab)).toContain("transfer cache slot is not one full batch from head to tail");
  });

  it("a central free-object counter", async () => {
    const lab = await createLab({ model: "tcmalloc" });
    const cl = spanClass(lab, spanOf(lab, lab.malloc(24)));
    add(lab, CENTRAL + cl * CENTRAL_STRIDE + 96, 1n);
    expect(messages(lab)).toContain("central free-object counter differs from the objects on its spans");
  });

  it("page heap statistics and a free span on the wrong list", async () => {
    const lab = await createLab({ model: "tcmalloc" });
    const big = lab.malloc(300000);
    lab.malloc(300000);
    lab.free(big);
    expect(lab.check()).toEqual([]);
    add(lab, FREE_BYTES, 8192n);
    expect(messages(lab)).toContain("pageheap_free_bytes differs from the normal free spans");
    add(lab, FREE_BYTES, -8192n);
    add(lab, SYSTEM_BYTES, 8192n);
    expect(messages(lab)).toContain("heap size differs from the spans");
    add(lab, SYSTEM_BYTES, -8192n);
    const free = spanOf(lab, big);
    add(lab, free + 40, 1n << 24n); // location: normal → returned, while on a normal list
    expect(messages(lab)).toContain("page heap free list holds a span of the wrong state");
  });

  it("two adjacent free spans left uncoalesced", async () => {
    const lab = await createLab({ model: "tcmalloc" });
    const first = lab.malloc(300000);
    const second = lab.malloc(300000);
    lab.malloc(300000);
    lab.free(first);
    const free = spanOf(lab, first);
    const next = spanOf(lab, second);
    expect(Number(load(lab, next))).toBe(Number(load(lab, free)) + Number(load(lab, free + 8)));
    add(lab, next + 40, 1n << 24n); // the in-use neighbour now claims to be a normal free span
    expect(lab.check()).toContainEqual(expect.objectContaining({
      message: "two adjacent free spans of the same state", address: second,
    }));
  });

  it("a large span set out of order", async () => {
    const lab = await createLab({ model: "tcmalloc" });
    const blocks = [3, 2, 3, 2].map((mib) => lab.malloc(mib << 20));
    lab.free(blocks[0]);
    lab.free(blocks[2]);
    expect(lab.check()).toEqual([]);
    const set = STATICS + 0x2000 + 256 * 48; // the large normal set's sentinel
    const a = Number(load(lab, set + 16));
    const b = Number(load(lab, a + 16));
    expect(Number(load(lab, b + 16))).toBe(set);
    store(lab, set + 16, BigInt(b));
    store(lab, b + 24, BigInt(set));
    store(lab, b + 16, BigInt(a));
    store(lab, a + 24, BigInt(b));
    store(lab, a + 16, BigInt(set));
    store(lab, set + 24, BigInt(a));
    expect(messages(lab)).toContain("large span set not sorted by (length, start)");
  });

  it("a large span that no allocation owns", async () => {
    const lab = await createLab({ model: "tcmalloc" });
    const big = lab.malloc(300000);
    // the model notes an allocation in the object's first word (tag bit 63) or in its side table
    if (load(lab, big) >> 63n) store(lab, big, 0n);
    else store(lab, NOTES + (big - Number(load(lab, HEAP_START))) * 2 + 8, 0n);
    expect(lab.check()).toContainEqual(expect.objectContaining({
      message: "in-use large span that no allocation owns", address: big,
    }));
  });
});

describe("TCMalloc checker during replay", () => {
  it("stops a replay with checkEvery at the first operation after which the heap is broken", async () => {
    const lab = await createLab({ model: "tcmalloc" });
    lab.malloc(24);
    add(lab, SYSTEM_BYTES, 8192n);
    const ops = [{ seq: 1, tid: 7, code: OpCode.malloc, ptr: 0, a: 24, b: 0, res: 0x1000, line: 0 }];
    const error = await lab.replay(traceSource(ops), { checkEvery: 1 }).then(() => null, (e) => e);
    expect(error).toBeInstanceOf(HeapError);
    expect((error as HeapError).allocatorMessage).toBe("heap check: heap size differs from the spans at 0x0");
  });
});
