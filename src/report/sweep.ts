// Parameter sweeps: every combination of the varied tunables replayed through one model, in parallel on worker
// threads (one wasm instance each), ranked by a chosen metric of the report.

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { ModelName } from "../lab/types.js";
import { formatBytes, formatCount, formatPercent, table } from "./format.js";
import { shortTunable } from "../models/index.js";
import { metricAt, type Report, type ReportOptions, replayReport, valueAt } from "./report.js";

/** One varied tunable: `name=0,7,16`. */
export interface Variation {
  name: string;
  values: number[];
}

/** Parses `name=v1,v2,…`; an empty value is refused, not read as 0. */
export function parseVariation(text: string): Variation {
  const eq = text.indexOf("=");
  if (eq <= 0 || !text.slice(0, eq).trim()) throw new Error(`--vary ${text}: expected name=v1,v2,…`);
  const texts = text.slice(eq + 1).split(",").map((v) => v.trim());
  if (texts.some((v) => v === "")) throw new Error(`--vary ${text}: empty value; expected name=v1,v2,…`);
  const values = texts.map(Number);
  if (values.some((v) => !Number.isFinite(v))) throw new Error(`--vary ${text}: values must be numbers`);
  return { name: text.slice(0, eq).trim(), values };
}

/** Parses every `--vary`; a name given twice is refused (its values would silently multiply the grid). */
export function parseVariations(texts: readonly string[]): Variation[] {
  const variations = texts.map(parseVariation);
  const seen = new Set<string>();
  for (const v of variations) {
    if (seen.has(v.name)) throw new Error(`--vary ${v.name}: given twice; list its values once (name=v1,v2,…)`);
    seen.add(v.name);
  }
  return variations;
}

/** How many jobs the variations make: the product of their value counts. */
export function combinationCount(variations: readonly Variation[]): number {
  return variations.reduce((n, v) => n * v.values.length, 1);
}

/** The dotted paths of every number (or null, a fraction that can be undefined) under `value`. */
function numberPaths(value: unknown, prefix = ""): string[] {
  if (typeof value === "number" || value === null) return [prefix];
  if (typeof value !== "object") return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => numberPaths(v, prefix ? `${prefix}.${k}` : k));
}

/**
 * Refuses a rank path that names no number of `model`'s report, before any job runs: every result would rank
 * as NaN, in no order. Checked on the report of an empty trace, which has every field; the closest path is
 * suggested. `suggest` picks the closest of the known paths (the command line's typo rule).
 */
export async function checkRankPath(
  path: string, model: ModelName, suggest: (word: string, known: string[]) => string | undefined = () => undefined,
): Promise<void> {
  const empty = new TextEncoder().encode("# alloc-trace v1 pid=1 ppid=0 exe=empty\n");
  const report = await replayReport(empty, { model, every: 0 });
  const v = valueAt(report, path);
  if (typeof v !== "number" && v !== null) {
    const near = suggest(path, numberPaths(report).filter((p) => !p.startsWith("timeline")));
    const hint = near ? `did you mean ${near}?` : "e.g. footprint.peak, fragmentation.johnstoneWilson.3";
    throw new Error(`--rank ${path}: names no number of the report (${hint})`);
  }
}

/** A value of the metric at `path`, in its unit: bytes, a percentage, seconds, or a count. */
export function formatMetric(path: string, v: number): string {
  if (!Number.isFinite(v)) return "n/a";
  if (/(^|\.)(peakOp|peakSeq|peakLine)$/.test(path)) return formatCount(v);
  if (/^(live|footprint|resident|decomposition)\.|^syscalls\.bytes\./.test(path)) return formatBytes(v);
  if (/^fragmentation\./.test(path)) return formatPercent(v);
  if (path === "replay.seconds") return `${v.toFixed(3)} s`;
  return Number.isInteger(v) ? formatCount(v) : v.toPrecision(4);
}

/** The line above the ranked table: which trace, which model, and what the ranking is by, in which direction. */
export function sweepHeader(trace: string, model: ModelName, runs: number, rankPath: string, descending = false): string {
  const order = descending ? "largest first" : "smallest first";
  return `sweep ${trace} on ${model}: ${formatCount(runs)} combination${runs === 1 ? "" : "s"}, ranked by ${rankPath} (${order})`;
}

/** Every combination of the variations' values (the first variation varies slowest). */
export function combinations(variations: readonly Variation[]): Record<string, number>[] {
  let out: Record<string, number>[] = [{}];
  for (const v of variations) out = out.flatMap((combo) => v.values.map((value) => ({ ...combo, [v.name]: value })));
  return out;
}

/** Report options a sweep job passes on (plain data: no callbacks). */
export type JobReportOptions = Omit<ReportOptions, "model" | "tunables" | "options" | "timeline" | "observe">;

/** What one sweep job needs: plain data, sent to a worker as is. */
export interface SweepJob {
  trace: string;
  model: ModelName;
  options: Record<string, number>;
  report: JobReportOptions;
}

export interface SweepResult {
  options: Record<string, number>;
  report: Report;
}

export interface SweepOptions extends JobReportOptions {
  model: ModelName;
  /** Options every job shares (the varied ones override them). */
  base?: Record<string, number>;
  /** Worker threads (default: the available parallelism); 0 runs the jobs one by one in this thread. */
  workers?: number;
  /** Called as each job finishes, in completion order. */
  onResult?: (result: SweepResult) => void;
}

/** Runs one job in this thread. */
export function runSweepJob(job: SweepJob): Promise<Report> {
  return replayReport(job.trace, { ...job.report, model: job.model, options: job.options });
}

/** Replays every combination; results come back in the order of `combinations(variations)`. */
export async function sweep(trace: string, variations: readonly Variation[], options: SweepOptions): Promise<SweepResult[]> {
  const { model, base = {}, workers = availableParallelism(), onResult, ...report } = options;
  const jobs: SweepJob[] = combinations(variations).map((combo) => ({
    trace, model, options: { ...base, ...combo }, report,
  }));
  const results: SweepResult[] = new Array(jobs.length);
  const finish = (i: number, r: Report): void => {
    results[i] = { options: jobs[i].options, report: r };
    onResult?.(results[i]);
  };
  if (workers === 0) {
    for (let i = 0; i < jobs.length; i++) finish(i, await runSweepJob(jobs[i]));
    return results;
  }
  let next = 0;
  const lane = async (): Promise<void> => {
    const worker = new Worker(new URL("./sweep-worker.js", import.meta.url));
    try {
      while (next < jobs.length) {
        const i = next++;
        finish(i, await ask(worker, jobs[i]));
      }
    } finally {
      await worker.terminate();
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, jobs.length) }, lane));
  return results;
}

function ask(worker: Worker, job: SweepJob): Promise<Report> {
  return new Promise((resolve, reject) => {
    const done = (message: { report?: Report; error?: string }): void => {
      worker.off("error", reject);
      if (message.error !== undefined) reject(new Error(message.error));
      else resolve(message.report!);
    };
    worker.once("message", done);
    worker.once("error", reject);
    worker.postMessage(job);
  });
}

/** Sorts results by the metric at `path` (ascending; `descending` for utilization-like metrics). */
export function rank(results: readonly SweepResult[], path: string, descending = false): SweepResult[] {
  const key = (r: SweepResult): number => {
    const v = metricAt(r.report, path);
    return Number.isNaN(v) ? Infinity : descending ? -v : v;
  };
  return [...results].sort((a, b) => key(a) - key(b));
}

/** One compact JSON-lines record of a result. */
export function sweepRecord(result: SweepResult, rankPath: string): Record<string, unknown> {
  const r = result.report;
  return {
    options: result.options,
    [rankPath]: metricAt(r, rankPath),
    footprint: { peak: r.footprint.peak, final: r.footprint.final },
    live: { peak: r.live.peak, final: r.live.final },
    fragmentation: r.fragmentation,
    syscalls: { brk: r.syscalls.brk, mmap: r.syscalls.mmap, munmap: r.syscalls.munmap, mremap: r.syscalls.mremap,
      madvise: r.syscalls.madvise },
    seconds: r.replay.seconds,
  };
}

/** The ranked table: one row per combination, the varied options first. */
export function formatSweep(ranked: readonly SweepResult[], variations: readonly Variation[], rankPath: string): string {
  const names = variations.map((v) => shortTunable(v.name));
  const fixed = ["footprint.peak", "footprint.final"];
  const extra = fixed.includes(rankPath) ? [] : [rankPath];
  const header = ["#", ...names, ...extra, "footprint peak", "footprint final", "J&W #4", "brk", "mmap", "munmap"];
  const rows = ranked.map((res, i) => {
    const r = res.report;
    const ranked = extra.map((path) => formatMetric(path, metricAt(r, path)));
    return [String(i + 1), ...variations.map((x) => String(res.options[x.name])), ...ranked,
      formatBytes(r.footprint.peak), formatBytes(r.footprint.final), formatPercent(r.fragmentation.johnstoneWilson[3]),
      formatCount(r.syscalls.brk), formatCount(r.syscalls.mmap), formatCount(r.syscalls.munmap)];
  });
  return table([header, ...rows], ["right", ...names.map(() => "right" as const)]);
}
