// The importers' address table behaves as a Map under any sequence of sets and deletes.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AddressMap } from "../../src/trace/importer.js";

describe("AddressMap", () => {
  it("agrees with a Map", () => {
    const key = fc.oneof(fc.integer({ min: 1, max: 64 }).map((k) => 0x555555554000 + 16 * k), fc.integer({ min: 1, max: 2 ** 47 }));
    const step = fc.record({ op: fc.integer({ min: 0, max: 2 }), key, value: fc.nat() });
    fc.assert(fc.property(fc.array(step, { maxLength: 3000 }), (steps) => {
      const table = new AddressMap(4);
      const reference = new Map<number, number>();
      for (const s of steps) {
        if (s.op === 0) {
          table.set(s.key, s.value);
          reference.set(s.key, s.value);
        } else if (s.op === 1) {
          expect(table.delete(s.key)).toBe(reference.delete(s.key));
        }
        expect(table.get(s.key)).toBe(reference.get(s.key));
      }
      expect(table.size).toBe(reference.size);
      for (const [k, v] of reference) expect(table.get(k)).toBe(v);
    }), { numRuns: 200 });
  });
});
