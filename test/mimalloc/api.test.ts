// The model called one function at a time: usable sizes, realloc's in-place rule and aligned blocks as measured
// on the real mimalloc 2.0.9 (malloc_usable_size of the preloaded library), the bins, walks and statistics that
// account for what was allocated, the checker on a corrupted page, foreign frees, and MIMALLOC_LIMIT_OS_ALLOC.

import { describe, expect, it } from "vitest";
import { modelUnavailable } from "../differential/compare.js";

const skip = modelUnavailable("mimalloc");

async function lab(options: Record<string, number> = {}) {
  const { createLab } = await import("../../src/lab/lab.js");
  return createLab({ model: "mimalloc", options });
}

/** malloc_usable_size(malloc(n)) on the real library (LD_PRELOAD=libmimalloc.so.2, Debian 12). */
const MEASURED: ReadonlyArray<[number, number]> = [
  [0, 8], [1, 8], [9, 16], [17, 32], [100, 112], [1000, 1024], [1025, 1280], [16384, 16384], [16385, 20480],
  [131072, 131072], [131073, 196608], [200000, 262144], [600000, 1048576], [3000000, 3145728],
  [17000000, 17825792],
];

describe.skipIf(skip)("mimalloc model, call by call", () => {
  it("gives every size the usable size the real library gives it", async () => {
    const l = await lab();
    for (const [size, usable] of MEASURED) expect([size, l.usableSize(l.malloc(size))]).toEqual([size, usable]);
  });

  it("reallocates in place while the new size fits and uses at least half; realloc(NULL, 0) is a block", async () => {
    const l = await lab();
    const p = l.malloc(1000);
    expect(l.realloc(p, 600)).toBe(p);
    expect(l.realloc(p, 1024)).toBe(p);
    const q = l.realloc(p, 400);
    expect(q).not.toBe(p);
    expect(l.usableSize(q)).toBe(448);
    expect(l.usableSize(l.realloc(0, 0))).toBe(8);
  });

  it("aligns by over-allocating in a larger bin, and refuses alignments that are not powers of two", async () => {
    const l = await lab();
    const a = l.memalign(256, 100);
    expect(a % 256).toBe(0);
    expect(l.usableSize(a)).toBe(256);
    const b = l.memalign(65536, 100);
    expect(b % 65536).toBe(0);
    expect(l.usableSize(b)).toBe(81920);
    expect(l.posixMemalign(12, 100)).toBe(0);
    expect(l.memalign(48, 100)).toBe(0);
    const huge = l.memalign(64 << 20, 100);
    expect(huge % (64 << 20)).toBe(0);
    l.free(huge);
    expect(l.check()).toEqual([]);
  });

  it("keeps mimalloc 2.0.9's misaligned power-of-two blocks: memalign(256, 1024) is malloc(1024), 384 bytes into its page", async () => {
    // measured: memalign(256, 1024) % 256 == 128 and memalign(512, 512) % 512 == 384 on the real library
    const l = await lab();
    expect(l.memalign(256, 1024) % 256).toBe(128);
    expect(l.memalign(512, 512) % 512).toBe(384);
  });

  it("walks blocks by state and counts them in its statistics", async () => {
    const l = await lab();
    const blocks = [l.malloc(100), l.malloc(100), l.malloc(100)];
    l.free(blocks[1]);
    const rows = l.chunks().filter((r) => r.size === 112);
    expect(rows.filter((r) => r.state === "allocated").map((r) => [r.address, r.requested]))
      .toEqual([[blocks[0], 100], [blocks[2], 100]]);
    expect(rows.filter((r) => r.state === "localfree").map((r) => r.address)).toEqual([blocks[1]]);
    // the first extension links 4 KiB of blocks; the rest of the 64 KiB page is not linked yet
    expect(rows.filter((r) => r.state === "pagefree")).toHaveLength(Math.floor(4096 / 112) - 3);
    expect(rows.some((r) => r.state === "unlinked")).toBe(true);
    const stats = l.stats();
    expect(stats["segments.current"]).toBe(1);
    expect(stats["pages.current"]).toBe(1);
    expect(stats.live_requested).toBe(200);
    expect(stats.live_block_bytes).toBe(224);
    expect(stats["reserved.current"]).toBe(32 << 20);
  });

  it("puts a block freed by another thread on the page's thread_free list or the owner's delayed list", async () => {
    const l = await lab();
    const a = l.malloc(64, { thread: 0 });
    const b = l.malloc(64, { thread: 0 });
    l.free(a, { thread: 1 });
    l.free(b, { thread: 1 });
    const states = new Map(l.chunks().map((r) => [r.address, r.state]));
    expect(states.get(a)).toBe("threadfree");
    expect(states.get(b)).toBe("threadfree");
    expect(l.check()).toEqual([]);
    // the owner takes the delayed block back at its next slow-path allocation
    l.malloc(200_000, { thread: 0 });
    expect(l.check()).toEqual([]);
  });

  it("finds a corrupted page count", async () => {
    const l = await lab();
    const p = l.malloc(64);
    expect(l.check()).toEqual([]);
    const wasm = l.handle.wasm as unknown as { debugLoad64(va: number): bigint; debugStore64(va: number, v: bigint): void };
    const segment = p - (p % (32 << 20));
    const page = segment + 264 + 80 * Math.floor((p - segment) / 65536);
    const word = wasm.debugLoad64(page + 24);
    wasm.debugStore64(page + 24, word + 5n); // used += 5
    expect(l.check().map((v) => v.message)).toContain("used + |free| + |local_free| != capacity");
  });

  it("returns NULL for every request when MIMALLOC_LIMIT_OS_ALLOC forbids OS memory", async () => {
    const l = await lab({ MIMALLOC_LIMIT_OS_ALLOC: 1 });
    expect(l.malloc(16)).toBe(0);
    expect(l.malloc(1 << 20)).toBe(0);
  });

  it("refuses to free a pointer it never handed out (the release build would corrupt its lists)", async () => {
    const l = await lab();
    const p = l.malloc(100);
    expect(() => l.free(p + 8)).toThrow(/inside a block/);
    expect(() => l.free(0x1234_5678)).toThrow(/invalid pointer/);
    const a = l.memalign(4096, 100); // an aligned pointer inside its block frees the block
    l.free(a);
    l.free(p);
    expect(l.check()).toEqual([]);
    expect(l.stats()["pages.current"]).toBe(2);
  });
});
