// Recycled batches: a consumer that asks for `recycle` sees the same ops as one that keeps every batch, while the
// reader refills a handful of batches instead of allocating one per BATCH_CAPACITY ops.

import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { readAllocTrace } from "../../src/trace/alloc-trace.js";
import { readBinary } from "../../src/trace/binary.js";
import { readMtrace } from "../../src/trace/mtrace.js";
import { type TraceBatch, type TraceOp, type TraceSource, opAt } from "../../src/trace/types.js";
import { encodeToBytes } from "../../src/trace/write.js";
import { collect, sharedTraceFiles } from "./helpers.js";

/**
 * Reads `source` as a recycling consumer that, like the lab with a prefetched trace, holds the batch in hand and
 * the one before it, and checks that the one before is untouched when the next batch arrives.
 */
async function collectRecycling(source: TraceSource): Promise<{ ops: TraceOp[]; distinct: number; batches: number }> {
  const ops: TraceOp[] = [];
  const seen = new Set<TraceBatch>();
  let batches = 0;
  let previous: { batch: TraceBatch; first: TraceOp | null; length: number } | null = null;
  for await (const batch of source.batches({ recycle: true })) {
    if (previous) {
      expect(previous.batch.length).toBe(previous.length);
      if (previous.first) expect(opAt(previous.batch, 0)).toEqual(previous.first);
    }
    seen.add(batch);
    batches++;
    for (let i = 0; i < batch.length; i++) ops.push(opAt(batch, i));
    previous = { batch, first: batch.length ? opAt(batch, 0) : null, length: batch.length };
  }
  return { ops, distinct: seen.size, batches };
}

const sqlite = sharedTraceFiles().find((f) => f.includes("sqlite3-memdb"));

describe.skipIf(!sqlite)("recycling readers", () => {
  const text = sqlite ? gunzipSync(readFileSync(sqlite)) : new Uint8Array();

  it("alloc-trace: same ops as a fresh read, from a few batches (many filled per input chunk)", async () => {
    const fresh = await collect(readAllocTrace(text));
    const recycled = await collectRecycling(readAllocTrace(text));
    expect(recycled.ops).toEqual(fresh);
    expect(recycled.batches).toBeGreaterThan(20);
    expect(recycled.distinct).toBeLessThan(recycled.batches / 4);
  });

  it("binary and mtrace: same ops as a fresh read", async () => {
    const binary = await encodeToBytes(readAllocTrace(text), "binary");
    const mtrace = await encodeToBytes(readAllocTrace(text), "mtrace");
    for (const open of [() => readBinary(binary), () => readMtrace(mtrace)]) {
      const fresh = await collect(open());
      const recycled = await collectRecycling(open());
      expect(recycled.ops).toEqual(fresh);
      expect(recycled.distinct).toBeLessThan(recycled.batches / 4);
    }
  });
});
