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

/** A peak: the row index where a series is largest (the first such row) and its value. */
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

/** The first row where `value` is largest. */
export function peakOf(rows: readonly TimelineRow[], value: (row: TimelineRow) => number): Peak {
  let best = -1;
  rows.forEach((row, i) => {
    if (best < 0 || value(row) > value(rows[best])) best = i;
  });
  return best < 0 ? { index: -1, op: 0, value: 0 } : { index: best, op: rows[best].op, value: value(rows[best]) };
}

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
      if (rows[i].footprint > rows[footprint].footprint) footprint = i;
      if (rows[i].live > rows[live].live) live = i;
    }
    kept.add(footprint).add(live);
  }
  return [...kept].sort((a, b) => a - b).map((i) => rows[i]);
}

/** A "nice" axis step (1, 2 or 5 times a power of two's worth of bytes) giving about `ticks` ticks. */
function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const power = 2 ** Math.floor(Math.log2(Math.max(raw, 1)));
  for (const m of [1, 2, 4, 8]) if (power * m >= raw) return power * m;
  return power * 16;
}

/** Axes, grid lines and their labels. */
function drawAxes(rows: readonly TimelineRow[], scale: TimelineScale, yMax: number): string {
  const bottom = scale.top + scale.plotHeight;
  let out = "";
  const step = niceStep(yMax, 5);
  for (let v = 0; v <= yMax; v += step) {
    out += el("line", { x1: scale.left, x2: scale.left + scale.plotWidth, y1: scale.y(v), y2: scale.y(v),
      stroke: "#dee2e6", "stroke-width": 0.5 });
    out += textEl("text", { x: scale.left - 4, y: scale.y(v) + 4, "text-anchor": "end", fill: "#495057" }, bytes(v));
  }
  const first = rows[0]?.op ?? 0;
  const last = rows[rows.length - 1]?.op ?? 0;
  for (let i = 0; i <= 4; i++) {
    const op = Math.round(first + ((last - first) * i) / 4);
    out += textEl("text", { x: scale.x(op), y: bottom + 14, "text-anchor": i === 4 ? "end" : "middle",
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

/** A peak marker: a dot with its label. */
function drawPeak(kind: string, peak: Peak, scale: TimelineScale, color: string, dy: number): string {
  const x = scale.x(peak.op);
  const y = scale.y(peak.value);
  const label = `peak ${kind} ${bytes(peak.value)} @ op ${peak.op}`;
  const anchor = x > scale.left + scale.plotWidth * 0.7 ? "end" : "start";
  return el("g", { class: "peak", "data-peak": kind, "data-op": peak.op, "data-value": peak.value },
    el("circle", { cx: x, cy: y, r: 4, fill: color, stroke: "#fff", "stroke-width": 1 }, textEl("title", {}, label)),
    textEl("text", { x: anchor === "end" ? x - 6 : x + 6, y: y + dy, "text-anchor": anchor, fill: color,
      "font-weight": "bold" }, label));
}

/** The timeline as a standalone SVG document. */
export function timelineSVG(rows: readonly TimelineRow[], options: TimelineOptions = {}): string {
  const width = options.width ?? 960;
  const scale = timelineScale(rows, options);
  const yMax = options.yMax ?? axisTop(rows);
  const drawn = thin(rows, Math.max(2, Math.floor(scale.plotWidth)));
  const names = partNames(rows, options.parts);
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
    body += drawPeak("footprint", peakOf(rows, (r) => r.footprint), scale, "#343a40", -6);
    body += drawPeak("live", peakOf(rows, (r) => r.live), scale, "#c92a2a", 14);
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
