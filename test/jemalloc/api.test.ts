// The model called one function at a time: jemalloc 5.3.0's size classes and slab geometry, the placements a
// fresh process makes (measured on the real library), realloc in place, misuse refused without changing
// anything, and a heap walk and checker that agree with the statistics.

import { describe, expect, it } from "vitest";
import { modelUnavailable } from "../differential/compare.js";

const skip = modelUnavailable("jemalloc");

async function lab(tunables = "") {
  const { createLab } = await import("../../src/lab/lab.js");
  return createLab({ model: "jemalloc", tunables });
}

describe.skipIf(skip)("jemalloc model, call by call", () => {
  it("has the 232 classes of x86-64, 36 of them small, with slabs the regions tile exactly", async () => {
    const l = await lab();
    const w = l.handle.wasm as unknown as Record<string, (i: number) => number>;
    expect(w.classCount(0)).toBe(232);
    const first = Array.from({ length: 14 }, (_, i) => w.classSize(i));
    expect(first).toEqual([8, 16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]);
    expect(w.classSize(35)).toBe(14_336);
    expect(w.classSlabBytes(35)).toBe(7 * 4096);
    expect(w.classRegions(35)).toBe(2);
    expect(w.classRegions(0)).toBe(512);
    expect(w.classSlabBytes(36)).toBe(0);
    expect(w.classCacheSlots(0)).toBe(200);
    expect(w.classCacheSlots(20)).toBe(20);
    expect(w.classCacheSlots(40)).toBe(20);
    expect(w.classCacheSlots(41)).toBe(0);
  });

  it("places a fresh process's first blocks as the real library does", async () => {
    // Measured with LD_PRELOAD=libjemalloc.so.2 under setarch -R: offsets from the first block.
    const l = await lab();
    const sizes = [8, 8, 24, 100, 4000, 16384, 20000, 40000, 100000, 1 << 20, 5000, 8];
    const got = sizes.map((s) => l.malloc(s));
    const offsets = got.map((p) => p - got[0]);
    expect(offsets.slice(0, 5)).toEqual([0, 8, 0x1000, 0x2000, 0x9000]);
    expect(offsets[11]).toBe(0x10);
    for (const [i, s] of sizes.entries()) expect(l.usableSize(got[i])).toBeGreaterThanOrEqual(s);
    expect(l.usableSize(got[6])).toBe(20_480);
    expect(l.check()).toEqual([]);
  });

  it("reallocs in place within a small class and into the free pages after a large object (as measured)", async () => {
    const l = await lab("tcache:false");
    const p = l.malloc(100);
    expect(l.realloc(p, 112)).toBe(p);
    expect(l.realloc(p, 97)).toBe(p);
    expect(l.realloc(p, 90)).not.toBe(p);
    const big = l.malloc(40_000);
    expect(l.realloc(big, 60_000)).toBe(big);
    expect(l.usableSize(big)).toBe(65_536);
    expect(l.realloc(big, 20_000)).toBe(big);
    expect(l.usableSize(big)).toBe(20_480);
    expect(l.check()).toEqual([]);
  });

  it("refuses a free of what it never handed out, and changes nothing", async () => {
    const l = await lab();
    const p = l.malloc(48);
    const before = l.stats();
    expect(() => l.free(0x1000)).toThrow(/invalid pointer/);
    expect(() => l.free(p + 16)).toThrow(/not the start of a region/);
    const big = l.malloc(100_000);
    expect(() => l.free(big + 4096)).toThrow(/invalid pointer/);
    l.free(big);
    expect(l.stats()["stats.allocated"]).toBe(before["stats.allocated"]);
    l.free(p);
    expect(l.check()).toEqual([]);
  });

  it("walks every region, cached ones apart, and the checker finds a corrupted slab", async () => {
    const l = await lab();
    const kept = Array.from({ length: 10 }, () => l.malloc(64));
    for (const p of kept.slice(0, 4)) l.free(p);
    const rows = l.chunks().filter((r) => r.size === 64);
    expect(rows.filter((r) => r.state === "allocated").length).toBe(6);
    expect(rows.filter((r) => r.state === "tcache").length).toBeGreaterThanOrEqual(4);
    expect(l.check()).toEqual([]);
    // Mark every region of the slab free behind the model's back: the free count no longer agrees.
    const w = l.handle.wasm as unknown as { debugLoad64(va: number): bigint; debugStore64(va: number, v: bigint): void };
    const EXTENTS = 0xfff5_0000_0000;
    let slab = -1;
    for (let i = 0; i < 64 && slab < 0; i++) {
      const e = EXTENTS + 192 * i;
      if (Number(w.debugLoad64(e)) === kept[0] - (kept[0] % 4096)) slab = e;
    }
    expect(slab).toBeGreaterThan(0);
    w.debugStore64(slab + 128, 0xffff_ffff_ffff_ffffn);
    expect(l.check().map((v) => v.message)).toContain("a slab's free count disagrees with its bitmap");
  });
});
