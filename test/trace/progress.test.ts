// The progress line: drawn only on a terminal, throttled, with ops/s and a bar when the total is known.

import { describe, expect, it } from "vitest";
import { createProgress, progressLine, withProgress } from "../../src/trace/progress.js";
import { OpCode, type TraceOp } from "../../src/trace/types.js";
import { sourceOf } from "./helpers.js";

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, columns: 60, writes, write: (t: string) => writes.push(t) };
}

describe("progress", () => {
  it("formats counts, rates and a bar", () => {
    expect(progressLine("replay", 2_500_000, 2, undefined, 80)).toBe("replay 2.50 M ops  1.25 M ops/s  2.0 s");
    const line = progressLine("convert", 50, 1, 100, 70);
    expect(line).toMatch(/^convert \[#+ +\]  50% 50 ops  50 ops\/s  1\.0 s$/);
    expect(line.length).toBeLessThanOrEqual(70);
  });

  it("draws nothing when the stream is not a terminal", () => {
    const stream = fakeStream(false);
    const p = createProgress("x", { stream });
    p.tick(10);
    p.done();
    expect(stream.writes).toEqual([]);
  });

  it("redraws at most every 200 ms on a terminal and clears the line at the end", async () => {
    const stream = fakeStream(true);
    let now = 0;
    const progress = createProgress("replay", { stream, now: () => now });
    const ops: TraceOp[] = Array.from({ length: 50 }, (_, k) => ({ seq: k + 1, tid: 1, code: OpCode.malloc, ptr: 0, a: 8, b: 0, res: 16 * (k + 1), line: 0 }));
    const source = withProgress(sourceOf(ops, {}, 10), progress);
    for await (const batch of source.batches()) {
      void batch;
      now += 150;
    }
    const drawn = stream.writes.filter((w) => w.includes("ops/s"));
    expect(drawn.length).toBe(3);
    expect(drawn[0]).toMatch(/^\rreplay 10 ops/);
    expect(stream.writes[stream.writes.length - 1]).toMatch(/^\r +\r$/);
  });
});
