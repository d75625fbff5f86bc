// The byte-level number writers against JavaScript's own formatting, across every fast path's edges.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LineBytes } from "../../src/lab/line-bytes.js";

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const EDGES = [0, 1, 9, 10, 15, 16, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 0x7ffff7dd4010, -1, 0.5, 1e21];

/** `${v}`, except that an integer beyond 2^53 shows every digit, as C prints a size_t. */
const decimalText = (v: number): string => (Number.isInteger(v) && v > Number.MAX_SAFE_INTEGER ? BigInt(v).toString() : `${v}`);

describe("LineBytes", () => {
  it("writes decimals and hex exactly as `${v}` (every digit beyond 2^53) and v.toString(16)", () => {
    const value = fc.oneof(fc.constantFrom(...EDGES), fc.nat(), fc.maxSafeNat(), fc.integer({ min: 0, max: 2 ** 32 + 5 }), fc.double());
    fc.assert(fc.property(fc.array(value, { maxLength: 50 }), (values) => {
      const out = new LineBytes(16);
      for (const v of values) {
        out.decimal(v);
        out.byte(32);
        out.hex(v);
        out.byte(10);
      }
      expect(text(out.take())).toBe(values.map((v) => `${decimalText(v)} ${v.toString(16)}\n`).join(""));
    }), { numRuns: 300 });
  });

  it("writes a bigint with all its digits", () => {
    const out = new LineBytes(4);
    out.decimal(2n ** 128n - 1n);
    out.decimal(2 ** 63);
    expect(text(out.take())).toBe(`${2n ** 128n - 1n}9223372036854775808`);
  });
});
