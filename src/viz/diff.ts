// Diffs: two drawings side by side; two heap snapshots on one scale with the chunks that changed outlined.

import type { ChunkRow, TimelineRow } from "./types.js";
import { el, svgRoot, svgSize, textEl } from "./svg.js";
import { type HeapMapOptions, autoRowBytes, heapMapSVG, segmentsOf, visibleChunks } from "./heapmap.js";
import { type TimelineOptions, axisTop, timelineSVG } from "./timeline.js";

/** How a chunk differs between two snapshots. */
export type ChunkChange = "added" | "removed" | "changed";

/** Two standalone SVG documents side by side (left and right), each under its label. */
export function sideBySideSVG(left: string, right: string, labels: [string, string] = ["before", "after"]): string {
  const a = svgSize(left);
  const b = svgSize(right);
  const gap = 16;
  const head = 20;
  const nest = (svg: string, x: number) => svg.replace(/^<svg\b/, `<svg x="${x}" y="${head}"`);
  const body =
    textEl("text", { x: 8, y: 14, "font-weight": "bold" }, labels[0]) +
    textEl("text", { x: a.width + gap + 8, y: 14, "font-weight": "bold" }, labels[1]) +
    nest(left, 0) + nest(right, a.width + gap) +
    el("line", { x1: a.width + gap / 2, x2: a.width + gap / 2, y1: 0, y2: head + Math.max(a.height, b.height),
      stroke: "#ced4da" });
  return svgRoot(a.width + gap + b.width, head + Math.max(a.height, b.height), body, "heaplab diff");
}

/** What changed from `before` to `after`, by header address: chunks that appear, vanish or change size or state. */
export function chunkChanges(before: readonly ChunkRow[], after: readonly ChunkRow[]):
  { before: Map<number, ChunkChange>; after: Map<number, ChunkChange> } {
  const old = new Map(before.map((c) => [c.chunk, c] as const));
  const now = new Map(after.map((c) => [c.chunk, c] as const));
  const marksBefore = new Map<number, ChunkChange>();
  const marksAfter = new Map<number, ChunkChange>();
  for (const [address, chunk] of now) {
    const was = old.get(address);
    if (!was) marksAfter.set(address, "added");
    else if (was.size !== chunk.size || was.state !== chunk.state) {
      marksAfter.set(address, "changed");
      marksBefore.set(address, "changed");
    }
  }
  for (const address of old.keys()) if (!now.has(address)) marksBefore.set(address, "removed");
  return { before: marksBefore, after: marksAfter };
}

/**
 * Two heap snapshots side by side at the same bytes per row, chunks outlined by how they changed. Also fits two
 * models on one trace (the addresses then differ; the outlines mean "not at this address in the other").
 */
export function heapDiffSVG(before: readonly ChunkRow[], after: readonly ChunkRow[],
  options: HeapMapOptions & { labels?: [string, string] } = {}): string {
  const width = options.width ?? 640;
  const pageSize = options.pageSize ?? 4096;
  const collapseGap = options.collapseGap ?? 16 * pageSize;
  const widest = [before, after].map((chunks) =>
    autoRowBytes(segmentsOf(visibleChunks(chunks, options.range), pageSize, collapseGap), pageSize,
      options.maxRows ?? 48));
  const rowBytes = options.rowBytes ?? Math.max(...widest);
  const marks = chunkChanges(before, after);
  const labels = options.labels ?? ["before", "after"];
  const left = heapMapSVG(before, { ...options, width, rowBytes, title: labels[0],
    mark: (c) => marks.before.get(c.chunk) });
  const right = heapMapSVG(after, { ...options, width, rowBytes, title: labels[1],
    mark: (c) => marks.after.get(c.chunk) });
  return sideBySideSVG(left, right, labels);
}

/** Two timelines (two models on one trace, or two runs) side by side on one byte scale. */
export function timelineDiffSVG(left: readonly TimelineRow[], right: readonly TimelineRow[],
  options: TimelineOptions & { labels?: [string, string] } = {}): string {
  const yMax = options.yMax ?? Math.max(axisTop(left), axisTop(right));
  const width = options.width ?? 560;
  const labels = options.labels ?? ["left", "right"];
  return sideBySideSVG(
    timelineSVG(left, { ...options, width, yMax, title: options.title ?? labels[0] }),
    timelineSVG(right, { ...options, width, yMax, title: options.title ?? labels[1] }),
    labels);
}
