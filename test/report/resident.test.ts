// Resident pages (assembly/common/resident.ts) against a reference kept as a union of page intervals: random
// touches and releases of blocks from a few bytes to several GiB, across the 2 GiB frames the bitmap summarises.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { harness } from "./harness.js";

const PAGE = 4096;
const FRAME = 2 ** 31; // pages of one bitmap frame × 4 KiB
const BASE = 2 ** 40;

/** Pages as sorted disjoint [first, end) intervals. */
class PageSet {
  private spans: [number, number][] = [];

  add(first: number, end: number): void {
    if (end <= first) return;
    const kept: [number, number][] = [];
    for (const [a, b] of this.spans) {
      if (b < first || a > end) kept.push([a, b]);
      else { first = Math.min(first, a); end = Math.max(end, b); }
    }
    kept.push([first, end]);
    this.spans = kept.sort((x, y) => x[0] - y[0]);
  }

  remove(first: number, end: number): void {
    if (end <= first) return;
    const kept: [number, number][] = [];
    for (const [a, b] of this.spans) {
      if (a < first) kept.push([a, Math.min(b, first)]);
      if (b > end) kept.push([Math.max(a, end), b]);
    }
    this.spans = kept.filter(([a, b]) => b > a);
  }

  get size(): number {
    return this.spans.reduce((n, [a, b]) => n + b - a, 0);
  }
}

const length = fc.oneof(
  fc.integer({ min: 1, max: 3 * PAGE }),
  fc.integer({ min: 1, max: 64 * 2 ** 20 }),
  fc.integer({ min: FRAME - 2 * PAGE, max: 3 * FRAME }),
);
const step = fc.record({
  touch: fc.boolean(),
  at: fc.integer({ min: 0, max: 6 * FRAME }).map((v) => BASE + v - (v % 16)),
  length,
});

describe("resident pages", () => {
  it("count exactly what a union of page intervals counts", async () => {
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
      const h = await harness();
      const ref = new PageSet();
      for (const { touch, at, length: len } of steps) {
        if (touch) {
          h.residentTouch(BigInt(at), BigInt(len));
          ref.add(Math.floor(at / PAGE), Math.floor((at + len - 1) / PAGE) + 1);
        } else {
          h.residentRelease(BigInt(at), BigInt(len));
          ref.remove(Math.ceil(at / PAGE), Math.floor((at + len) / PAGE));
        }
        expect(Number(h.residentPageCount())).toBe(ref.size);
      }
    }), { numRuns: 25 });
  });

  it("mark terabytes without a bit per page", async () => {
    const h = await harness();
    const before = h.memory.buffer.byteLength;
    for (let k = 0; k < 40; k++) h.residentTouch(BigInt(BASE + k * 2 ** 43), 2n ** 43n);
    expect(Number(h.residentPageCount())).toBe(40 * 2 ** 31);
    // from the second page of the first block to the first page of the second: one block's worth
    h.residentRelease(BigInt(BASE + PAGE), 2n ** 43n);
    expect(Number(h.residentPageCount())).toBe(39 * 2 ** 31);
    // a bit per page would be 256 MiB of bitmap per block; the partial frames at the edges cost 64 KiB each
    expect(h.memory.buffer.byteLength - before).toBeLessThan(4 * 2 ** 20);
  });
});
