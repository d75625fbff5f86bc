// Recording a replay for the views: footprint samples and heap snapshots at evenly spaced operations, taken in
// one pass by cutting the trace's batches at the snapshot points. The footprint comes from the model's replay
// metrics when it has them (exact peaks, the model's own decomposition), else from heap walks at each sample.

import type { Lab } from "../lab/lab.js";
import { ALL_STATES, MODELS } from "../models/index.js";
import { MetricsUnavailable } from "../report/metrics.js";
import { type Report, reportReplay } from "../report/report.js";
import { reportTables } from "../report/text.js";
import { readAllocTrace } from "../trace/alloc-trace.js";
import type { ByteSource } from "../trace/input.js";
import { type CallSite, type TraceBatch, type TraceSource, newBatch, siteColumn } from "../trace/types.js";
import type { ChunkRow, HeapSnapshot, TimelineRow } from "./types.js";
import { type Displayable, displayable } from "./display.js";
import { heapMapSVG } from "./heapmap.js";
import { reportHTML } from "./report.js";
import { stackSVG } from "./svg.js";
import { timelineSVG } from "./timeline.js";

export interface RecordOptions {
  /** Heap snapshots to keep, evenly spaced, the last at the end of the trace (default DEFAULT_SNAPSHOTS, 48). */
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
  /** Where the timeline came from: the model's replay metrics, or heap walks. */
  timelineSource: "metrics" | "walk";
  /** The replay report, when the model has replay metrics. */
  report?: Report;
  /** The trace's call sites, when it records them (heap-map tooltips name them). */
  sites?: Map<number, CallSite>;
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
    if (ALL_STATES.get(chunk.state)?.held) {
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
  if (batch.site) siteColumn(out).set(batch.site.subarray(from, to));
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

/**
 * A recording that notebooks display: the timeline over the last heap map as SVG, the scrubbing report as HTML.
 */
export function displayRecording(recording: Recording): Recording & Displayable {
  const last = recording.snapshots[recording.snapshots.length - 1];
  const title = `${recording.model}, ${recording.ops} operations`;
  return displayable(recording, {
    svg: () => stackSVG([
      timelineSVG(recording.timeline, { title: `${title}: footprint over time` }),
      heapMapSVG(last?.chunks ?? [], { pageSize: last?.pageSize, title: `${title}: the heap at the end` }),
    ]),
    html: () => reportHTML({
      title, timeline: recording.timeline, snapshots: recording.snapshots, sites: recording.sites,
      callSites: recording.report?.callSites, tables: recording.report && reportTables(recording.report),
    }),
  });
}

/** Scrubber stops by default: enough to follow a heap through its phases, one every ~2 % of the trace. */
export const DEFAULT_SNAPSHOTS = 48;

/** Evenly spaced sample and snapshot steps for a trace of `total` ops (snapshots land on samples). */
function steps(total: number, options: RecordOptions): { sampleEvery: number; snapshotEvery: number } {
  const sampleEvery = Math.max(1, Math.ceil(total / (options.samples ?? 400)));
  const wanted = Math.max(1, options.snapshots ?? DEFAULT_SNAPSHOTS);
  return { sampleEvery, snapshotEvery: sampleEvery * Math.max(1, Math.ceil(total / wanted / sampleEvery)) };
}

/**
 * Replays a trace into a fresh `lab`, keeping heap snapshots and the footprint over time. Uses the model's replay
 * metrics when it exports them, heap walks otherwise. The result displays itself in notebooks.
 */
export async function recordReplay(lab: Lab, trace: TraceSource | ByteSource, options: RecordOptions = {}):
  Promise<Recording & Displayable> {
  const source = typeof trace === "object" && "batches" in trace ? trace : readAllocTrace(trace);
  const total = options.total ?? (await countOps(source));
  try {
    return displayRecording(await recordWithMetrics(lab, source, total, options));
  } catch (error) {
    if (!(error instanceof MetricsUnavailable)) throw error;
    return displayRecording(await recordWithWalks(lab, source, total, options));
  }
}

/** The snapshot taker: the heap walk whenever the op count reaches a multiple of `every` or the end. */
function snapshotter(lab: Lab, total: number, every: number) {
  const pageSize = MODELS[lab.model].pageSize;
  const snapshots: HeapSnapshot[] = [];
  let op = 0;
  return {
    snapshots,
    get op() {
      return op;
    },
    /** Counts a replayed batch; returns the heap walk when a sample point was reached, else null. */
    advance(ops: number, sampleEvery: number): ChunkRow[] | null {
      op += ops;
      if (op % sampleEvery !== 0 && op !== total) return null;
      const chunks = lab.chunks();
      if (op % every === 0 || op === total) snapshots.push({ op, chunks, model: lab.model, pageSize });
      return chunks;
    },
    /** Makes sure the last snapshot is the end of the replay. */
    finish(): void {
      if (snapshots.length === 0 || snapshots[snapshots.length - 1].op !== op) {
        snapshots.push({ op, chunks: lab.chunks(), model: lab.model, pageSize });
      }
    },
  };
}

/** The timeline from the model's replay metrics (a row every sample and at every new peak). */
async function recordWithMetrics(lab: Lab, source: TraceSource, total: number, options: RecordOptions):
  Promise<Recording> {
  const { sampleEvery, snapshotEvery } = steps(total, options);
  const taker = snapshotter(lab, total, snapshotEvery);
  const report = await reportReplay(lab, cutEvery(source, snapshotEvery), {
    timeline: true,
    every: sampleEvery,
    observe: (batch) => void taker.advance(batch.length, snapshotEvery),
  });
  taker.finish();
  const timeline = report.timeline ?? [];
  return {
    model: lab.model, ops: taker.op, timeline, snapshots: taker.snapshots, timelineSource: "metrics", report,
    sites: source.header.sites,
  };
}

/** The timeline from heap walks at every sample point, decomposed by chunk state. */
async function recordWithWalks(lab: Lab, source: TraceSource, total: number, options: RecordOptions):
  Promise<Recording> {
  const { sampleEvery, snapshotEvery } = steps(total, options);
  const taker = snapshotter(lab, total, snapshotEvery);
  const timeline: TimelineRow[] = [timelineRowOf(0, lab.chunks())];
  await lab.replay(cutEvery(source, sampleEvery), {
    observe: (batch) => {
      const chunks = taker.advance(batch.length, sampleEvery);
      if (chunks) timeline.push(timelineRowOf(taker.op, chunks));
    },
  });
  taker.finish();
  if (timeline[timeline.length - 1].op !== taker.op) timeline.push(timelineRowOf(taker.op, lab.chunks()));
  return {
    model: lab.model, ops: taker.op, timeline, snapshots: taker.snapshots, timelineSource: "walk",
    sites: source.header.sites,
  };
}
