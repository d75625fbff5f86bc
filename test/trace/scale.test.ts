// Readers and writers are streams: a trace generated on the fly, far larger than any batch, flows through
// detection, parsing, the binary writer and the binary reader with memory that does not grow with its length.
// HEAPLAB_LONG=1 runs 100 million operations (HEAPLAB_SCALE_OPS=n: n); the default run 300 000, a smoke test.

import { describe, expect, it } from "vitest";
import { readAllocTrace } from "../../src/trace/alloc-trace.js";
import { readBinary } from "../../src/trace/binary.js";
import { openTrace } from "../../src/trace/detect.js";
import { readMtrace } from "../../src/trace/mtrace.js";
import type { TraceSource } from "../../src/trace/types.js";
import { encodeTrace } from "../../src/trace/write.js";

const OPS = Number(process.env.HEAPLAB_SCALE_OPS) || (process.env.HEAPLAB_LONG === "1" ? 100_000_000 : 300_000);
const SLOTS = 4096;
const LIMIT_MB = 300;
/** Generous: generating the text dominates (about 100 000 ops/s on a busy machine). */
const TIMEOUT_MS = Math.max(120_000, OPS / 20);
const REPORT = OPS !== 300_000;

/** alloc-trace v1 text of `ops` operations over SLOTS recycled blocks, produced lazily in ~1 MB chunks. */
async function* generated(ops: number): AsyncIterable<Uint8Array> {
  const encoder = new TextEncoder();
  yield encoder.encode("# alloc-trace v1 pid=5 ppid=1 exe=gen\n");
  const live = new Float64Array(SLOTS);
  let lines: string[] = [];
  for (let seq = 1; seq <= ops; seq++) {
    const slot = (seq * 2654435761) % SLOTS;
    if (live[slot]) {
      lines.push(`${seq} 5 f 0x${live[slot].toString(16)}`);
      live[slot] = 0;
    } else {
      const address = 0x555555554000 + slot * 4096 + (seq % 16) * 16;
      lines.push(`${seq} 5 m ${(seq % 1000) + 1} 0x${address.toString(16)}`);
      live[slot] = address;
    }
    if (lines.length === 30000) {
      yield encoder.encode(lines.join("\n") + "\n");
      lines = [];
    }
  }
  if (lines.length) yield encoder.encode(lines.join("\n") + "\n");
}

/** Reads every batch, tracking the largest RSS growth over the starting point. */
async function drain(source: TraceSource): Promise<{ ops: number; growthMB: number }> {
  const start = process.memoryUsage().rss;
  let peak = start;
  let ops = 0;
  let batches = 0;
  for await (const b of source.batches()) {
    ops += b.length;
    if (++batches % 8 === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  const growthMB = (peak - start) / 2 ** 20;
  if (REPORT) console.log(`${source.name}: ${ops} ops, RSS growth ${growthMB.toFixed(0)} MB`);
  return { ops, growthMB };
}

describe("streaming at scale", () => {
  it(`detects and parses ${OPS.toLocaleString("en-US")} ops of alloc-trace text in bounded memory`, async () => {
    const { ops, growthMB } = await drain(await openTrace(generated(OPS)));
    expect(ops).toBe(OPS);
    expect(growthMB).toBeLessThan(LIMIT_MB);
  }, TIMEOUT_MS);

  it("streams text → binary writer → binary reader without holding the trace", async () => {
    const binary = encodeTrace(readAllocTrace(generated(OPS)), "binary");
    const { ops, growthMB } = await drain(readBinary(binary));
    expect(ops).toBe(OPS);
    expect(growthMB).toBeLessThan(LIMIT_MB);
  }, TIMEOUT_MS);

  it("streams text → mtrace writer → mtrace reader (live set bounded by live blocks)", async () => {
    const mtrace = encodeTrace(readAllocTrace(generated(OPS)), "mtrace");
    const source = readMtrace(mtrace);
    const { ops, growthMB } = await drain(source);
    expect(ops).toBe(OPS);
    expect(source.loss.unknownFrees).toBe(0);
    expect(growthMB).toBeLessThan(LIMIT_MB);
  }, TIMEOUT_MS);
});
