// The timeline: the footprint decomposed into stacked areas over the operation count, the live bytes as a
// line on top, and both peaks (footprint and live) marked.
//
//   bytes ▲        ● peak footprint
//         │     ▄▄███▄▄        ← stacked parts (top, bins, overhead, …)
//         │  ▄▄████●███▄▄      ← live bytes line, ● peak live
//         └──────────────────▶ operations

import type { TimelineRow } from "./types.js";
import { bytes, el, num, svgRoot, textEl, translate } from "./svg.js";
import { PART_ORDER, partColor } from "./palette.js";
import { legend } from "./legend.js";

export interface TimelineOptions {
  /** Drawing width in pixels (default 960). */
  width?: number;
  /** Plot height in pixels (default 240). */
  height?: number;
  /** Top of the y axis in bytes (default: the footprint peak); share it to compare two timelines. */
  yMax?: number;
  /** Order of the parts, bottom first (default: by first appearance). */
  parts?: readonly string[];
  /** A caption above the plot. */
  title?: string;
}

/** The plot's scales: pixel positions of an operation count and a byte count. */
export interface TimelineScale {
  left: number;
  top: number;
  plotWidth: number;
  plotHeight: number;
  x(op: number): number;
  y(value: number): number;
}

/** A peak: the row index where a series is largest (ties as in `peakOf`) and its value. */
export interface Peak {
  index: number;
  op: number;
  value: number;
}

const LEFT = 72;
const TOP = 30;

/** The largest footprint or live byte count of the rows, at least 1. */
export function highest(rows: readonly TimelineRow[]): number {
  let top = 1;
  for (const row of rows) top = Math.max(top, row.footprint, row.live);
  return top;
}

/** The top of the byte axis: 10% above the highest value, so the peak markers stay inside the plot. */
export function axisTop(rows: readonly TimelineRow[]): number {
  return highest(rows) * 1.1;
}

/**
 * Whether `row` takes the peak from `best` by the rule of the replay metrics (assembly/common/metrics.ts), so that a
 * picture marks the operation the report names: a larger value, or an equal non-zero one with at least as large a
 * `tie` (live bytes for the footprint): a plateau's peak is at its end, not at its first operation.
 */
function takesPeak<T>(row: T, best: T, value: (row: T) => number, tie: (row: T) => number): boolean {
  const v = value(row);
  const b = value(best);
  return v > b || (v === b && v > 0 && tie(row) >= tie(best));
}

/** The row where `value` is largest; among equal ones the last with the largest `tie` (default: the last). */
export function peakOf(
  rows: readonly TimelineRow[], value: (row: TimelineRow) => number, tie: (row: TimelineRow) => number = () => 0,
): Peak {
  let best = -1;
  rows.forEach((row, i) => {
    if (best < 0 || takesPeak(row, rows[best], value, tie)) best = i;
  });
  return best < 0 ? { index: -1, op: 0, value: 0 } : { index: best, op: rows[best].op, value: value(rows[best]) };
}

/** The footprint's peak as the report places it: the most live bytes among its equals, the last of those. */
export const footprintPeak = (rows: readonly TimelineRow[]): Peak => peakOf(rows, (r) => r.footprint, (r) => r.live);

/** Live bytes' peak as the report places it: the end of the plateau. */
export const livePeak = (rows: readonly TimelineRow[]): Peak => peakOf(rows, (r) => r.live);

/** Part names, bottom first: the given order, then the others in PART_ORDER, then by first appearance. */
export function partNames(rows: readonly TimelineRow[], order: readonly string[] = []): string[] {
  const seen = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row.parts ?? {})) seen.add(key);
  const rank = (name: string) => (PART_ORDER.includes(name) ? PART_ORDER.indexOf(name) : PART_ORDER.length);
  const rest = [...seen].filter((n) => !order.includes(n));
  return [...order, ...rest.sort((a, b) => rank(a) - rank(b))];
}

/** Scales mapping the rows onto a plot of the options' size. */
export function timelineScale(rows: readonly TimelineRow[], options: TimelineOptions = {}): TimelineScale {
  const plotWidth = (options.width ?? 960) - LEFT - 16;
  const plotHeight = options.height ?? 240;
  const first = rows[0]?.op ?? 0;
  const last = rows[rows.length - 1]?.op ?? 1;
  const span = Math.max(last - first, 1);
  const top = options.yMax ?? axisTop(rows);
  return {
    left: LEFT, top: TOP, plotWidth, plotHeight,
    x: (op) => LEFT + ((op - first) / span) * plotWidth,
    y: (value) => TOP + plotHeight - (Math.min(value, top) / top) * plotHeight,
  };
}

/**
 * At most `limit` rows, keeping in each bucket the row with the largest footprint and the one with the most
 * live bytes, so that peaks survive thinning.
 */
export function thin(rows: readonly TimelineRow[], limit: number): TimelineRow[] {
  if (rows.length <= limit) return rows.slice();
  const buckets = Math.max(1, Math.floor(limit / 2));
  const kept = new Set<number>([0, rows.length - 1]);
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * rows.length) / buckets);
    const to = Math.floor(((b + 1) * rows.length) / buckets);
    let footprint = from;
    let live = from;
    for (let i = from; i < to; i++) {
      if (takesPeak(rows[i], rows[footprint], (r) => r.footprint, (r) => r.live)) footprint = i;
      if (takesPeak(rows[i], rows[live], (r) => r.live, () => 0)) live = i;
    }
    kept.add(footprint).add(live);
  }
  return [...kept].sort((a, b) => a - b).map((i) => rows[i]);
}

/** The 1, 2 or 5 times a power of ten nearest above `raw` (at least 1). */
export function roundStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  for (const m of [1, 2, 5]) if (power * m >= raw) return power * m;
  return power * 10;
}

/**
 * A byte axis step giving about `ticks` ticks, round in the unit its labels are written in: 1, 2 or 5 times a
 * power of ten of B, KiB, MiB or GiB (20 KiB, 500 KiB, 2 MiB), so that every label reads as a round number.
 */
export function byteStep(max: number, ticks: number): number {
  const raw = Math.max(max / ticks, 1);
  let unit = 1;
  while (raw / unit >= 1024 && unit < 2 ** 40) unit *= 1024;
  const step = roundStep(raw / unit);
  // 1000 KiB and more reads better as the next unit's 1.
  return step >= 1000 && unit < 2 ** 40 ? unit * 1024 : step * unit;
}

/** The operation counts where the x axis has ticks: multiples of a 1-2-5 step, about `ticks` of them. */
export function opTicks(first: number, last: number, ticks: number): number[] {
  const step = roundStep((last - first) / ticks);
  const out: number[] = [];
  for (let op = Math.ceil(first / step) * step; op <= last; op += step) out.push(op);
  return out;
}

/** Axes, grid lines and their labels. */
function drawAxes(rows: readonly TimelineRow[], scale: TimelineScale, yMax: number): string {
  const bottom = scale.top + scale.plotHeight;
  let out = "";
  const step = byteStep(yMax, 5);
  for (let v = 0; v <= yMax; v += step) {
    out += el("line", { x1: scale.left, x2: scale.left + scale.plotWidth, y1: scale.y(v), y2: scale.y(v),
      stroke: "#dee2e6", "stroke-width": 0.5 });
    out += textEl("text", { class: "tick", "data-axis": "y", "data-value": v, x: scale.left - 4, y: scale.y(v) + 4,
      "text-anchor": "end", fill: "#495057" }, bytes(v));
  }
  const first = rows[0]?.op ?? 0;
  const last = rows[rows.length - 1]?.op ?? 0;
  for (const op of opTicks(first, last, 5)) {
    const x = scale.x(op);
    const anchor = x > scale.left + scale.plotWidth - 20 ? "end" : "middle";
    out += textEl("text", { class: "tick", "data-axis": "x", "data-value": op, x, y: bottom + 14, "text-anchor": anchor,
      fill: "#495057" }, String(op));
  }
  out += el("path", { class: "axes", d: `M${scale.left} ${scale.top}V${num(bottom)}H${num(scale.left + scale.plotWidth)}`,
    stroke: "#343a40", fill: "none" });
  out += textEl("text", { x: scale.left + scale.plotWidth, y: bottom + 28, "text-anchor": "end", fill: "#495057" },
    "operations");
  return out;
}

/** One stacked area per part, bottom first. */
function drawAreas(rows: readonly TimelineRow[], names: readonly string[], scale: TimelineScale): string {
  const below = rows.map(() => 0);
  let out = "";
  names.forEach((name, i) => {
    const lower = below.slice();
    rows.forEach((row, j) => (below[j] += row.parts?.[name] ?? 0));
    const upperPath = rows.map((row, j) => `${num(scale.x(row.op))},${num(scale.y(below[j]))}`);
    const lowerPath = rows.map((row, j) => `${num(scale.x(row.op))},${num(scale.y(lower[j]))}`).reverse();
    out += el("path", { class: "area", "data-part": name, d: `M${upperPath.join("L")}L${lowerPath.join("L")}Z`,
      fill: partColor(name, i), "fill-opacity": 0.75, stroke: "none" }, textEl("title", {}, name));
  });
  return out;
}

/** Pixels a label's character takes at the drawing's font size (an estimate that errs wide). */
const CHAR_WIDTH = 7;
/** Pixels between two label baselines that do not touch. */
const LABEL_HEIGHT = 14;

/** Where a peak's label goes: its box, anchored on the side of the dot with room. */
export interface PeakLabel {
  kind: string;
  text: string;
  x: number;
  y: number;
  anchor: "start" | "end";
  /** The label's horizontal extent, in pixels. */
  from: number;
  to: number;
}

/** The label of a peak, above (`dy` < 0) or below its dot. */
function peakLabel(kind: string, peak: Peak, scale: TimelineScale, dy: number): PeakLabel {
  const x = scale.x(peak.op);
  const text = `peak ${kind} ${bytes(peak.value)} @ op ${peak.op}`;
  const anchor = x > scale.left + scale.plotWidth * 0.7 ? "end" : "start";
  const width = text.length * CHAR_WIDTH;
  const at = anchor === "end" ? x - 6 : x + 6;
  return { kind, text, x: at, y: scale.y(peak.value) + dy, anchor, from: anchor === "end" ? at - width : at,
    to: anchor === "end" ? at : at + width };
}

/**
 * The labels of the footprint's and live bytes' peaks, inside the plot and apart: the live label goes below its
 * dot unless that is under the plot (little live memory: it would sit on the axis labels), then above it; when it
 * would then cover the footprint's label (both peaks near one place), it moves a line away from it.
 */
export function peakLabels(footprint: Peak, live: Peak, scale: TimelineScale): PeakLabel[] {
  const bottom = scale.top + scale.plotHeight - 3;
  const top = peakLabel("footprint", footprint, scale, -6);
  const below = peakLabel("live", live, scale, 14);
  if (below.y > bottom) below.y = scale.y(live.value) - 6;
  const overlapX = top.from < below.to && below.from < top.to;
  if (overlapX && Math.abs(below.y - top.y) < LABEL_HEIGHT) {
    below.y = top.y + LABEL_HEIGHT <= bottom ? top.y + LABEL_HEIGHT : top.y - LABEL_HEIGHT;
  }
  return [top, below];
}

/** A peak marker: a dot with its label. */
function drawPeak(peak: Peak, label: PeakLabel, scale: TimelineScale, color: string): string {
  return el("g", { class: "peak", "data-peak": label.kind, "data-op": peak.op, "data-value": peak.value },
    el("circle", { cx: scale.x(peak.op), cy: scale.y(peak.value), r: 4, fill: color, stroke: "#fff", "stroke-width": 1 },
      textEl("title", {}, label.text)),
    textEl("text", { x: label.x, y: label.y, "text-anchor": label.anchor, fill: color, "font-weight": "bold" },
      label.text));
}

/** The timeline as a standalone SVG document. */
export function timelineSVG(rows: readonly TimelineRow[], options: TimelineOptions = {}): string {
  const width = options.width ?? 960;
  const scale = timelineScale(rows, options);
  const yMax = options.yMax ?? axisTop(rows);
  const drawn = thin(rows, Math.max(2, Math.floor(scale.plotWidth)));
  // A part that is zero all along takes no room in the plot, and none in the legend either.
  const names = partNames(rows, options.parts).filter((name) => rows.some((r) => (r.parts?.[name] ?? 0) !== 0));
  const hasParts = names.length > 0;
  const stacked = hasParts ? drawn : drawn.map((r) => ({ ...r, parts: { footprint: r.footprint } }));
  const shownNames = hasParts ? names : ["footprint"];
  let body = textEl("text", { class: "caption", x: 8, y: 18, "font-size": 13, "font-weight": "bold" },
    options.title ?? "footprint over time");
  body += drawAxes(rows, scale, yMax);
  body += el("g", { class: "areas" }, drawAreas(stacked, shownNames, scale));
  const footprintLine = drawn.map((r) => `${num(scale.x(r.op))},${num(scale.y(r.footprint))}`).join("L");
  const liveLine = drawn.map((r) => `${num(scale.x(r.op))},${num(scale.y(r.live))}`).join("L");
  if (drawn.length > 0) {
    body += el("path", { class: "footprint", d: `M${footprintLine}`, fill: "none", stroke: "#343a40",
      "stroke-width": 1 });
    body += el("path", { class: "live", d: `M${liveLine}`, fill: "none", stroke: "#c92a2a", "stroke-width": 1.5 });
    const peaks = [footprintPeak(rows), livePeak(rows)];
    const labels = peakLabels(peaks[0], peaks[1], scale);
    body += drawPeak(peaks[0], labels[0], scale, "#343a40");
    body += drawPeak(peaks[1], labels[1], scale, "#c92a2a");
  }
  body += el("line", { class: "cursor", x1: scale.left, x2: scale.left, y1: scale.top,
    y2: scale.top + scale.plotHeight, stroke: "#1971c2", "stroke-width": 1.5, visibility: "hidden" });
  const entries = shownNames.map((name, i) => ({ label: name, color: partColor(name, i) }));
  entries.push({ label: "live bytes", color: "#c92a2a" });
  const key = legend(entries, width - 16);
  const bottom = scale.top + scale.plotHeight + 36;
  body += translate(8, bottom, key.svg);
  return svgRoot(width, bottom + key.height + 8, body, "heaplab timeline");
}
