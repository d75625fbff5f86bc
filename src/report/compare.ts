// Allocators side by side: one replay per model (or per model with its own tunables), one table, the best value
// of each row marked and the spread between the models shown.

import type { ModelName } from "../lab/types.js";
import type { ByteSource } from "../trace/input.js";
import { parseTunables } from "../lab/model.js";
import { ALL_PARTS, isModelName, MODEL_NAMES, type PartGroup, shortTunable, tunableApplies } from "../models/index.js";
import { formatBytes, formatCount, formatNanoseconds, formatPercent, table } from "./format.js";
import { type Report, type ReportOptions, replayReport } from "./report.js";

/** One contestant: a model and the tunables/options it runs with. */
export interface Contestant {
  model: ModelName;
  options?: Record<string, number>;
}

/**
 * Parses `model` or `model:name=value:name=value` (the model's tunables); `shared` tunables apply to every model
 * they belong to: the model whose namespace they lie in, or every model when they lie in none (tunableApplies).
 */
export function parseContestant(spec: string, shared: Record<string, number> = {}): Contestant {
  const colon = spec.indexOf(":");
  const model = colon < 0 ? spec : spec.slice(0, colon);
  if (!isModelName(model)) throw new Error(`--model ${spec}: unknown model '${model}' (known: ${MODEL_NAMES.join(", ")})`);
  const own = colon < 0 ? {} : parseTunables(spec.slice(colon + 1));
  const options = Object.fromEntries(Object.entries(shared).filter(([name]) => tunableApplies(model, name)));
  return { model, options: { ...options, ...own } };
}

/** The column title of a contestant: its model, and its options when it has any. */
export function contestantName(c: Contestant): string {
  const options = Object.entries(c.options ?? {}).map(([k, v]) => `${shortTunable(k)}=${v}`);
  return options.length ? `${c.model} (${options.join(", ")})` : c.model;
}

/** Replays `trace` once per contestant (in turn: each replay uses one core). */
export async function compareReplays(trace: string | ByteSource, contestants: readonly Contestant[],
  options: Omit<ReportOptions, "model" | "tunables" | "options"> = {}): Promise<Report[]> {
  const reports: Report[] = [];
  for (const c of contestants) reports.push(await replayReport(trace, { ...options, model: c.model, options: c.options }));
  return reports;
}

/** The comparison rows the models' parts are summed into (each descriptor puts its parts in a group). */
const GROUPS: [PartGroup, string][] = [
  ["live", "live payload"],
  ["overhead", "headers + rounding"],
  ["cached", "cached free"],
  ["binned", "free in bins / lists"],
  ["slack", "top, slack, free pages"],
  ["metadata", "metadata"],
];

/** The parts of `group` among the compared reports', in report order. */
function groupParts(reports: readonly Report[], group: PartGroup): string[] {
  const names = new Set(reports.flatMap((r) => r.decomposition.parts));
  return [...names].filter((n) => ALL_PARTS.get(n)?.group === group);
}

interface Row {
  title: string;
  value: (r: Report) => number | null;
  format: (v: number) => string;
  /** Which way is better; rows without a direction are not marked. */
  better?: "lower" | "higher";
}

const sum = (parts: Record<string, number> | null, names: string[]): number | null =>
  parts && names.reduce((s, n) => s + (parts[n] ?? 0), 0);

/** Every row of the table; the part rows name the parts of the models compared. */
const comparisonRows = (reports: readonly Report[]): Row[] => [
  { title: "live peak", value: (r) => r.live.peak, format: formatBytes },
  { title: "footprint peak", value: (r) => r.footprint.peak, format: formatBytes, better: "lower" },
  { title: "footprint final", value: (r) => r.footprint.final, format: formatBytes, better: "lower" },
  { title: "resident peak (modelled)", value: (r) => r.resident.peak, format: formatBytes, better: "lower" },
  ...[0, 1, 2, 3].map((i): Row => ({
    title: `J&W #${i + 1}`, value: (r) => r.fragmentation.johnstoneWilson[i], format: formatPercent, better: "lower",
  })),
  { title: "peak utilization", value: (r) => r.fragmentation.peakUtilization, format: formatPercent, better: "higher" },
  ...GROUPS.map(([group, title]): Row => {
    const names = groupParts(reports, group);
    const detail = names.length > 1 || (names.length === 1 && names[0] !== group) ? ` (${names.join(", ")})` : "";
    return { title: `at peak: ${title}${detail}`, value: (r) => sum(r.decomposition.atPeakFootprint, names),
      format: formatBytes };
  }),
  ...(["brk", "mmap", "munmap", "mremap", "madvise"] as const).map((k): Row => ({
    title: `${k} calls`, value: (r) => r.syscalls[k], format: formatCount, better: "lower",
  })),
  { title: "lock acquisitions", value: (r) => Object.values(r.locks).reduce((s, n) => s + n, 0), format: formatCount,
    better: "lower" },
  { title: "estimated cost", value: (r) => r.operations.classes.reduce((s, c) => s + c.ns, 0),
    format: formatNanoseconds, better: "lower" },
];

/** The largest ratio a spread is written out to: beyond it, the smaller value is noise next to the larger. */
const SPREAD_CAP = 1000;

/**
 * How many times the largest of `values` is the smallest: `1.25×`, `12.5×`, `125×`; `> 1000×` beyond that, and
 * `∞` when the smallest is 0 and another is not. Empty when they all agree (or fewer than two are known).
 */
export function formatSpread(values: readonly number[]): string {
  if (values.length < 2) return "";
  const low = Math.min(...values.map(Math.abs));
  const high = Math.max(...values.map(Math.abs));
  if (high === low) return "";
  if (low === 0) return "∞";
  const ratio = high / low;
  if (ratio > SPREAD_CAP) return `> ${SPREAD_CAP}×`;
  return `${ratio.toFixed(ratio < 10 ? 2 : ratio < 100 ? 1 : 0)}×`;
}

/**
 * The side-by-side table of what the replays computed, deterministic from the trace alone. In each row with a
 * direction the best value is marked `◀` (and green with `color`); the last column gives the spread, the largest
 * value as a multiple of the smallest, when the values differ.
 */
export function formatComparison(reports: readonly Report[], names: readonly string[], color = false): string {
  const mark = (text: string): string => (color ? `\x1b[1;32m${text} ◀\x1b[0m` : `${text} ◀`);
  const header = ["", ...names, "spread"];
  const rows = comparisonRows(reports).map((row) => {
    const values = reports.map((r) => row.value(r));
    const known = values.filter((v): v is number => v !== null && Number.isFinite(v));
    const best = !row.better || !known.length ? null
      : row.better === "lower" ? Math.min(...known) : Math.max(...known);
    const differs = known.length > 1 && new Set(known).size > 1;
    const cells = values.map((v) => {
      if (v === null || !Number.isFinite(v)) return "n/a";
      return differs && v === best ? mark(row.format(v)) : `${row.format(v)}  `;
    });
    return [row.title, ...cells, formatSpread(known)];
  });
  return `trace ${reports[0]?.trace ?? ""}, ${formatCount(reports[0]?.ops ?? 0)} ops\n\n${table([header, ...rows])}\n\n`
    + `◀ best of the row · spread: the largest value as a multiple of the smallest (∞: the smallest is 0)`;
}

/**
 * The host's timings of the replays: how long each took on this machine, and its rate. They change from run to
 * run, so they are kept apart from the table above, whose rows the trace alone decides.
 */
export function formatTimings(reports: readonly Report[], names: readonly string[]): string {
  const rows = reports.map((r, i) => [names[i], formatNanoseconds(r.replay.seconds * 1e9),
    r.replay.seconds > 0 ? `${formatCount(r.ops / r.replay.seconds)} ops/s` : "n/a"]);
  return `host timings (this machine, this run; not deterministic)\n\n${table([["", "replay time", "rate"], ...rows])}`;
}
