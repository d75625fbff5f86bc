// replayReport(): one replay through one model, reported — where the memory went, what it cost, and how the
// trace itself behaves. The JSON form of `Report` is versioned (docs/report-schema.md).

import { createLab, type Lab, modelOptions, type ReplayOptions } from "../lab/lab.js";
import type { LabOptions, ModelName, Stats } from "../lab/types.js";
import type { ByteSource } from "../trace/input.js";
import type { LossReport, TraceBatch, TraceSource } from "../trace/types.js";
import { type ClassRow, type CostModel, classTable, DEFAULT_COSTS, parseCosts } from "./cost.js";
import { explain, type Explained, johnstoneWilson, peakUtilization } from "./fragmentation.js";
import type { Histograms } from "./histograms.js";
import { ModelMetrics, type TimelineRow } from "./metrics.js";
import { type CallSiteTables, callSiteTable } from "./callsites.js";
import { SiteAccounts, type SiteSnapshot } from "../lab/site-accounts.js";
import { openTrace } from "../trace/detect.js";
import { MODELS } from "../models/index.js";

export const REPORT_SCHEMA = "heaplab.report/2";

export interface ReportOptions extends LabOptions, ReplayOptions {
  /** A timeline row every `every` ops, besides every new peak (default 1000; 0: peaks only). */
  every?: number;
  /** true: keep the rows in `report.timeline`; a function: hand them over batch by batch instead. */
  timeline?: boolean | ((rows: TimelineRow[]) => void | Promise<void>);
  /** The cost model (or `name=ns` overrides of the defaults). */
  costs?: Partial<CostModel> | string[];
  /** Call sites listed at each peak before the rest is folded (default 10; 0: no call-site tables). */
  callSites?: number;
}

/** Where a peak happened: the first operation reaching it. */
export interface Peak {
  peak: number;
  final: number;
  /** 1-based index of the operation, its trace sequence number and line. */
  peakOp: number;
  peakSeq: number;
  peakLine: number;
}

export interface Decomposition {
  /** Part names, in order; each decomposition below has one value per part, adding up to the footprint. */
  parts: string[];
  final: Record<string, number>;
  /** null only when nothing was replayed. */
  atPeakLive: Record<string, number> | null;
  atPeakFootprint: Record<string, number> | null;
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  trace: string;
  model: ModelName;
  /** Tunables and options the model ran with. */
  options: Record<string, number>;
  ops: number;
  byOp: Record<string, number>;
  threads: number;
  replay: {
    unknownFrees: number; unknownReallocs: number; failedReallocs: number; doubleFreesSkipped: number;
    pointerReuse: number; seconds: number;
    /** Thread exits the replay ran (a trace's `# thread-exit` lines of threads that made a call). */
    threadExits: number;
  };
  loss: LossReport;
  live: Peak;
  footprint: Peak;
  resident: { peak: number; final: number };
  fragmentation: {
    /** J&W #1–#4 as fractions (null when undefined: nothing live). */
    johnstoneWilson: (number | null)[];
    /** CS:APP peak utilization, max live / max footprint. */
    peakUtilization: number | null;
    /** The footprint at its peak and at the end as fractions: live, internal, external, metadata. */
    explained: { atPeakFootprint: Explained | null; final: Explained | null };
  };
  decomposition: Decomposition;
  syscalls: { brk: number; mmap: number; munmap: number; mremap: number; madvise: number;
    bytes: { brk: number; mmap: number; munmap: number; mremap: number; madvise: number } };
  /** Lock acquisitions by event counter, for the counters that are the model's locks (its descriptor's `locks`). */
  locks: Record<string, number>;
  operations: { costs: CostModel; classes: ClassRow[] };
  histograms: Histograms;
  /**
   * The allocator's own statistics at the end, named as the real allocator reports them (the model descriptor's
   * `stats`).
   */
  allocatorStats: Record<string, number>;
  /** Every statistic the model reports at the end. */
  stats: Stats;
  /** With `timeline: true`: every sampled and peak row. */
  timeline?: TimelineRow[];
  /** By call site at each peak, when the trace records call sites (src/report/callsites.ts). */
  callSites?: CallSiteTables;
}

function resolveCosts(costs: ReportOptions["costs"]): CostModel {
  if (Array.isArray(costs)) return parseCosts(costs);
  return { ...DEFAULT_COSTS, ...costs };
}

function pick(stats: Stats, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) if (n in stats) out[n] = stats[n];
  return out;
}

/** Replays `trace` through a fresh lab and reports on it. */
export async function replayReport(trace: TraceSource | ByteSource, options: ReportOptions = {}): Promise<Report> {
  return reportReplay(await createLab(options), trace, options);
}

/**
 * Replays `trace` through `lab` (fresh: the report counts from its first operation) and reports on it; `options`
 * name the lab's tunables and options for the report's header. The models decompose the footprint at every peak
 * and sample as they replay, at a cost that does not grow with the heap, so one replay is all a report takes.
 */
export async function reportReplay(lab: Lab, trace: TraceSource | ByteSource, options: ReportOptions = {}): Promise<Report> {
  const source = isTraceSource(trace) ? trace : await openTrace(trace, { lenient: options.lenient });
  const metrics = new ModelMetrics(lab.handle);
  const descriptor = MODELS[lab.model];
  metrics.configure(options.every ?? 1000, descriptor.largeRequest);
  const kept: TimelineRow[] = [];
  const sink = typeof options.timeline === "function" ? options.timeline : null;
  let liveRow: TimelineRow | undefined;
  let footprintRow: TimelineRow | undefined;
  const top = options.callSites ?? 10;
  const sites = top > 0 ? new SiteSnapshots(lab) : null;
  const summary = await lab.replay(source, {
    ...options,
    usableSizes: top > 0,
    observe: async (batch, from, to, results) => {
      let windowLive: TimelineRow | undefined;
      let windowFootprint: TimelineRow | undefined;
      if (options.timeline === true || sink) {
        const rows = metrics.drain(batch, to - from, from);
        for (const row of rows) {
          if (row.kinds.includes("peak-live")) windowLive = row;
          if (row.kinds.includes("peak-footprint")) windowFootprint = row;
        }
        if (options.timeline === true) for (const row of rows) kept.push(row);
        if (sink && rows.length) await sink(rows);
      } else {
        const peaks = metrics.drainPeaks(batch, to - from, from);
        windowLive = peaks.live;
        windowFootprint = peaks.footprint;
      }
      liveRow = windowLive ?? liveRow;
      footprintRow = windowFootprint ?? footprintRow;
      sites?.window(batch, from, to, results, windowLive?.op, windowFootprint?.op);
      if (options.observe) await options.observe(batch, from, to, results);
    },
  });
  const m = metrics.read();
  const atPeakLive = m.partsAtPeakLive;
  const atPeakFootprint = m.partsAtPeakFootprint;
  const counters = m.counters;
  const report: Report = {
    schema: REPORT_SCHEMA,
    trace: summary.trace,
    model: summary.model,
    options: modelOptions(options),
    ops: summary.ops,
    byOp: summary.byOp,
    threads: summary.threads,
    replay: {
      unknownFrees: summary.unknownFrees,
      unknownReallocs: summary.unknownReallocs,
      failedReallocs: summary.failedReallocs,
      doubleFreesSkipped: summary.doubleFreesSkipped,
      pointerReuse: summary.pointerReuse,
      seconds: summary.seconds,
      threadExits: summary.threadExits,
    },
    loss: summary.loss,
    live: {
      peak: m.maxLive, final: m.live, peakOp: m.maxLiveOp, peakSeq: liveRow?.seq ?? 0, peakLine: liveRow?.line ?? 0,
    },
    footprint: {
      peak: m.maxFootprint, final: m.footprint, peakOp: m.maxFootprintOp,
      peakSeq: footprintRow?.seq ?? 0, peakLine: footprintRow?.line ?? 0,
    },
    resident: { peak: m.maxResident, final: m.resident },
    fragmentation: {
      johnstoneWilson: johnstoneWilson(m),
      peakUtilization: peakUtilization(m),
      explained: { atPeakFootprint: atPeakFootprint && explain(atPeakFootprint), final: explain(m.partsFinal) },
    },
    decomposition: {
      parts: m.partNames, final: m.partsFinal, atPeakLive, atPeakFootprint,
    },
    syscalls: {
      brk: counters.brk.count, mmap: counters.mmap.count, munmap: counters.munmap.count,
      mremap: counters.mremap.count, madvise: counters.madvise.count,
      bytes: {
        brk: counters.brk.bytes, mmap: counters.mmap.bytes, munmap: counters.munmap.bytes,
        mremap: counters.mremap.bytes, madvise: counters.madvise.bytes,
      },
    },
    locks: Object.fromEntries(descriptor.locks.map((name) => [name, counters[name].count])),
    operations: { costs: resolveCosts(options.costs), classes: [] },
    histograms: m.histograms,
    allocatorStats: descriptor.stats.fields ? pick(summary.stats, descriptor.stats.fields) : { ...summary.stats },
    stats: summary.stats,
  };
  report.operations.classes = classTable(m, report.operations.costs);
  if (options.timeline === true) report.timeline = kept;
  if (sites?.accounts) {
    const empty: SiteSnapshot = { ids: [0], live: new Float64Array(1), usable: new Float64Array(1), objects: new Float64Array(1) };
    report.callSites = {
      top,
      sites: sites.accounts.sites,
      atPeakLive: callSiteTable(sites.atPeakLive ?? empty, source.header.sites, top, m.maxLive, m.footprintAtMaxLive),
      atPeakFootprint: callSiteTable(sites.atPeakFootprint ?? empty, source.header.sites, top, m.liveAtMaxFootprint,
        m.maxFootprint, true),
    };
  }
  return report;
}

function isTraceSource(x: unknown): x is TraceSource {
  return typeof x === "object" && x !== null && "batches" in x && typeof (x as TraceSource).batches === "function";
}

/**
 * The site accounts of a replay, taken at the exact op of each peak. They start with the first window whose ops
 * carry call sites: a trace without any costs nothing.
 */
class SiteSnapshots {
  accounts: SiteAccounts | null = null;
  atPeakLive: SiteSnapshot | null = null;
  atPeakFootprint: SiteSnapshot | null = null;
  /** Ops replayed before the current window. */
  private done = 0;

  constructor(private readonly lab: Lab) {}

  /**
   * Accounts for the window's ops [from, to) of `batch`, snapshotting after op `liveOp` and `footprintOp` (1-based,
   * counted over the whole replay) when the window holds a new peak.
   */
  window(batch: TraceBatch, from: number, to: number, results: Float64Array, liveOp?: number, footprintOp?: number): void {
    const n = to - from;
    if (batch.site) this.accounts ??= new SiteAccounts();
    const accounts = this.accounts;
    if (accounts) {
      const ops = this.lab.handle.opsView();
      const usable = this.lab.handle.usableSizesView();
      const cuts = [liveOp, footprintOp].filter((op): op is number => op !== undefined)
        .map((op) => op - this.done).sort((x, y) => x - y);
      let at = 0;
      for (const cut of cuts) {
        accounts.apply(batch, from, ops, results, usable, at, cut);
        at = cut;
        if (cut === liveOp! - this.done) this.atPeakLive = accounts.snapshot();
        if (cut === footprintOp! - this.done) this.atPeakFootprint = accounts.snapshot();
      }
      accounts.apply(batch, from, ops, results, usable, at, n);
    }
    this.done += n;
  }
}

/** Reads a dotted path (`footprint.peak`, `fragmentation.johnstoneWilson.3`) of a report; NaN when absent. */
export function metricAt(report: Report, path: string): number {
  const v = valueAt(report, path);
  return typeof v === "number" ? v : NaN;
}

/** What the dotted `path` names in the report: a number, an object, null, or undefined when it names nothing. */
export function valueAt(report: Report, path: string): unknown {
  let v: unknown = report;
  for (const key of path.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}
