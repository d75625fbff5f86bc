// Recording a replay for the views: footprint samples and heap snapshots at evenly spaced operations, taken in
// one pass by cutting the trace's batches at the sample points.

import type { Lab } from "../lab/lab.js";
import { readAllocTrace } from "../trace/alloc-trace.js";
import type { ByteSource } from "../trace/input.js";
import { type TraceBatch, type TraceSource, newBatch } from "../trace/types.js";
import type { ChunkRow, HeapSnapshot, TimelineRow } from "./types.js";

export interface RecordOptions {
  /** Heap snapshots to keep, evenly spaced, the last at the end of the trace (default 12). */
  snapshots?: number;
  /** Footprint samples for the timeline (default 400). */
  samples?: number;
  /** Operations in the trace, when known (saves a counting pass). */
  total?: number;
}

export interface Recording {
  model: string;
  ops: number;
  timeline: TimelineRow[];
  snapshots: HeapSnapshot[];
}

/**
 * The footprint decomposition read off a heap walk: `requested` bytes, the allocator's `overhead` in allocated
 * chunks (headers and rounding), and the bytes held in each free state (tcache, bins, top, …). The footprint is
 * the sum of every chunk; live bytes are the requested ones.
 */
export function timelineRowOf(op: number, chunks: readonly ChunkRow[]): TimelineRow {
  const parts: Record<string, number> = { requested: 0, overhead: 0 };
  let footprint = 0;
  for (const chunk of chunks) {
    footprint += chunk.size;
    if (chunk.state === "allocated" || chunk.state === "mmapped") {
      parts.requested += chunk.requested;
      parts.overhead += chunk.size - chunk.requested;
    } else {
      parts[chunk.state] = (parts[chunk.state] ?? 0) + chunk.size;
    }
  }
  return { op, live: parts.requested, footprint, parts };
}

/** Ops [from, to) of a batch as a batch of their own. */
export function sliceBatch(batch: TraceBatch, from: number, to: number): TraceBatch {
  const out = newBatch(to - from);
  out.length = to - from;
  for (const key of ["seq", "tid", "code", "ptr", "a", "b", "res", "line"] as const) {
    out[key].set(batch[key].subarray(from, to) as never);
  }
  return out;
}

/** The same trace with batches cut so that one ends at every multiple of `every` operations. */
export function cutEvery(source: TraceSource, every: number): TraceSource {
  return {
    name: source.name,
    header: source.header,
    loss: source.loss,
    async *batches() {
      let op = 0;
      for await (const batch of source.batches()) {
        let from = 0;
        while (from < batch.length) {
          const to = Math.min(batch.length, from + (every - (op % every)));
          yield from === 0 && to === batch.length ? batch : sliceBatch(batch, from, to);
          op += to - from;
          from = to;
        }
      }
    },
  };
}

/** Operations in a trace (one pass over it). */
export async function countOps(source: TraceSource): Promise<number> {
  let total = 0;
  for await (const batch of source.batches()) total += batch.length;
  return total;
}

/** Replays a trace into `lab`, sampling the footprint and keeping heap snapshots along the way. */
export async function recordReplay(lab: Lab, trace: TraceSource | ByteSource, options: RecordOptions = {}):
  Promise<Recording> {
  const source = typeof trace === "object" && "batches" in trace ? trace : readAllocTrace(trace);
  const total = options.total ?? (await countOps(source));
  const sampleEvery = Math.max(1, Math.ceil(total / (options.samples ?? 400)));
  const wanted = Math.max(1, options.snapshots ?? 12);
  const snapshotEvery = sampleEvery * Math.max(1, Math.ceil(total / wanted / sampleEvery));
  const pageSize = lab.model === "tcmalloc" ? 8192 : 4096;
  const timeline: TimelineRow[] = [timelineRowOf(0, lab.chunks())];
  const snapshots: HeapSnapshot[] = [];
  let op = 0;
  await lab.replay(cutEvery(source, sampleEvery), {
    observe: (batch) => {
      op += batch.length;
      if (op % sampleEvery !== 0 && op !== total) return;
      const chunks = lab.chunks();
      timeline.push(timelineRowOf(op, chunks));
      if (op % snapshotEvery === 0 || op === total) snapshots.push({ op, chunks, model: lab.model, pageSize });
    },
  });
  if (snapshots.length === 0 || snapshots[snapshots.length - 1].op !== op) {
    const chunks = lab.chunks();
    if (timeline[timeline.length - 1].op !== op) timeline.push(timelineRowOf(op, chunks));
    snapshots.push({ op, chunks, model: lab.model, pageSize });
  }
  return { model: lab.model, ops: op, timeline, snapshots };
}
