// The footprint decomposition, read from the model's running counts, against the same parts summed over a
// heap walk after replays of generated traces on one and three threads.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { modelUnavailable } from "../differential/compare.js";
import { traces } from "./gen.js";

const skip = modelUnavailable("tcmalloc");
/** The decomposition's part of each free walk state. */
const STATES: Record<string, number> = { threadcache: 2, transfer: 3, central: 4, pageheap: 5, span: 6 };

describe.skipIf(skip)("TCMalloc footprint decomposition", () => {
  it("equals the parts summed over the heap walk", async () => {
    const { createLab } = await import("../../src/lab/lab.js");
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 3 }).chain((t) => traces(t, 150)), async (text) => {
      const lab = await createLab({ model: "tcmalloc" });
      await lab.replay(new TextEncoder().encode(text), { threads: "arena" });
      const wasm = lab.handle.wasm as unknown as { allocBuffer(n: number): number; decompose(p: number): number };
      const at = wasm.allocBuffer(64);
      const n = wasm.decompose(at);
      const parts = [...new Float64Array(lab.handle.wasm.memory.buffer, at, n)];
      const walked = new Array<number>(8).fill(0);
      const records = lab.handle.walkRecords();
      for (let r = 0; r < records.length; r += 8) {
        const [size, requested, object] = [records[r + 2], records[r + 3], records[r + 7]];
        const state = lab.handle.stateName(records[r + 4]);
        if (state === "allocated" && object >= 0) {
          walked[0] += requested;
          walked[1] += size - requested;
        } else if (state in STATES) {
          walked[STATES[state]] += size;
        } else if (state === "allocated") {
          walked[7] += size;
        }
      }
      expect(parts).toEqual(walked);
    }), { numRuns: 25 });
  }, 120_000);
});
