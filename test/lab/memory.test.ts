// The lab's memory: bytes and words at simulated addresses, the debian12 layout's symbols at glibc 2.36's
// addresses, faults as HeapErrors that leave the lab usable, payload bytes as glibc leaves them.

import { describe, expect, it } from "vitest";
import { createLab, HeapError } from "../../src/index.js";

const segv = (f: () => unknown): HeapError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(HeapError);
    expect((e as HeapError).kind).toBe("segv");
    return e as HeapError;
  }
  throw new Error("no fault");
};

describe("lab memory", () => {
  it("places libc's variables where glibc 2.36 has them under setarch -R", async () => {
    const lab = await createLab({ model: "ptmalloc", layout: "debian12" });
    const arena = lab.symbol("main_arena");
    expect(arena).toBe(0x7ffff7fa7c60);
    expect(lab.symbol("mp_")).toBe(arena - 0x920);
    expect(lab.symbol("tcache_key")).toBe(arena + 0x6818);
    expect(lab.symbol("global_max_fast")).toBe(arena + 0x6840);
    const a = lab.malloc(0x18);
    expect(a - lab.heapBase()).toBe(0x2a0);
    const b = lab.malloc(0x500);
    lab.malloc(0x18);
    lab.free(b);
    // A freed unsorted chunk links to the unsorted bin's header inside main_arena, as in the real process.
    expect(lab.read64(b)).toBe(BigInt(arena + 0x60));
    expect(lab.read64(lab.symbol("tcache"))).toBe(BigInt(lab.heapBase() + 0x10));
    expect(lab.read64(lab.symbol("global_max_fast"))).toBe(0x80n);
    expect(lab.read64(lab.symbol("mp_") + 104)).toBe(64n); // mp_.tcache_bins
  });

  it("reads and writes bytes, and keeps the payload as the program left it", async () => {
    const lab = await createLab({ model: "ptmalloc", layout: "debian12" });
    const a = lab.malloc(40);
    expect([...lab.read(a, 16)]).toEqual(new Array(16).fill(0));
    lab.write(a, [1, 2, 3, 4]);
    lab.write64(a + 8, 0x1122334455667788n);
    expect([...lab.read(a, 4)]).toEqual([1, 2, 3, 4]);
    expect(lab.read64(a + 8)).toBe(0x1122334455667788n);
    const b = lab.malloc(40);
    expect(lab.read64(b)).toBe(0n); // no notes of the model in the payload
    expect(lab.chunks().find((c) => c.address === b)?.requested).toBe(40);
  });

  it("faults outside the mapped regions, changes nothing, and stays usable", async () => {
    const lab = await createLab({ model: "ptmalloc", layout: "debian12" });
    const a = lab.malloc(24);
    expect(segv(() => lab.read64(0x1000)).message).toMatch(/0x1000/);
    segv(() => lab.write64(0x7ffff7fb6000, 1n)); // just past libc's .bss
    const top = lab.heapBase() + 0x21000; // the break after the first growth
    segv(() => lab.write(top - 4, [1, 2, 3, 4, 5, 6, 7, 8]));
    expect(lab.read(top - 4, 4)).toEqual(new Uint8Array(4)); // nothing of the refused write landed
    expect(lab.malloc(24)).toBe(a + 0x20);
  });

  it("faults when the allocator stores through a poisoned pointer, and rolls the call back", async () => {
    const lab = await createLab({ model: "ptmalloc", layout: "debian12" });
    const a = lab.malloc(0x28);
    const b = lab.malloc(0x28);
    lab.free(a);
    lab.free(b);
    // b->next = an unmapped address, safe-linked: tcache_get hands it out and clears its key there.
    lab.write64(b, BigInt(0x10000) ^ BigInt(Math.floor(b / 4096)));
    expect(lab.malloc(0x28)).toBe(b);
    const fault = segv(() => lab.malloc(0x28));
    expect(fault.allocatorMessage).toMatch(/Segmentation fault/);
    expect(lab.read64(lab.symbol("tcache") )).toBe(BigInt(lab.heapBase() + 0x10));
    expect(lab.malloc(0x18)).toBe(b + 0x30); // still usable, from the top
  });

  it("hands out stack memory below the frames of main", async () => {
    const lab = await createLab({ model: "ptmalloc", layout: "debian12" });
    const s = lab.stackAlloc(0x40);
    expect(s % 16).toBe(0);
    expect(s).toBeGreaterThanOrEqual(lab.symbol("stack"));
    expect(s + 0x40).toBeLessThanOrEqual(lab.symbol("stack_end"));
    const t = lab.stackAlloc(8, 64);
    expect(t % 64).toBe(0);
    expect(t + 8).toBeLessThanOrEqual(s);
    lab.write64(s, 0x21n);
    expect(lab.read64(s)).toBe(0x21n);
  });

  it("gives pointers as bigints, exact beyond 2^53", async () => {
    const lab = await createLab({ model: "ptmalloc", layout: "debian12", pointers: "bigint" });
    const a = lab.malloc(0x18);
    expect(typeof a).toBe("bigint");
    expect(a - BigInt(lab.heapBase())).toBe(0x2a0n);
    expect(typeof lab.symbol("main_arena")).toBe("bigint");
  });

  it("draws the tcache key from the seed, or takes it as an option", async () => {
    const keyOf = async (options: { seed?: number; tcacheKey?: bigint }) => {
      const lab = await createLab({ model: "ptmalloc", layout: "debian12", ...options });
      const a = lab.malloc(24);
      lab.free(a);
      expect(lab.read64(a + 8)).toBe(lab.read64(lab.symbol("tcache_key")));
      return lab.read64(a + 8);
    };
    expect(await keyOf({ seed: 1 })).toBe(await keyOf({ seed: 1 }));
    expect(await keyOf({ seed: 1 })).not.toBe(await keyOf({ seed: 2 }));
    expect(await keyOf({ tcacheKey: 0x1234n })).toBe(0x1234n);
  });

  it("names the symbols a layout lacks", async () => {
    const lab = await createLab({ model: "ptmalloc" });
    expect(() => lab.symbol("mp_")).toThrow(/known: main_arena/);
    await expect(createLab({ model: "ptmalloc", layout: "nope" })).rejects.toThrow(/known: default, debian12/);
  });

  it("calloc clears what glibc clears: reused chunks whole, mmapped chunks not at all", async () => {
    const lab = await createLab({ model: "ptmalloc", layout: "debian12" });
    const a = lab.malloc(0x4f0);
    lab.malloc(0x18);
    lab.write(a, new Array(0x4f0).fill(0x42));
    lab.free(a);
    const b = lab.calloc(1, 0x4f0);
    expect(b).toBe(a);
    expect(lab.read(b, 0x4f8).every((v) => v === 0)).toBe(true); // chunksize - 8 bytes
    const m = lab.malloc(0x40000);
    lab.write(m, [9]);
    lab.free(m);
    // A fresh mapping (the threshold rose to 0x41000): zero from the kernel, not cleared, and zero all the same.
    const c = lab.calloc(1, 0x50000);
    expect(lab.read(c, 16).every((v) => v === 0)).toBe(true);
  });

  it("fills with glibc.malloc.perturb as glibc does: allocations ^ 0xff, frees not through the tcache", async () => {
    const lab = await createLab({ model: "ptmalloc", layout: "debian12", tunables: "glibc.malloc.perturb=65" });
    const a = lab.malloc(0x100);
    expect([...lab.read(a, 0x100)].every((v) => v === 0xbe)).toBe(true);
    expect(lab.read64(a + 0x100)).toBe(0n); // the last 8 bytes of the chunk: beyond the request, not filled
    const big = lab.malloc(0x500);
    lab.malloc(0x18);
    lab.free(big); // unsorted: fd, bk, fd_nextsize, bk_nextsize, then the perturb byte
    expect([...lab.read(big + 32, 16)]).toEqual(new Array(16).fill(0x41));
    lab.free(a); // tcache: only next and key change
    expect([...lab.read(a + 16, 8)]).toEqual(new Array(8).fill(0xbe));
    const c = lab.calloc(1, 0x100); // cleared after the perturb fill
    expect([...lab.read(c, 0x100)].every((v) => v === 0)).toBe(true);
  });

  it("reads libc's variables before every call: a program that overwrites them changes what glibc does", async () => {
    const lab = await createLab({ model: "ptmalloc", layout: "debian12" });
    const ps = Array.from({ length: 9 }, () => lab.malloc(0x18));
    for (const p of ps.slice(0, 7)) lab.free(p); // the tcache bin is full
    lab.write64(lab.symbol("global_max_fast"), 0n);
    lab.free(ps[7]); // no longer a fastbin chunk: into the unsorted bin
    expect(lab.lists().unsorted[0].nodes.map((n) => n.chunk)).toEqual([ps[7] - 16]);
    expect(lab.lists().fastbins).toEqual([]);
    lab.write64(lab.symbol("mp_") + 120, 8n); // mp_.tcache_count: one more fits
    lab.free(ps[8]);
    expect(lab.lists().tcache[0].count).toBe(8);
    expect(lab.read64(lab.symbol("mp_") + 120)).toBe(8n);
  });
});
