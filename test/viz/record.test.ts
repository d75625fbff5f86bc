import { describe, expect, it } from "vitest";
import type { Lab } from "../../src/lab/lab.js";
import { type ChunkRow, countOps, cutEvery, recordReplay, timelineRowOf } from "../../src/viz/index.js";
import { type TraceSource, emptyLoss, newBatch, pushOp } from "../../src/trace/types.js";
import { parseXml, select } from "./xml.js";

/** A trace of `total` mallocs in batches of `batchSize`. */
function mallocs(total: number, batchSize: number): TraceSource {
  return {
    name: "mallocs", header: { format: "test" }, loss: emptyLoss(),
    async *batches() {
      let batch = newBatch(batchSize);
      for (let i = 0; i < total; i++) {
        pushOp(batch, { seq: i, tid: 1, code: 1, ptr: 0, a: 16, b: 0, res: 0x1000 + i * 32, line: i + 2 });
        if (batch.length === batchSize) {
          yield batch;
          batch = newBatch(batchSize);
        }
      }
      if (batch.length) yield batch;
    },
  };
}

/** A stand-in lab whose heap holds one 32-byte chunk per operation replayed. */
function countingLab(): Lab {
  let ops = 0;
  const chunks = (): ChunkRow[] => Array.from({ length: ops }, (_, i) => ({
    address: 0x1010 + i * 32, chunk: 0x1000 + i * 32, size: 32, requested: 16, state: "allocated", bin: -1,
    region: "heap", line: i + 2,
  }));
  return {
    model: "ptmalloc", chunks, handle: { name: "ptmalloc", wasm: {} },
    async replay(trace: TraceSource, options: { observe?: (b: never, f: number, t: number, r: never) => void }) {
      for await (const batch of trace.batches()) {
        ops += batch.length;
        options.observe?.(batch as never, 0, batch.length, undefined as never);
      }
      return {} as never;
    },
  } as unknown as Lab;
}

describe("recording a replay", () => {
  it("cuts batches at every multiple of the step, keeping all ops in order", async () => {
    const cut = cutEvery(mallocs(1000, 300), 64);
    let op = 0;
    for await (const batch of cut.batches()) {
      for (let i = 0; i < batch.length; i++) expect(batch.seq[i]).toBe(op + i);
      op += batch.length;
      expect(op % 64 === 0 || op === 1000 || op % 300 === 0).toBe(true);
      expect(batch.length).toBeLessThanOrEqual(64);
    }
    expect(op).toBe(1000);
    expect(await countOps(cut)).toBe(1000);
  });

  it("samples the footprint evenly and keeps snapshots up to the end", async () => {
    const rec = await recordReplay(countingLab(), mallocs(1000, 256), { samples: 100, snapshots: 4 });
    expect(rec.ops).toBe(1000);
    expect(rec.timelineSource).toBe("walk");
    expect(rec.timeline.map((r) => r.op)).toEqual(Array.from({ length: 101 }, (_, i) => i * 10));
    for (const row of rec.timeline) {
      expect(row.footprint).toBe(row.op * 32);
      expect(row.live).toBe(row.op * 16);
    }
    expect(rec.snapshots.map((s) => s.op)).toEqual([250, 500, 750, 1000]);
    expect(rec.snapshots.map((s) => s.chunks.length)).toEqual([250, 500, 750, 1000]);
    const drawing = parseXml(rec.toSVG());
    expect(select(drawing, "svg").map((e) => e.attrs.class)).toEqual(["heaplab stack", "heaplab timeline", "heaplab heap-map"]);
    expect(select(drawing, "rect", "chunk").length).toBe(1000);
    expect(rec.toHTML()).toContain('id="heaplab-scrubber"');
    expect(Object.keys(JSON.parse(JSON.stringify(rec)))).toEqual(["model", "ops", "timeline", "snapshots", "timelineSource"]);
  });

  it("decomposes the footprint by state", () => {
    const row = timelineRowOf(7, [
      { address: 16, chunk: 0, size: 48, requested: 30, state: "allocated", bin: -1, region: "heap", line: 1 },
      { address: 64, chunk: 48, size: 32, requested: 0, state: "tcache", bin: 0, region: "heap", line: null },
      { address: 96, chunk: 80, size: 1000, requested: 0, state: "top", bin: -1, region: "heap", line: null },
    ]);
    expect(row).toEqual({ op: 7, live: 30, footprint: 1080, parts: { requested: 30, overhead: 18, tcache: 32, top: 1000 } });
  });
});
