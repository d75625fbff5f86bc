// The bins seen from outside: for every request from 0 to 256 KiB and samples up to 64 MiB, the usable size of
// the block the model hands out equals the real mimalloc 2.0.9's malloc_usable_size.

import { describe, expect, it } from "vitest";
import { MIMALLOC_LIBRARY, preloadedUsableSizes } from "../oracle/native.js";
import { mimallocUnavailable } from "./real.js";

const skip = mimallocUnavailable();

describe.skipIf(skip)("mimalloc model's size classes", () => {
  it("gives every request the usable size the real library gives it", async () => {
    const real = await preloadedUsableSizes(MIMALLOC_LIBRARY);
    expect(real.size).toBeGreaterThan(262_144);
    const { createLab } = await import("../../src/lab/lab.js");
    const lab = await createLab({ model: "mimalloc", metrics: false });
    const wrong: string[] = [];
    for (const [size, usable] of real) {
      const p = lab.malloc(size);
      const got = lab.usableSize(p);
      lab.free(p);
      if (got !== usable && wrong.length < 5) wrong.push(`${size}: real ${usable}, model ${got}`);
    }
    expect(wrong).toEqual([]);
  }, 120_000);
});
