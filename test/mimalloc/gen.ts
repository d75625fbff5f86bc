// Request sizes aimed at mimalloc's machinery: bin boundaries, the 1 KiB fast path, the small/medium page limit
// (16 KiB), the largest medium block (128 KiB), large pages (up to 16 MiB) and huge segments just above.

import fc from "fast-check";

const KiB = 1024;
const MiB = 1024 * KiB;

export const mimallocSizes: fc.Arbitrary<number> = fc.oneof(
  { weight: 30, arbitrary: fc.integer({ min: 0, max: 1024 }) },
  {
    weight: 20,
    arbitrary: fc.constantFrom(8, 9, 16, 17, 24, 48, 64, 80, 81, 1024, 1025, 4096, 16 * KiB, 16 * KiB + 1,
      128 * KiB, 128 * KiB + 1, 512 * KiB, 16 * MiB, 16 * MiB + 1),
  },
  { weight: 15, arbitrary: fc.integer({ min: 1025, max: 16 * KiB }) },
  { weight: 8, arbitrary: fc.integer({ min: 16 * KiB + 1, max: 128 * KiB }) },
  { weight: 4, arbitrary: fc.integer({ min: 128 * KiB + 1, max: 2 * MiB }) },
  { weight: 1, arbitrary: fc.integer({ min: 2 * MiB, max: 40 * MiB }) },
);
