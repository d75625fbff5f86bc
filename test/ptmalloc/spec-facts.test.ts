// The ptmalloc model against facts measured on the real glibc 2.36 of Debian 12 (x86-64), as recorded in the
// behavioural spec (/work/shared/reference/glibc-malloc-2.36.md, "verified here" entries, §18). Offsets are
// relative to the initial program break.

import { describe, expect, it } from "vitest";
import { createLab, type Lab } from "../../src/lab/lab.js";

type Tunables = Record<string, number>;

async function lab(tunables: Tunables = {}): Promise<{ lab: Lab; off: (a: number) => number }> {
  const l = await createLab({ model: "ptmalloc", tunables });
  const base = l.heapBase();
  return { lab: l, off: (a: number) => a - base };
}

function chunkAt(l: Lab, address: number) {
  const row = l.chunks().find((c) => c.address === address);
  if (!row) throw new Error(`no chunk at 0x${address.toString(16)}`);
  return row;
}

describe("start-up and request sizes (§3, §4)", () => {
  it("puts the 0x290 tcache chunk first, so the first malloc(24) is heap+0x2a0", async () => {
    for (const t of [{}, { "glibc.malloc.tcache_count": 0 }]) {
      const { lab: l, off } = await lab(t);
      expect(off(l.malloc(24))).toBe(0x2a0);
      const first = l.chunks()[0];
      expect(first.chunk - l.heapBase()).toBe(0);
      expect(first.size).toBe(0x290);
    }
  });

  it("gives usable sizes 24, 40, 56 for malloc(0), malloc(25), malloc(41)", async () => {
    const { lab: l } = await lab();
    expect(l.usableSize(l.malloc(0))).toBe(24);
    expect(l.usableSize(l.malloc(25))).toBe(40);
    expect(l.usableSize(l.malloc(41))).toBe(56);
    expect(l.usableSize(0)).toBe(0);
  });

  it("reports mallinfo2 after the first malloc(24): arena 0x21000, uordblks 0x2b0, fordblks = keepcost = 0x20d50", async () => {
    const { lab: l } = await lab();
    l.malloc(24);
    const s = l.stats();
    expect(s.arena).toBe(0x21000);
    expect(s.uordblks).toBe(0x2b0);
    expect(s.fordblks).toBe(0x20d50);
    expect(s.keepcost).toBe(0x20d50);
  });

  it("starts with a 0x1000 heap when top_pad is 0 (top 0xd50 after malloc(24))", async () => {
    const { lab: l } = await lab({ "glibc.malloc.top_pad": 0 });
    l.malloc(24);
    expect(l.stats().keepcost).toBe(0xd50);
  });

  it("fails malloc(SIZE_MAX) with NULL", async () => {
    const { lab: l } = await lab();
    expect(l.malloc(2 ** 64)).toBe(0);
  });
});

describe("tcache and fastbins (§5, §6)", () => {
  it("hands fastbin chunks back LIFO with tcache off", async () => {
    const { lab: l } = await lab({ "glibc.malloc.tcache_count": 0 });
    const a = l.malloc(24);
    const b = l.malloc(24);
    l.free(a);
    l.free(b);
    expect(l.malloc(24)).toBe(b);
    expect(l.malloc(24)).toBe(a);
  });

  it("stashes fastbin chunks into tcache in reverse: f2 first, then f0, then f1", async () => {
    const { lab: l } = await lab();
    const fill = Array.from({ length: 7 }, () => l.malloc(24));
    const f = [l.malloc(24), l.malloc(24), l.malloc(24)];
    l.malloc(24);
    for (const p of fill) l.free(p);
    for (const p of f) l.free(p); // tcache full: f0, f1, f2 go to the fastbin
    for (let i = 0; i < 7; i++) l.malloc(24); // empty the tcache
    expect([l.malloc(24), l.malloc(24), l.malloc(24)]).toEqual([f[2], f[0], f[1]]);
  });

  it("stashes small-bin chunks from the tail: s0, then s2, then s1", async () => {
    const { lab: l } = await lab();
    const fill = Array.from({ length: 7 }, () => l.malloc(200));
    const s: number[] = [];
    for (let i = 0; i < 3; i++) {
      s.push(l.malloc(200));
      l.malloc(24); // keeps the chunks apart
    }
    for (const p of fill) l.free(p);
    for (const p of s) l.free(p); // unsorted
    l.malloc(1100); // bins them (a large request scans the unsorted bin)
    for (let i = 0; i < 7; i++) l.malloc(200);
    expect([l.malloc(200), l.malloc(200), l.malloc(200)]).toEqual([s[0], s[2], s[1]]);
  });

  it("returns unsorted exact fits newest-first through tcache: u2, u1, u0", async () => {
    const { lab: l } = await lab();
    const fill = Array.from({ length: 7 }, () => l.malloc(200));
    const u: number[] = [];
    for (let i = 0; i < 3; i++) {
      u.push(l.malloc(200));
      l.malloc(24);
    }
    for (const p of fill) l.free(p);
    for (const p of u) l.free(p);
    for (let i = 0; i < 7; i++) l.malloc(200);
    expect([l.malloc(200), l.malloc(200), l.malloc(200)]).toEqual([u[2], u[1], u[0]]);
  });

  it("caches only 0x20 chunks with tcache_max=24, and 0x20 and 0x30 with tcache_max=25", async () => {
    for (const [max, cached] of [[24, [true, false]], [25, [true, true]]] as const) {
      const { lab: l } = await lab({ "glibc.malloc.tcache_max": max, "glibc.malloc.mxfast": 0 });
      const a = l.malloc(24);
      const b = l.malloc(40);
      l.malloc(24);
      l.free(a);
      l.free(b);
      expect(chunkAt(l, a).state === "tcache").toBe(cached[0]);
      expect(chunkAt(l, b).state === "tcache").toBe(cached[1]);
    }
  });
});

describe("large bins, last remainder, consolidation (§7, §8)", () => {
  async function threeEqualLarge(l: Lab): Promise<number[]> {
    const c: number[] = [];
    for (let i = 0; i < 3; i++) {
      c.push(l.malloc(0x1400));
      l.malloc(24);
    }
    for (const p of c) l.free(p);
    l.malloc(0x3000); // bins A, B, C into their large bin (then served from the top)
    return c;
  }

  it("serves equal-size large chunks from their own bin as C, B, A", async () => {
    const { lab: l } = await lab();
    const [a, b, c] = await threeEqualLarge(l);
    expect([l.malloc(0x1400), l.malloc(0x1400), l.malloc(0x1400)]).toEqual([c, b, a]);
  });

  it("serves them through the binmap scan as B, C, A", async () => {
    const { lab: l } = await lab();
    const [a, b, c] = await threeEqualLarge(l);
    // A request from a lower bin finds the bin through the binmap and takes last(bin).
    const got = [l.malloc(0x1000), l.malloc(0x1000), l.malloc(0x1000)];
    expect(got).toEqual([b, c, a]);
  });

  it("lets a large request (nb ≥ 0x400) consolidate fastbins, but not malloc(1000)", async () => {
    const { lab: l } = await lab({ "glibc.malloc.tcache_count": 0 });
    const a = l.malloc(24);
    l.malloc(24);
    l.free(a);
    l.malloc(1000);
    expect(chunkAt(l, a).state).toBe("fastbin");
    l.malloc(1001);
    expect(chunkAt(l, a).state).not.toBe("fastbin");
  });
});

describe("mmap, threshold, trim (§10, §14)", () => {
  it("mmaps a 200000-byte request after the top is too small, usable size 200688", async () => {
    const { lab: l } = await lab();
    l.malloc(131072); // carved from the initial top
    const p = l.malloc(200000);
    expect(chunkAt(l, p).region).toBe("mmap");
    expect(l.usableSize(p)).toBe(200688);
  });

  it("raises the mmap threshold on free of a mapped chunk (raw size field, ≤ 32 MiB)", async () => {
    const { lab: l } = await lab();
    l.malloc(131072);
    const p = l.malloc(0x20ff0 - 8 - 8); // nb 0x20ff0: mmapped, 0x21000 mapping
    expect(chunkAt(l, p).region).toBe("mmap");
    l.free(p);
    expect(l.stats().mmap_threshold).toBe(0x21000);
    expect(l.stats().trim_threshold).toBe(0x42000);
    const big = l.malloc(0x2000000 - 24); // a 0x2000000 mapping does not raise it
    l.free(big);
    expect(l.stats().mmap_threshold).toBe(0x21000);
  });

  it("keeps the threshold fixed once top_pad is set", async () => {
    const { lab: l } = await lab({ "glibc.malloc.top_pad": 131072 });
    l.malloc(131072);
    const p = l.malloc(200000);
    l.free(p);
    expect(l.stats().mmap_threshold).toBe(0x20000);
  });

  it("malloc_trim(0) keeps pad + MINSIZE + 1 rounded to pages: top 0x20d50 → 0xd50, break at heap+0x1000", async () => {
    const { lab: l } = await lab();
    l.malloc(24);
    expect(l.stats().keepcost).toBe(0x20d50);
    expect(l.trim(0)).toBe(1);
    expect(l.stats().keepcost).toBe(0xd50);
    expect(l.stats().arena).toBe(0x1000);
  });

  it("malloc_trim grows a 0x20 top (the unsigned comparison quirk)", async () => {
    const { lab: l } = await lab({ "glibc.malloc.top_pad": 0 });
    l.malloc(24); // top 0xd50
    l.malloc(0xd50 - 0x20 - 8); // top 0x20
    expect(l.stats().keepcost).toBe(0x20);
    expect(l.trim(0)).toBe(1);
    expect(l.stats().keepcost).toBe(0x1020);
  });
});

describe("realloc, memalign family (§11, §13)", () => {
  it("puts a shrink's 0xf0 remainder into tcache[13]", async () => {
    const { lab: l } = await lab();
    const p = l.malloc(0x110 - 8);
    l.malloc(24);
    expect(l.realloc(p, 24)).toBe(p);
    const rem = chunkAt(l, p + 0x20);
    expect(rem.state).toBe("tcache");
    expect(rem.bin).toBe(13);
    expect(rem.size).toBe(0xf0);
  });

  it("keeps a 0x40 block bordering a 0x20 top in place when realloc to 0x1000 grows the heap", async () => {
    const { lab: l } = await lab({ "glibc.malloc.top_pad": 0 });
    l.malloc(24); // top 0xd50
    l.malloc(0xcf0 - 8); // filler
    const p = l.malloc(0x40 - 8); // top 0x20 right after p
    expect(l.stats().keepcost).toBe(0x20);
    expect(l.realloc(p, 0x1000 - 8)).toBe(p);
    const leftover = chunkAt(l, p + 0x1000);
    expect(leftover.size).toBe(0x40);
    expect(leftover.state).toBe("tcache");
  });

  it("lays out memalign(64, 100) as the first call: heap+0x40, tcache at heap+0xe0, next malloc(24) at heap+0x380", async () => {
    const { lab: l, off } = await lab();
    expect(off(l.memalign(64, 100))).toBe(0x40);
    expect(off(l.malloc(24))).toBe(0x380);
    const tcacheChunk = l.chunks().find((c) => c.size === 0x290);
    expect(tcacheChunk && tcacheChunk.chunk - l.heapBase()).toBe(0xe0);
  });

  it("rounds memalign(48) up to 64-byte alignment and pvalloc(10) to a 0x1010 chunk", async () => {
    const { lab: l } = await lab();
    expect(l.memalign(48, 10) % 64).toBe(0);
    const p = l.pvalloc(10);
    expect(p % 4096).toBe(0);
    expect(chunkAt(l, p).size).toBe(0x1010);
  });

  it("rejects posix_memalign alignments 24 and 0 (EINVAL)", async () => {
    const { lab: l } = await lab();
    expect(l.posixMemalign(24, 10)).toBe(0);
    expect(l.posixMemalign(0, 10)).toBe(0);
    expect(l.posixMemalign(32, 10) % 32).toBe(0);
  });

  it("has aligned_alloc accept a size that is no multiple of the alignment", async () => {
    const { lab: l } = await lab();
    expect(l.alignedAlloc(64, 10) % 64).toBe(0);
  });

  it("does not use the tcache for calloc", async () => {
    const { lab: l } = await lab();
    const a = l.malloc(24);
    l.malloc(24);
    l.free(a);
    expect(l.calloc(1, 24)).not.toBe(a);
    expect(l.malloc(24)).toBe(a);
  });
});

describe("arenas (arena.c)", () => {
  it("gives a second thread its own arena: first block at arena start + 0xb70", async () => {
    const { lab: l } = await lab();
    l.malloc(24);
    const p = l.malloc(24, { thread: 1 });
    const row = chunkAt(l, p);
    expect(row.region).toBe("arena1");
    expect(p % 0x4000000).toBe(0xb70);
  });

  it("frees a block of another thread's arena into the freeing thread's tcache first", async () => {
    const { lab: l } = await lab();
    const p = l.malloc(24, { thread: 1 });
    l.free(p); // thread 0 frees it: its own tcache takes it
    expect(chunkAt(l, p).state).toBe("tcache");
    expect(l.malloc(24)).toBe(p);
  });
});
