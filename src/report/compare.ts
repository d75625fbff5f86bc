// Allocators side by side: one replay per model (or per model with its own tunables), one table, the best value
// of each row marked and the spread between the models shown.

import type { ModelName } from "../lab/types.js";
import { MODELS } from "../wasm/load.js";
import type { ByteSource } from "../trace/input.js";
import { parseTunables } from "../lab/model.js";
import { formatBytes, formatCount, formatNanoseconds, formatPercent, table } from "./format.js";
import { type Report, type ReportOptions, replayReport } from "./report.js";

/** One contestant: a model and the tunables/options it runs with. */
export interface Contestant {
  model: ModelName;
  options?: Record<string, number>;
}

/**
 * Parses `ptmalloc` or `ptmalloc:glibc.malloc.tcache_count=0:glibc.malloc.mxfast=0`; `shared` tunables apply to
 * every model they belong to (glibc.* → ptmalloc, TCMALLOC_* → tcmalloc, MIMALLOC_* → mimalloc, others → all).
 */
export function parseContestant(spec: string, shared: Record<string, number> = {}): Contestant {
  const colon = spec.indexOf(":");
  const model = (colon < 0 ? spec : spec.slice(0, colon)) as ModelName;
  if (!MODELS.includes(model)) throw new Error(`--model ${spec}: unknown model '${model}'`);
  const own = colon < 0 ? {} : parseTunables(spec.slice(colon + 1));
  const owner = (name: string): ModelName | null =>
    name.startsWith("glibc.") ? "ptmalloc" : name.startsWith("TCMALLOC_") ? "tcmalloc"
      : name.startsWith("MIMALLOC_") ? "mimalloc" : null;
  const belongs = (name: string): boolean => (owner(name) ?? model) === model;
  const options = Object.fromEntries(Object.entries(shared).filter(([name]) => belongs(name)));
  return { model, options: { ...options, ...own } };
}

/** The column title of a contestant: its model, and its options when it has any. */
export function contestantName(c: Contestant): string {
  const options = Object.entries(c.options ?? {}).map(([k, v]) => `${k.replace(/^glibc\.malloc\./, "")}=${v}`);
  return options.length ? `${c.model} (${options.join(", ")})` : c.model;
}

/** Replays `trace` once per contestant (in turn: each replay uses one core). */
export async function compareReplays(trace: string | ByteSource, contestants: readonly Contestant[],
  options: Omit<ReportOptions, "model" | "tunables" | "options"> = {}): Promise<Report[]> {
  const reports: Report[] = [];
  for (const c of contestants) reports.push(await replayReport(trace, { ...options, model: c.model, options: c.options }));
  return reports;
}

/** Sums of a report's decomposition parts, in categories both models share. */
const CATEGORIES: [string, string[]][] = [
  ["live payload", ["live"]],
  ["headers + rounding", ["headers", "rounding"]],
  ["cached free (tcache, fastbins / thread, transfer)", ["tcache", "fastbins", "threadCaches", "transferCache"]],
  ["free in bins / central lists", ["unsorted", "smallBins", "largeBins", "centralLists", "spanTails"]],
  ["top, mmap slack / page heap free", ["top", "mmapSlack", "pageHeapFree"]],
  ["metadata / other", ["metadata", "other"]],
];

interface Row {
  title: string;
  value: (r: Report) => number | null;
  format: (v: number) => string;
  /** Which way is better; rows without a direction are not marked. */
  better?: "lower" | "higher";
}

const sum = (parts: Record<string, number> | null, names: string[]): number | null =>
  parts && names.reduce((s, n) => s + (parts[n] ?? 0), 0);

const ROWS: Row[] = [
  { title: "live peak", value: (r) => r.live.peak, format: formatBytes },
  { title: "footprint peak", value: (r) => r.footprint.peak, format: formatBytes, better: "lower" },
  { title: "footprint final", value: (r) => r.footprint.final, format: formatBytes, better: "lower" },
  { title: "resident peak (modelled)", value: (r) => r.resident.peak, format: formatBytes, better: "lower" },
  ...[0, 1, 2, 3].map((i): Row => ({
    title: `J&W #${i + 1}`, value: (r) => r.fragmentation.johnstoneWilson[i], format: formatPercent, better: "lower",
  })),
  { title: "peak utilization", value: (r) => r.fragmentation.peakUtilization, format: formatPercent, better: "higher" },
  ...CATEGORIES.map(([title, names]): Row => ({
    title: `at peak: ${title}`, value: (r) => sum(r.decomposition.atPeakFootprint, names), format: formatBytes,
  })),
  ...(["brk", "mmap", "munmap", "mremap", "madvise"] as const).map((k): Row => ({
    title: `${k} calls`, value: (r) => r.syscalls[k], format: formatCount, better: "lower",
  })),
  { title: "lock acquisitions", value: (r) => r.locks.arena + r.locks.central + r.locks.pageheap, format: formatCount,
    better: "lower" },
  { title: "estimated cost", value: (r) => r.operations.classes.reduce((s, c) => s + c.ns, 0),
    format: formatNanoseconds, better: "lower" },
  { title: "replay time", value: (r) => r.replay.seconds * 1e9, format: formatNanoseconds },
];

/**
 * The side-by-side table. In each row with a direction the best value is marked `◀` (and green with `color`);
 * the last column gives the spread (largest / smallest − 1) when the values differ.
 */
export function formatComparison(reports: readonly Report[], names: readonly string[], color = false): string {
  const mark = (text: string): string => (color ? `\x1b[1;32m${text} ◀\x1b[0m` : `${text} ◀`);
  const header = ["", ...names, "spread"];
  const rows = ROWS.map((row) => {
    const values = reports.map((r) => row.value(r));
    const known = values.filter((v): v is number => v !== null && Number.isFinite(v));
    const best = !row.better || !known.length ? null
      : row.better === "lower" ? Math.min(...known) : Math.max(...known);
    const differs = known.length > 1 && new Set(known).size > 1;
    const cells = values.map((v) => {
      if (v === null || !Number.isFinite(v)) return "n/a";
      return differs && v === best ? mark(row.format(v)) : `${row.format(v)}  `;
    });
    const low = Math.min(...known);
    const spread = differs && low > 0 ? `${((Math.max(...known) / low - 1) * 100).toFixed(1)} %` : "";
    return [row.title, ...cells, spread];
  });
  return `trace ${reports[0]?.trace ?? ""}, ${formatCount(reports[0]?.ops ?? 0)} ops\n\n${table([header, ...rows])}\n\n`
    + "◀ best of the row · spread: largest / smallest − 1";
}
