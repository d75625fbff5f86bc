// The readable form of a report: aligned tables with units.

import type { Bucket } from "./histograms.js";
import { formatBytes, formatCount, formatNanoseconds, formatPercent, table } from "./format.js";
import type { Report } from "./report.js";
import { formatCallSites } from "./callsites.js";
import { MODELS } from "../models/index.js";

// Each measure is the memory used beyond the live bytes, as a fraction of them: the ratio less one, said so that
// 82 % does not read as a footprint smaller than live.
const JW_MEANINGS = [
  "mean over time of footprint / live − 1",
  "footprint / live − 1 at the peak of live",
  "footprint / live − 1 at the peak of footprint",
  "peak footprint / peak live − 1",
];

function where(op: number, line: number): string {
  return op === 0 ? "" : line ? `op ${formatCount(op)} (line ${line})` : `op ${formatCount(op)}`;
}

function header(r: Report): string[] {
  const ops = Object.entries(r.byOp).map(([k, v]) => `${k}:${v}`).join(" ");
  // Addresses (heap_base, mmap_base) read best in hex.
  const options = Object.entries(r.options).map(([k, v]) => `${k}=${k.endsWith("_base") ? `0x${v.toString(16)}` : v}`)
    .join(" ");
  const rate = Math.round(r.ops / Math.max(r.replay.seconds, 1e-9));
  const lines = [
    `trace      ${r.trace}`,
    `model      ${r.model}${options ? `  (${options})` : ""}`,
    `ops        ${formatCount(r.ops)} (${ops})  threads ${r.threads}${r.replay.threadExits ? ` (${r.replay.threadExits} exited)` : ""}`,
    `replayed   in ${r.replay.seconds.toFixed(3)} s (${formatCount(rate)} ops/s)`,
  ];
  if (r.replay.unknownFrees) lines.push(`skipped    ${r.replay.unknownFrees} frees of addresses allocated before the trace began`);
  if (r.replay.unknownReallocs) {
    lines.push(`skipped    ${r.replay.unknownReallocs} reallocs of addresses allocated before the trace began`);
  }
  if (r.replay.failedReallocs) lines.push(`replayed   ${r.replay.failedReallocs} reallocs the trace shows failing`);
  if (r.replay.doubleFreesSkipped) lines.push(`skipped    ${r.replay.doubleFreesSkipped} double frees (--lenient)`);
  if (r.replay.pointerReuse) lines.push(`resolved   ${r.replay.pointerReuse} allocations at a still-live address (missed frees)`);
  const loss = r.loss;
  if (loss.linesSkipped) lines.push(`import     ${loss.linesSkipped} malformed lines skipped (--lenient)`);
  if (loss.sizesInferred) lines.push(`import     ${loss.sizesInferred} sizes inferred`);
  if (loss.failedCalls) lines.push(`import     ${loss.failedCalls} failed calls`);
  for (const note of loss.notes) lines.push(`import     ${note}`);
  return lines;
}

/** One table of the report: an id, its rows (the header first) and each column's alignment. */
export interface ReportTable {
  id: string;
  rows: string[][];
  align?: ("left" | "right")[];
}

function memory(r: Report): ReportTable {
  return { id: "memory", rows: [
    ["", "peak", "final", "peak reached at"],
    ["live (requested)", formatBytes(r.live.peak), formatBytes(r.live.final), where(r.live.peakOp, r.live.peakLine)],
    ["footprint", formatBytes(r.footprint.peak), formatBytes(r.footprint.final),
      where(r.footprint.peakOp, r.footprint.peakLine)],
    ["resident (modelled)", formatBytes(r.resident.peak), formatBytes(r.resident.final), ""],
  ], align: ["left", "right", "right", "left"] };
}

function fragmentation(r: Report): ReportTable {
  const rows = r.fragmentation.johnstoneWilson.map((f, i) => [`J&W #${i + 1}`, formatPercent(f), JW_MEANINGS[i]]);
  rows.push(["peak utilization", formatPercent(r.fragmentation.peakUtilization), "CS:APP: peak live / peak footprint"]);
  const e = r.fragmentation.explained.atPeakFootprint;
  if (e) {
    rows.push(["internal", formatPercent(e.internal), "of the peak footprint: headers and rounding in allocated blocks"]);
    rows.push(["external", formatPercent(e.external), "of the peak footprint: free memory in caches, bins, top, spans"]);
    rows.push(["metadata", formatPercent(e.metadata), "of the peak footprint: the allocator's own structures"]);
  }
  return { id: "fragmentation", rows: [["measure", "value", "meaning"], ...rows], align: ["left", "right", "left"] };
}

function decomposition(r: Report): ReportTable | null {
  const d = r.decomposition;
  if (!d.parts.length) return null;
  const cell = (parts: Record<string, number> | null, name: string, total: number): string[] => {
    if (!parts) return ["n/a", ""];
    const v = parts[name] ?? 0;
    return [formatBytes(v), total > 0 ? formatPercent(v / total) : ""];
  };
  const totals = [d.atPeakLive, d.atPeakFootprint, d.final]
    .map((p) => (p ? Object.values(p).reduce((a, b) => a + b, 0) : NaN));
  const rows = d.parts.map((name) => [name,
    ...cell(d.atPeakLive, name, totals[0]), ...cell(d.atPeakFootprint, name, totals[1]), ...cell(d.final, name, totals[2])]);
  rows.push(["total", ...totals.flatMap((t) => [Number.isNaN(t) ? "n/a" : formatBytes(t), ""])]);
  return { id: "decomposition", rows: [["part", "at peak live", "", "at peak footprint", "", "final", ""], ...rows] };
}

function systemCalls(r: Report): ReportTable {
  const s = r.syscalls;
  const rows = (["brk", "mmap", "munmap", "mremap", "madvise"] as const)
    .map((k) => [k, formatCount(s[k]), formatBytes(s.bytes[k])]);
  for (const [name, count] of Object.entries(r.locks)) rows.push([name, formatCount(count), ""]);
  return { id: "syscalls", rows: [["event", "count", "bytes"], ...rows] };
}

/** The report's main tables, as the text shows them: memory, fragmentation, the decomposition, system calls. */
export function reportTables(r: Report): ReportTable[] {
  return [memory(r), fragmentation(r), decomposition(r), systemCalls(r)].filter((t): t is ReportTable => t !== null);
}

const text = (t: ReportTable | null): string => (t ? table(t.rows, t.align) : "(this model does not decompose its footprint yet)");

function classes(r: Report): string {
  const c = r.operations.costs;
  const rows = r.operations.classes.filter((k) => k.calls > 0).map((k) => [k.class, formatCount(k.calls),
    formatPercent(k.withoutKernel, 2), formatCount(k.syscalls), formatCount(k.locks), formatNanoseconds(k.ns),
    formatNanoseconds(k.ns / k.calls)]);
  return table([["operations", "calls", "no kernel", "syscalls", "locks", "est. cost", "per call"], ...rows]) +
    `\ncost model: call ${c.call} ns, syscall ${c.syscall} ns, lock ${c.lock} ns (override with --cost name=ns)`;
}

function histogram(title: string, buckets: Bucket[], unit: (n: number) => string): string {
  const most = Math.max(1, ...buckets.map((b) => b.count));
  const label = (b: Bucket): string => {
    const low = b.to <= 1 ? b.to : b.from + 1;
    return low === b.to ? unit(b.to) : `${unit(low)} – ${unit(b.to)}`;
  };
  const rows = buckets.map((b) => [label(b), formatCount(b.count),
    "█".repeat(Math.max(1, Math.round((b.count / most) * 30)))]);
  return table([[title, "count", ""], ...rows], ["left", "right", "left"]);
}

function statsTable(title: string, stats: Record<string, number>): string {
  const rows = Object.entries(stats).map(([k, v]) => [k, formatCount(v), v >= 1024 ? formatBytes(v) : ""]);
  return table([[title, "value", ""], ...rows]);
}

/** The whole report as text. */
export function formatReport(r: Report): string {
  const sections = [
    header(r).join("\n"),
    text(memory(r)),
    text(fragmentation(r)),
    text(decomposition(r)),
    ...(r.callSites ? [formatCallSites(r.callSites)] : []),
    text(systemCalls(r)),
    classes(r),
    histogram("request size", r.histograms.sizes, (n) => formatBytes(n)),
    histogram("lifetime (ops)", r.histograms.lifetimes, (n) => formatCount(n))
      + `\n${formatCount(r.histograms.liveAtEnd)} objects still live at the end`,
  ];
  sections.push(statsTable(MODELS[r.model].stats.title, r.allocatorStats));
  return sections.join("\n\n");
}
