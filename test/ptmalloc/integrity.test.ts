// glibc's integrity aborts (malloc_printerr), triggered through the model's interactive calls. Each message is
// the exact text the real glibc 2.36 prints (the "verified here" rows of §16 of the behavioural spec); a failing
// call must leave the heap exactly as it was (the journal rolls it back).

import { describe, expect, it } from "vitest";
import { createLab, type Lab } from "../../src/lab/lab.js";
import { HeapError } from "../../src/lab/types.js";

interface Debug {
  debugLoad64(va: number): bigint;
  debugStore64(va: number, value: bigint): void;
}

const debug = (l: Lab) => l.handle.wasm as unknown as Debug;
const load = (l: Lab, va: number): bigint => BigInt.asUintN(64, debug(l).debugLoad64(va));
const store = (l: Lab, va: number, v: bigint): void => debug(l).debugStore64(va, BigInt.asIntN(64, v));
/** The size field of the chunk of user pointer `mem`. */
const sizeAt = (mem: number) => mem - 8;
const noTcache = { "glibc.malloc.tcache_count": 0 };

async function lab(tunables: Record<string, number> = {}): Promise<Lab> {
  return createLab({ model: "ptmalloc", tunables });
}

/** Runs `call`, expects glibc's `message`, and checks the heap did not change. */
function expectAbort(l: Lab, call: () => unknown, message: string): void {
  const before = JSON.stringify(l.chunks());
  const stats = JSON.stringify(l.stats());
  let error: unknown = null;
  try {
    call();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(HeapError);
  expect((error as Error).message).toBe(message);
  expect(JSON.stringify(l.chunks())).toBe(before);
  expect(JSON.stringify(l.stats())).toBe(stats);
}

describe("free", () => {
  it("free(): double free detected in tcache 2", async () => {
    const l = await lab();
    const a = l.malloc(24);
    l.free(a);
    expectAbort(l, () => l.free(a), "free(): double free detected in tcache 2");
  });

  it("free(): invalid pointer (misaligned, and memory that was never a chunk)", async () => {
    const l = await lab();
    const a = l.malloc(100);
    // a + 24: the chunk header would be at a + 8, its size word in untouched payload (0).
    expectAbort(l, () => l.free(a + 24), "free(): invalid pointer");
  });

  it("a pointer whose chunk header is not mapped faults, as glibc reads the header first", async () => {
    const l = await lab();
    l.malloc(100);
    for (const address of [0x10, 0x10000, 2 ** 47, 2 ** 52, 2 ** 60]) {
      const message = `Segmentation fault: the chunk header of 0x${address.toString(16)} is not mapped`;
      expectAbort(l, () => l.free(address), message);
      expectAbort(l, () => l.realloc(address, 10), message);
      expectAbort(l, () => l.usableSize(address), message);
      expect(() => l.free(address)).toThrow(expect.objectContaining({ kind: "segv" }));
    }
  });

  it("free(): invalid size", async () => {
    const l = await lab();
    const a = l.malloc(100);
    store(l, sizeAt(a), 0x19n);
    expectAbort(l, () => l.free(a), "free(): invalid size");
  });

  it("double free or corruption (fasttop)", async () => {
    const l = await lab(noTcache);
    const a = l.malloc(24);
    l.malloc(24);
    l.free(a);
    expectAbort(l, () => l.free(a), "double free or corruption (fasttop)");
  });

  it("double free or corruption (fasttop) once the tcache bin is full", async () => {
    const l = await lab();
    const fill = Array.from({ length: 7 }, () => l.malloc(24));
    const a = l.malloc(24);
    l.malloc(24);
    for (const p of fill) l.free(p);
    l.free(a);
    // The key of a fastbin chunk is not the tcache key, so the tcache walk does not see it.
    expectAbort(l, () => l.free(a), "double free or corruption (fasttop)");
  });

  it("double free or corruption (top)", async () => {
    const l = await lab(noTcache);
    const p = l.malloc(2000);
    l.free(p); // merges into the top: p is the top now
    expectAbort(l, () => l.free(p), "double free or corruption (top)");
  });

  it("double free or corruption (out)", async () => {
    const l = await lab(noTcache);
    const p = l.malloc(2000);
    l.malloc(24);
    store(l, sizeAt(p), 0x1000001n);
    expectAbort(l, () => l.free(p), "double free or corruption (out)");
  });

  it("double free or corruption (!prev)", async () => {
    const l = await lab(noTcache);
    const p = l.malloc(2000);
    l.malloc(2000);
    l.free(p);
    expectAbort(l, () => l.free(p), "double free or corruption (!prev)");
  });

  it("free(): invalid next size (fast) and (normal)", async () => {
    const l = await lab(noTcache);
    const a = l.malloc(24);
    const b = l.malloc(2000);
    const c = l.malloc(24);
    store(l, sizeAt(b), 0x1n);
    expectAbort(l, () => l.free(a), "free(): invalid next size (fast)");
    store(l, sizeAt(b), 0x7e1n);
    store(l, sizeAt(c), 0x1n);
    expectAbort(l, () => l.free(b), "free(): invalid next size (normal)");
  });

  it("corrupted size vs. prev_size while consolidating", async () => {
    const l = await lab(noTcache);
    const p = l.malloc(2000);
    const q = l.malloc(2000);
    l.malloc(24);
    l.free(p);
    store(l, sizeAt(p), 0x801n);
    expectAbort(l, () => l.free(q), "corrupted size vs. prev_size while consolidating");
  });

  it("corrupted size vs. prev_size and corrupted double-linked list (unlink of a binned neighbour)", async () => {
    const l = await lab(noTcache);
    const p = l.malloc(2000);
    const q = l.malloc(2000);
    l.malloc(24);
    l.free(q);
    l.malloc(3000); // bins q (large bin) and serves 3000 from the top
    const footer = q - 16 + 0x7e0;
    const saved = load(l, footer);
    store(l, footer, 0x900n);
    expectAbort(l, () => l.free(p), "corrupted size vs. prev_size");
    store(l, footer, saved);
    const fd = load(l, q);
    store(l, q, 0x10n);
    expectAbort(l, () => l.free(p), "corrupted double-linked list");
    // A forward link to q's own user pointer: fd->bk reads q's bk_nextsize (q itself, alone in its size
    // group), so the plain check passes and the nextsize check fails.
    store(l, q, BigInt(q));
    expectAbort(l, () => l.free(p), "corrupted double-linked list (not small)");
    store(l, q, fd);
    l.free(p);
  });

  it("free(): too many chunks detected in tcache, and free(): unaligned chunk detected in tcache 2", async () => {
    const l = await lab();
    const fill = Array.from({ length: 7 }, () => l.malloc(24));
    const x = l.malloc(24);
    l.malloc(24);
    for (const p of fill) l.free(p);
    const key = load(l, fill[6] + 8);
    store(l, x + 8, key); // x now looks cached, so free walks its tcache bin
    const tail = fill[0];
    const end = load(l, tail);
    store(l, tail, BigInt(Math.floor(tail / 4096)) ^ BigInt(fill[6])); // the bin is a cycle now
    expectAbort(l, () => l.free(x), "free(): too many chunks detected in tcache");
    store(l, tail, end);
    const head = fill[6];
    store(l, head, BigInt(Math.floor(head / 4096)) ^ BigInt(fill[5] + 8));
    expectAbort(l, () => l.free(x), "free(): unaligned chunk detected in tcache 2");
  });

  it("free(): corrupted unsorted chunks", async () => {
    const l = await lab(noTcache);
    const u = l.malloc(2000);
    l.malloc(24);
    const v = l.malloc(2000);
    l.malloc(24);
    l.free(u);
    store(l, u + 8, BigInt(u)); // u->bk no longer leads back to the unsorted header
    expectAbort(l, () => l.free(v), "free(): corrupted unsorted chunks");
  });

  it("munmap_chunk(): invalid pointer", async () => {
    const l = await lab();
    l.malloc(131072);
    const m = l.malloc(300000);
    expect(l.chunks().find((c) => c.address === m)?.region).toBe("mmap");
    store(l, sizeAt(m), load(l, sizeAt(m)) + 0x10n);
    expectAbort(l, () => l.free(m), "munmap_chunk(): invalid pointer");
  });
});

describe("malloc", () => {
  it("malloc(): unaligned tcache chunk detected", async () => {
    const l = await lab();
    const a = l.malloc(24);
    const b = l.malloc(24);
    l.free(a);
    l.free(b); // tcache: b → a
    store(l, b, BigInt(Math.floor(b / 4096)) ^ BigInt(a + 8));
    expect(l.malloc(24)).toBe(b);
    expectAbort(l, () => l.malloc(24), "malloc(): unaligned tcache chunk detected");
  });

  it("malloc(): unaligned fastbin chunk detected 2 and malloc(): memory corruption (fast)", async () => {
    const l = await lab(noTcache);
    const a = l.malloc(24);
    const b = l.malloc(24);
    l.malloc(24);
    l.free(a);
    l.free(b); // fastbin: b → a
    store(l, b, BigInt(Math.floor(b / 4096)) ^ BigInt(a - 16 + 8));
    expect(l.malloc(24)).toBe(b);
    expectAbort(l, () => l.malloc(24), "malloc(): unaligned fastbin chunk detected 2");
    const l2 = await lab(noTcache);
    const c = l2.malloc(24);
    l2.malloc(24);
    l2.free(c);
    store(l2, sizeAt(c), 0x31n);
    expectAbort(l2, () => l2.malloc(24), "malloc(): memory corruption (fast)");
  });

  it("the unsorted scan's checks", async () => {
    const cases: Array<[string, (l: Lab, p: number) => void]> = [
      ["malloc(): invalid size (unsorted)", (l, p) => store(l, sizeAt(p), 0x11n)],
      ["malloc(): invalid next size (unsorted)", (l, p) => store(l, p - 16 + 0x7e0 + 8, 0x8n)],
      ["malloc(): mismatching next->prev_size (unsorted)", (l, p) => store(l, p - 16 + 0x7e0, 0x7f0n)],
      ["malloc(): unsorted double linked list corrupted", (l, p) => store(l, p, BigInt(p))],
      ["malloc(): invalid next->prev_inuse (unsorted)",
        (l, p) => store(l, p - 16 + 0x7e0 + 8, load(l, p - 16 + 0x7e0 + 8) | 1n)],
    ];
    for (const [message, corrupt] of cases) {
      const l = await lab(noTcache);
      const p = l.malloc(2000);
      l.malloc(24);
      l.free(p);
      corrupt(l, p);
      expectAbort(l, () => l.malloc(24), message);
    }
  });

  it("malloc(): unaligned fastbin chunk detected 3 (the stash into tcache)", async () => {
    const l = await lab();
    const fill = Array.from({ length: 7 }, () => l.malloc(24));
    const a = l.malloc(24);
    const b = l.malloc(24);
    l.malloc(24);
    for (const p of fill) l.free(p);
    l.free(a);
    l.free(b); // fastbin: b → a
    for (let i = 0; i < 7; i++) l.malloc(24);
    store(l, b, BigInt(Math.floor(b / 4096)) ^ BigInt(a - 16 + 8));
    expectAbort(l, () => l.malloc(24), "malloc(): unaligned fastbin chunk detected 3");
  });

  it("malloc(): smallbin double linked list corrupted", async () => {
    const l = await lab(noTcache);
    const s = l.malloc(200);
    l.malloc(24);
    l.free(s);
    l.malloc(1100); // bins s into small bin 0xd0 >> 4
    store(l, s + 8, BigInt(s)); // s->bk->fd is no longer s
    expectAbort(l, () => l.malloc(200), "malloc(): smallbin double linked list corrupted");
  });

  it("malloc_consolidate(): invalid chunk size", async () => {
    const l = await lab(noTcache);
    const a = l.malloc(24);
    l.malloc(24);
    l.free(a);
    store(l, sizeAt(a), 0x31n);
    expectAbort(l, () => l.malloc(1100), "malloc_consolidate(): invalid chunk size");
  });

  it("malloc(): corrupted top size", async () => {
    const l = await lab();
    const a = l.malloc(24);
    store(l, a - 16 + 0x20 + 8, 0x10000001n);
    expectAbort(l, () => l.malloc(24), "malloc(): corrupted top size");
  });

  it("the sysmalloc assertion on a corrupted top", async () => {
    const l = await lab();
    const a = l.malloc(24);
    store(l, a - 16 + 0x20 + 8, 0x101n); // top size 0x100: its end is no longer page aligned
    expectAbort(l, () => l.malloc(1000),
      "Fatal glibc error: malloc assertion failure in sysmalloc: (old_top == initial_top (av) && old_size == 0) "
      + "|| ((unsigned long) (old_size) >= MINSIZE && prev_inuse (old_top) && ((unsigned long) old_end & (pagesize - 1)) == 0)");
  });
});

describe("realloc", () => {
  it("realloc(): invalid pointer", async () => {
    const l = await lab();
    const a = l.malloc(100);
    expectAbort(l, () => l.realloc(a + 24, 200), "realloc(): invalid pointer");
  });

  it("realloc(): invalid old size", async () => {
    const l = await lab();
    const a = l.malloc(100);
    l.malloc(24);
    store(l, sizeAt(a), 0x10n);
    expectAbort(l, () => l.realloc(a, 200), "realloc(): invalid old size");
  });

  it("mremap_chunk(): invalid pointer", async () => {
    const l = await lab();
    l.malloc(131072);
    const m = l.malloc(300000);
    store(l, sizeAt(m), load(l, sizeAt(m)) + 0x10n);
    expectAbort(l, () => l.realloc(m, 600000), "mremap_chunk(): invalid pointer");
  });

  it("realloc(): invalid next size", async () => {
    const l = await lab();
    const a = l.malloc(100);
    const b = l.malloc(100);
    l.malloc(24);
    store(l, sizeAt(b), 0x1n);
    expectAbort(l, () => l.realloc(a, 200), "realloc(): invalid next size");
  });
});
