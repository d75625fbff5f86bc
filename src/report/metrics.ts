// Reads the replay metrics a model computes in wasm (assembly/common/metrics.ts): scalars, the class table,
// the decomposition at both peaks and now, the event counters, and the timeline rows drained between batches.

import type { Model } from "../lab/model.js";
import type { TraceBatch } from "../trace/types.js";
import { type Histograms, readHistograms } from "./histograms.js";

/** Kinds of a timeline row (bits of the row's `kinds` field). */
export const ROW_SAMPLE = 1;
export const ROW_PEAK_LIVE = 2;
export const ROW_PEAK_FOOTPRINT = 4;

/** Operation classes of the cost table, in the order of the wasm class table. */
export const OP_CLASSES = ["small alloc", "large alloc", "free", "other"] as const;
export type OpClass = (typeof OP_CLASSES)[number];

/** One timeline row: the state after operation `op`. */
export interface TimelineRow {
  /** Operations completed (1-based index of the last one). */
  op: number;
  /** The trace's sequence number and line of that operation (0 when unknown). */
  seq: number;
  line: number;
  /** Why the row was taken: "sample", "peak-live", "peak-footprint" (several when they coincide). */
  kinds: string[];
  live: number;
  footprint: number;
  resident: number;
  /** The footprint decomposed; the parts add up to `footprint`. */
  parts: Record<string, number>;
}

export interface ClassCost {
  calls: number;
  /** Calls that made at least one system call. */
  callsInKernel: number;
  syscalls: number;
  locks: number;
}

/** Everything the wasm side accumulated, as plain numbers. */
export interface RawMetrics {
  ops: number;
  live: number;
  footprint: number;
  resident: number;
  maxLive: number;
  maxLiveOp: number;
  footprintAtMaxLive: number;
  maxFootprint: number;
  maxFootprintOp: number;
  liveAtMaxFootprint: number;
  maxResident: number;
  /** Σ footprint/live over the ops with live > 0, and how many there were (J&W #1). */
  ratioSum: number;
  ratioCount: number;
  classes: Record<OpClass, ClassCost>;
  partNames: string[];
  /** null when the peak was reached before the metrics were configured (nothing decomposed it). */
  partsAtPeakLive: Record<string, number> | null;
  partsAtPeakFootprint: Record<string, number> | null;
  partsFinal: Record<string, number>;
  counters: Record<string, { count: number; bytes: number }>;
  histograms: Histograms;
}

/** The names of a model's decomposition parts (none when it does not decompose its footprint). */
export function partNames(model: Pick<Model, "wasm">): string[] {
  const wasm = model.wasm as unknown as Record<string, unknown>;
  if (typeof wasm.decomposeParts !== "function") return [];
  const text = model.wasm.__getString((wasm.decomposeParts as () => number)());
  return text ? text.split(",").map((s) => s.trim()) : [];
}

const REQUIRED_EXPORTS = ["metricsConfigure", "metricNames", "metricsInto", "metricsDecompose", "counterNames",
  "countersInto", "timelineRows", "timelineInto", "timelineClear", "histogramsInto"];

const ROW_CHUNK = 4096;

/** The model was built without the replay metrics (its index.ts does not re-export them). */
export class MetricsUnavailable extends Error {
  constructor(model: string, missing: string[]) {
    super(`the ${model} model does not export the replay metrics (${missing.join(", ")}): `
      + "its index.ts must re-export them (see docs/report-schema.md)");
    this.name = "MetricsUnavailable";
  }
}

/** The metrics of one model instance. */
export class ModelMetrics {
  private readonly model: Pick<Model, "name" | "wasm">;
  private readonly exports: Record<string, (...args: number[]) => number>;
  private readonly scalarNames: string[];
  readonly partNames: string[];
  /** The event counters' names (assembly/common/counters.ts), in `countersInto` order. */
  readonly counterNames: string[];
  private readonly buffer: number;
  private readonly bufferSlots: number;
  private rowBuffer = 0;
  private opsBefore = 0;

  constructor(model: Pick<Model, "name" | "wasm"> & { metrics?: boolean }) {
    if (model.metrics === false) throw new Error("the lab was created with metrics: false: it keeps no replay metrics");
    this.model = model;
    const wasm = model.wasm as unknown as Record<string, unknown>;
    const missing = REQUIRED_EXPORTS.filter((name) => typeof wasm[name] !== "function");
    if (missing.length) throw new MetricsUnavailable(model.name, missing);
    this.exports = wasm as Record<string, (...args: number[]) => number>;
    this.scalarNames = this.strings("metricNames");
    this.counterNames = this.strings("counterNames");
    this.partNames = partNames(model);
    this.bufferSlots = 512;
    this.buffer = model.wasm.allocBuffer(this.bufferSlots * 8) >>> 0;
  }

  private strings(name: string): string[] {
    const text = this.model.wasm.__getString(this.exports[name]());
    return text ? text.split(",").map((s) => s.trim()) : [];
  }

  private view(count: number, at = this.buffer): Float64Array {
    return new Float64Array(this.model.wasm.memory.buffer, at, count);
  }

  /** A timeline row every `every` ops (0: peaks only); requests of `large` bytes or more are large. */
  configure(every: number, large: number): void {
    this.exports.metricsConfigure(every, large);
  }

  private get rowWidth(): number {
    return 5 + this.partNames.length;
  }

  /**
   * Takes the rows the last batch produced. `batch` holds the trace ops of that batch from index `from` on (for
   * line numbers); ops of earlier batches keep seq/line 0.
   */
  drain(batch: TraceBatch | null, opsInBatch: number, from = 0): TimelineRow[] {
    const rows: TimelineRow[] = [];
    this.eachRow((v, at) => { rows.push(this.row(v, at, batch, from)); });
    this.opsBefore += opsInBatch;
    return rows;
  }

  /**
   * Takes the rows the last batch produced, as `drain` does, but builds only the last row of each peak kind: all
   * a report needs when it keeps no timeline (a growing heap has a new peak at most ops).
   */
  drainPeaks(batch: TraceBatch | null, opsInBatch: number, from = 0): { live?: TimelineRow; footprint?: TimelineRow } {
    const out: { live?: TimelineRow; footprint?: TimelineRow } = {};
    let live = -1;
    let footprint = -1;
    this.eachRow((v, at, last) => {
      const k = v[at + 1];
      if (k & ROW_PEAK_LIVE) live = at;
      if (k & ROW_PEAK_FOOTPRINT) footprint = at;
      if (!last) return;
      if (live >= 0) out.live = this.row(v, live, batch, from);
      if (footprint >= 0) out.footprint = this.row(v, footprint, batch, from);
      live = footprint = -1;
    });
    this.opsBefore += opsInBatch;
    return out;
  }

  /** Calls `visit` with each waiting row (its offset in a view of a chunk of rows; `last` on a chunk's last row). */
  private eachRow(visit: (v: Float64Array, at: number, last: boolean) => void): void {
    const count = this.exports.timelineRows();
    const width = this.rowWidth;
    if (count > 0 && this.rowBuffer === 0) this.rowBuffer = this.model.wasm.allocBuffer(ROW_CHUNK * width * 8) >>> 0;
    for (let first = 0; first < count; first += ROW_CHUNK) {
      const n = Math.min(ROW_CHUNK, count - first);
      this.exports.timelineInto(this.rowBuffer, first, n);
      const v = this.view(n * width, this.rowBuffer);
      for (let r = 0; r < n; r++) visit(v, r * width, r === n - 1);
    }
    this.exports.timelineClear();
  }

  private row(v: Float64Array, at: number, batch: TraceBatch | null, from: number): TimelineRow {
    const op = v[at];
    const k = v[at + 1];
    const index = from + op - this.opsBefore - 1;
    const inBatch = batch !== null && index >= 0 && index < batch.length;
    const kinds: string[] = [];
    if (k & ROW_SAMPLE) kinds.push("sample");
    if (k & ROW_PEAK_LIVE) kinds.push("peak-live");
    if (k & ROW_PEAK_FOOTPRINT) kinds.push("peak-footprint");
    const parts: Record<string, number> = {};
    if (!Number.isNaN(v[at + 5])) this.partNames.forEach((name, p) => { parts[name] = v[at + 5 + p]; });
    return {
      op,
      seq: inBatch ? batch.seq[index] : 0,
      line: inBatch ? batch.line[index] : 0,
      kinds,
      live: v[at + 2],
      footprint: v[at + 3],
      resident: v[at + 4],
      parts,
    };
  }

  /** Parts by name; null when they are NaN (a peak reached before the metrics were configured). */
  private named(values: Float64Array, from: number): Record<string, number> | null {
    if (this.partNames.length && Number.isNaN(values[from])) return null;
    const out: Record<string, number> = {};
    this.partNames.forEach((name, p) => { out[name] = values[from + p]; });
    return out;
  }

  /** The decomposition of the footprint as it is now. */
  decomposeNow(): Record<string, number> {
    const n = this.exports.metricsDecompose(this.buffer);
    return this.named(this.view(n), 0)!;
  }

  /** Everything accumulated so far. */
  read(): RawMetrics {
    const n = this.exports.metricsInto(this.buffer);
    const v = this.view(n).slice();
    const s: Record<string, number> = {};
    this.scalarNames.forEach((name, i) => { s[name] = v[i]; });
    let at = this.scalarNames.length;
    const classes = {} as Record<OpClass, ClassCost>;
    for (const c of OP_CLASSES) {
      classes[c] = { calls: v[at], callsInKernel: v[at + 1], syscalls: v[at + 2], locks: v[at + 3] };
      at += 4;
    }
    const partsAtPeakLive = this.named(v, at);
    const partsAtPeakFootprint = this.named(v, at + this.partNames.length);
    const partsFinal = this.decomposeNow();
    const counterCount = this.exports.countersInto(this.buffer);
    const cv = this.view(counterCount * 2);
    const counters: RawMetrics["counters"] = {};
    this.counterNames.forEach((name, c) => { counters[name] = { count: cv[2 * c], bytes: cv[2 * c + 1] }; });
    const histograms = readHistograms(this.view(this.exports.histogramsInto(this.buffer)));
    return {
      ops: s.ops, live: s.live, footprint: s.footprint, resident: s.resident,
      maxLive: s.maxLive, maxLiveOp: s.maxLiveOp, footprintAtMaxLive: s.footprintAtMaxLive,
      maxFootprint: s.maxFootprint, maxFootprintOp: s.maxFootprintOp, liveAtMaxFootprint: s.liveAtMaxFootprint,
      maxResident: s.maxResident, ratioSum: s.ratioSum, ratioCount: s.ratioCount,
      classes, partNames: [...this.partNames], partsAtPeakLive, partsAtPeakFootprint, partsFinal, counters,
      histograms,
    };
  }
}
