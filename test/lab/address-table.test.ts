import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { instantiateModel } from "../../src/wasm/load.js";
import { TRACE_CODES, TRACE_COUNTS } from "../../src/lab/model.js";

/** The address table of a fresh model instance (assembly/common/trace-objects.ts), `capacity` slots at first. */
async function addressTable(capacity: number, forgetAfter = 1 << 22) {
  const wasm = await instantiateModel("ptmalloc");
  wasm.init();
  expect(wasm.traceObjectsReset(capacity, forgetAfter)).toBe(1);
  return {
    bind: (address: number, id: number) => wasm.addressBind(BigInt(address), id),
    end: (address: number, line: number) => wasm.addressEnd(BigInt(address), line),
    live: (address: number) => wasm.addressLive(BigInt(address)),
    endedAt: (address: number) => wasm.addressEndedAt(BigInt(address)),
    get forgotten() {
      return new Float64Array(wasm.memory.buffer, wasm.traceCounts() >>> 0, TRACE_CODES + TRACE_COUNTS.length)[
        TRACE_CODES + TRACE_COUNTS.indexOf("forgotten")];
    },
  };
}

describe("the address table", () => {
  it("agrees with a Map on live objects and ended addresses, through growth", async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 2 ** 16 })), { maxLength: 3000 }),
      async (steps) => {
        const table = await addressTable(16);
        const live = new Map<number, number>();
        const ended = new Map<number, number>();
        steps.forEach(([alloc, slot, hi], line) => {
          const address = hi * 2 ** 32 + slot * 16;
          if (alloc) {
            const displaced = table.bind(address, line);
            expect(displaced).toBe(live.get(address) ?? -1);
            live.set(address, line);
            ended.delete(address);
          } else if (live.has(address)) {
            table.end(address, line + 1);
            live.delete(address);
            ended.set(address, line + 1);
          }
          expect(table.live(address)).toBe(live.get(address) ?? -1);
          expect(table.endedAt(address)).toBe(ended.get(address) ?? 0);
        });
        for (const [a, id] of live) expect(table.live(a)).toBe(id);
      },
    ), { numRuns: 60 });
  });

  it("never answers from the slot a lookup found once another key took it", async () => {
    // in a table of 16 slots, some of the 64 keys z land in the slot the lookup of the missing x found
    const x = 0x5555_0000_0000;
    for (let z = 1; z <= 64; z++) {
      const table = await addressTable(16);
      for (let k = 1; k <= 8; k++) table.bind(0x7f00_0000_0000 + k * 0x30, k);
      expect(table.live(x)).toBe(-1);
      expect(table.bind(z * 16, 100)).toBe(-1);
      expect(table.bind(x, 200)).toBe(-1);
      expect(table.live(z * 16)).toBe(100);
      expect(table.live(x)).toBe(200);
      table.end(z * 16, 7);
      expect(table.endedAt(z * 16)).toBe(7);
      expect(table.live(x)).toBe(200);
    }
  });

  it("keeps every key of 8-byte blocks packed side by side (which crowd a table that keeps neighbours together)", async () => {
    const table = await addressTable(16);
    const base = 0x5555_5555_0000;
    for (let k = 0; k < 50_000; k++) expect(table.bind(base + 8 * k, k)).toBe(-1);
    for (let k = 0; k < 50_000; k += 2) table.end(base + 8 * k, k + 1);
    for (let k = 0; k < 50_000; k++) {
      expect(table.live(base + 8 * k)).toBe(k % 2 ? k : -1);
      expect(table.endedAt(base + 8 * k)).toBe(k % 2 ? 0 : k + 1);
    }
  });

  it("forgets ended addresses, never live ones, once they are most of a large table", async () => {
    const table = await addressTable(16, 64);
    for (let k = 1; k <= 10; k++) table.bind(k * 16, k);
    for (let k = 1000; k < 100_000; k++) {
      table.bind(k * 16, k);
      table.end(k * 16, k);
    }
    expect(table.forgotten).toBeGreaterThan(90_000);
    for (let k = 1; k <= 10; k++) expect(table.live(k * 16)).toBe(k);
    expect(table.endedAt(99_999 * 16)).toBe(99_999);
  });
});
