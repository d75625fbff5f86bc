// The heap map: the address range drawn as rows of bytes, one rectangle per chunk, coloured by state.
//
//   0x55d0c000 │▓▓▓░░▓▓▓▓▓▓░▓▓│▓▓▓▓▓▓▓▓▓▓▓▓▓▓│   ← one row = `rowBytes` of address space, page lines every 4 KiB
//   0x55d10000 │▓▓▓▓░░░░░░░░░░│░░░░░░░░░░░░░░│
//              ⋯ 112 KiB of a top chunk ⋯       ← the inside of a chunk wider than `collapseGap` is left out
//   0x55d2e000 │░░░░░░░░░░░░░░│░░░░░░░░      │
//              ⋯ 42.7 TiB not drawn ⋯           ← compact mode collapses gaps wider than `collapseGap`
//   0x7f3a0000 │▓▓▓▓▓▓▓▓▓▓▓▓▓▓│▓▓▓▓▓▓▓▓▓▓▓▓▓▓│
//
// At zoom (16 bytes ≥ 2 px) each chunk also shows its header (dark) and the bytes past the requested size
// (hatched).

import type { ChunkRow } from "./types.js";
import { bytes, el, hex, num, svgRoot, textEl, translate } from "./svg.js";
import { stateColor } from "./palette.js";
import { legend } from "./legend.js";

export interface HeapMapOptions {
  /** Drawing width in pixels (default 960). */
  width?: number;
  /** Page size for the boundary lines: the model descriptor's `pageSize` (default 4096). */
  pageSize?: number;
  /** "compact" wraps the range into rows and collapses big gaps (default); "linear" draws one row. */
  mode?: "compact" | "linear";
  /** Bytes per row in compact mode (default: the smallest power of two that fits the row budget). */
  rowBytes?: number;
  /** Row budget of the automatic `rowBytes`, beyond the first row of each segment (default 48). */
  maxRows?: number;
  /** Gaps wider than this are collapsed in compact mode (default 16 pages). */
  collapseGap?: number;
  /** Draw only chunks overlapping [from, to): the zoom. */
  range?: [number, number];
  /** Draw headers and rounding: true, false, or "auto" when 16 bytes take at least 2 pixels (default). */
  detail?: boolean | "auto";
  /** Row height in pixels (default 18). */
  rowHeight?: number;
  /** A caption above the map. */
  title?: string;
  /** Marks chunks (diffs): a mark is drawn as a coloured outline and a `data-mark` attribute. */
  mark?: (chunk: ChunkRow) => string | undefined;
  /** Names a chunk's call site (`chunk.site`) in its tooltip: the trace's sites (`siteName` of src/trace/sites.ts). */
  siteName?: (site: number) => string;
}

/** Anything with an address range: chunks, and spans mapped to their byte range. */
export interface Extent {
  chunk: number;
  size: number;
}

/** A stretch of address space drawn without a break: the union of chunks closer than `collapseGap`. */
export interface Segment {
  start: number;
  end: number;
}

/** One drawn row: `bytes` of address space from `base`, at vertical position `y`. */
export interface MapRow {
  base: number;
  bytes: number;
  y: number;
}

/** Where everything goes: rows, the gap markers between segments, and the scale. */
export interface HeapLayout {
  segments: Segment[];
  rows: MapRow[];
  gaps: { y: number; start: number; bytes: number }[];
  rowBytes: number;
  plotWidth: number;
  height: number;
}

/** Width of the address labels left of the map's rows (the span map shares it). */
export const LABEL_WIDTH = 104;
const HUGE_EDGE_PAGES = 2;
const GAP_HEIGHT = 16;
const ROW_GAP = 3;

/** Chunks sorted by header address, keeping only those that overlap the zoom range. */
export function visibleChunks<T extends Extent>(chunks: readonly T[], range?: [number, number]): T[] {
  const kept = range ? chunks.filter((c) => c.chunk < range[1] && c.chunk + c.size > range[0]) : chunks.slice();
  return kept.sort((a, b) => a.chunk - b.chunk);
}

/**
 * Splits sorted chunks into page-aligned segments, breaking wherever a gap exceeds `collapseGap`. The inside of
 * a chunk bigger than that (the top chunk, mmapped chunks) counts as a gap too: only its first and last
 * `HUGE_EDGE_PAGES` pages are drawn.
 */
export function segmentsOf(sorted: readonly Extent[], pageSize: number, collapseGap: number): Segment[] {
  const segments: Segment[] = [];
  const add = (from: number, to: number) => {
    const start = Math.floor(from / pageSize) * pageSize;
    const end = Math.ceil(to / pageSize) * pageSize;
    const last = segments[segments.length - 1];
    if (last && start - last.end <= collapseGap) last.end = Math.max(last.end, end);
    else segments.push({ start, end });
  };
  const edge = HUGE_EDGE_PAGES * pageSize;
  for (const chunk of sorted) {
    const end = chunk.chunk + chunk.size;
    if (chunk.size - 2 * edge > collapseGap) {
      add(chunk.chunk, chunk.chunk + edge);
      add(end - edge, end);
    } else {
      add(chunk.chunk, end);
    }
  }
  return segments;
}

/** Rows needed to draw `segments` at `rowBytes` per row. */
export function rowsNeeded(segments: readonly Segment[], rowBytes: number): number {
  return segments.reduce((n, s) => n + Math.max(1, Math.ceil((s.end - s.start) / rowBytes)), 0);
}

/**
 * The smallest power-of-two row size (at least a page) that draws the segments in `maxRows` rows beyond the
 * first row of each segment (every segment takes a row however wide the rows are).
 */
export function autoRowBytes(segments: readonly Segment[], pageSize: number, maxRows: number): number {
  const budget = maxRows + Math.max(0, segments.length - 1);
  let rowBytes = pageSize;
  while (rowsNeeded(segments, rowBytes) > budget && rowBytes < 2 ** 52) rowBytes *= 2;
  return rowBytes;
}

/**
 * One row size for several heaps (the frames of a scrubber): the largest any of them needs under `options`, so
 * that a byte is as wide in every drawing and frames can be compared by eye.
 */
export function sharedRowBytes(heaps: readonly (readonly ChunkRow[])[], options: HeapMapOptions = {}): number {
  if (options.rowBytes !== undefined || options.mode === "linear") return options.rowBytes ?? 0;
  return Math.max(options.pageSize ?? 4096, ...heaps.map((chunks) => layoutHeap(visibleChunks(chunks, options.range), options).rowBytes));
}

/** Places rows and gap markers for the chunks under the options. */
export function layoutHeap(sorted: readonly Extent[], options: HeapMapOptions = {}): HeapLayout {
  const width = options.width ?? 960;
  const pageSize = options.pageSize ?? 4096;
  const rowHeight = options.rowHeight ?? 18;
  const plotWidth = width - LABEL_WIDTH - 8;
  const linear = options.mode === "linear";
  let segments: Segment[];
  if (linear) {
    const all = segmentsOf(sorted, pageSize, Infinity);
    const start = options.range ? Math.max(options.range[0], all[0]?.start ?? 0) : all[0]?.start ?? 0;
    const end = options.range ? Math.min(options.range[1], all[0]?.end ?? 0) : all[0]?.end ?? 0;
    segments = all.length ? [{ start, end: Math.max(end, start + 1) }] : [];
  } else {
    segments = segmentsOf(sorted, pageSize, options.collapseGap ?? 16 * pageSize);
  }
  const rowBytes = linear
    ? segments[0] ? segments[0].end - segments[0].start : pageSize
    : options.rowBytes ?? autoRowBytes(segments, pageSize, options.maxRows ?? 48);
  const rows: MapRow[] = [];
  const gaps: { y: number; start: number; bytes: number }[] = [];
  let y = 0;
  segments.forEach((segment, i) => {
    if (i > 0) {
      gaps.push({ y, start: segments[i - 1].end, bytes: segment.start - segments[i - 1].end });
      y += GAP_HEIGHT;
    }
    for (let base = segment.start; base < segment.end; base += rowBytes) {
      rows.push({ base, bytes: Math.min(rowBytes, segment.end - base), y });
      y += rowHeight + ROW_GAP;
    }
  });
  return { segments, rows, gaps, rowBytes, plotWidth, height: y };
}

/** The x extents, per row, of the address range [from, to): one piece per row it crosses. */
export function piecesOf(layout: HeapLayout, from: number, to: number): { row: MapRow; x: number; width: number }[] {
  const pieces: { row: MapRow; x: number; width: number }[] = [];
  if (to <= from) return pieces;
  const scale = layout.plotWidth / layout.rowBytes;
  for (const row of rowsOverlapping(layout.rows, from, to)) {
    const a = Math.max(from, row.base);
    const b = Math.min(to, row.base + row.bytes);
    pieces.push({ row, x: (a - row.base) * scale, width: (b - a) * scale });
  }
  return pieces;
}

/** Rows (sorted by base) that overlap [from, to), found by binary search. */
function rowsOverlapping(rows: readonly MapRow[], from: number, to: number): MapRow[] {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid].base + rows[mid].bytes <= from) lo = mid + 1;
    else hi = mid;
  }
  const found: MapRow[] = [];
  for (let i = lo; i < rows.length && rows[i].base < to; i++) found.push(rows[i]);
  return found;
}

/** The tooltip of a chunk: where it is, its sizes, its state and the trace line and call site that allocated it. */
export function chunkTitle(chunk: ChunkRow, siteName?: (site: number) => string): string {
  const lines = [
    chunk.chunk === chunk.address ? `${chunk.state} ${hex(chunk.address)}`
      : `${chunk.state} chunk ${hex(chunk.chunk)} (user ${hex(chunk.address)})`,
    `size ${chunk.size} B, requested ${chunk.requested} B`,
  ];
  if (chunk.bin >= 0) lines.push(`bin ${chunk.bin}`);
  lines.push(`region ${chunk.region}`);
  if (chunk.line !== null && chunk.line > 0) lines.push(`allocated at trace line ${chunk.line}`);
  if (chunk.site) lines.push(`allocated by ${siteName ? siteName(chunk.site) : `call site ${chunk.site}`}`);
  return lines.join("\n");
}

/** The gap marker's text, naming the chunk whose inside it skips, if any. */
function gapLabel(gap: { start: number; bytes: number }, sorted: readonly ChunkRow[]): string {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid].chunk <= gap.start) lo = mid + 1;
    else hi = mid;
  }
  const inside = sorted[lo - 1];
  const within = inside && inside.chunk + inside.size >= gap.start + gap.bytes;
  return `⋯ ${bytes(gap.bytes)}${within ? ` of a ${inside.state} chunk` : ""} not drawn ⋯`;
}

/** Each row's address label and background (the heap map's and the span map's). */
export function rowBackgrounds(layout: HeapLayout, rowHeight: number): string {
  const scale = layout.plotWidth / layout.rowBytes;
  let out = "";
  for (const row of layout.rows) {
    out += textEl("text", { x: LABEL_WIDTH - 6, y: row.y + rowHeight - 5, "text-anchor": "end", fill: "#495057" },
      hex(row.base));
    out += el("rect", { class: "row", x: LABEL_WIDTH, y: row.y, width: row.bytes * scale, height: rowHeight,
      fill: "#f8f9fa", stroke: "#ced4da", "stroke-width": 0.5 });
  }
  return out;
}

/** Draws the rows' backgrounds, address labels and page boundary lines. */
function drawRows(layout: HeapLayout, sorted: readonly ChunkRow[], pageSize: number, rowHeight: number): string {
  const scale = layout.plotWidth / layout.rowBytes;
  const pagePixels = pageSize * scale;
  let out = rowBackgrounds(layout, rowHeight);
  if (pagePixels >= 4) {
    let d = "";
    for (const row of layout.rows) {
      const first = Math.ceil(row.base / pageSize) * pageSize;
      for (let page = first === row.base ? first + pageSize : first; page < row.base + row.bytes; page += pageSize) {
        const x = LABEL_WIDTH + (page - row.base) * scale;
        d += `M${num(x)} ${num(row.y - 1)}v${num(rowHeight + 2)}`;
      }
    }
    if (d) out += el("path", { class: "pages", d, stroke: "#343a40", "stroke-width": 0.6, "stroke-opacity": 0.5 });
  }
  for (const gap of layout.gaps) {
    out += textEl("text", { class: "gap", x: LABEL_WIDTH + layout.plotWidth / 2, y: gap.y + 11,
      "text-anchor": "middle", fill: "#868e96" }, gapLabel(gap, sorted));
  }
  return out;
}

/** Draws one chunk: its rectangle (continued on the next rows if it wraps), header and rounding. */
function drawChunk(
  layout: HeapLayout, chunk: ChunkRow, rowHeight: number, detail: boolean, mark?: string,
  siteName?: (site: number) => string,
): string {
  const pieces = piecesOf(layout, chunk.chunk, chunk.chunk + chunk.size);
  if (pieces.length === 0) return "";
  const fill = stateColor(chunk.state);
  let out = "";
  pieces.forEach((piece, i) => {
    const box = { x: LABEL_WIDTH + piece.x, y: piece.row.y, width: Math.max(piece.width, 0.5), height: rowHeight };
    if (i === 0) {
      out += el("rect", { class: "chunk", "data-address": hex(chunk.address),
        "data-chunk": chunk.chunk === chunk.address ? undefined : hex(chunk.chunk), "data-state": chunk.state,
        "data-mark": mark, ...box, fill, stroke: mark ? MARK_COLORS[mark] ?? "#000" : undefined,
        "stroke-width": mark ? 1.5 : undefined },
      textEl("title", {}, chunkTitle(chunk, siteName)));
    } else {
      out += el("rect", { class: "chunk-cont", "data-address": hex(chunk.address), ...box, fill, stroke: "none" });
    }
  });
  if (detail) out += drawDetail(layout, chunk, rowHeight);
  return out;
}

/** The header (dark band) and, for allocated chunks, the rounding slack (hatched) at zoom. */
function drawDetail(layout: HeapLayout, chunk: ChunkRow, rowHeight: number): string {
  let out = "";
  const headerEnd = Math.min(chunk.address, chunk.chunk + chunk.size);
  for (const p of piecesOf(layout, chunk.chunk, headerEnd)) {
    out += el("rect", { class: "header", x: LABEL_WIDTH + p.x, y: p.row.y, width: p.width, height: rowHeight,
      fill: "#000", "fill-opacity": 0.35, "pointer-events": "none" });
  }
  if (chunk.requested > 0) {
    const used = chunk.address + chunk.requested;
    for (const p of piecesOf(layout, used, chunk.chunk + chunk.size)) {
      out += el("rect", { class: "rounding", x: LABEL_WIDTH + p.x, y: p.row.y, width: p.width, height: rowHeight,
        fill: "url(#heaplab-rounding)", "pointer-events": "none" });
    }
  }
  return out;
}

/** Outline colours of diff marks. */
export const MARK_COLORS: Readonly<Record<string, string>> = { added: "#2b8a3e", removed: "#c92a2a", changed: "#e67700" };

const DEFS = el("defs", {},
  el("pattern", { id: "heaplab-rounding", width: 4, height: 4, patternUnits: "userSpaceOnUse",
    patternTransform: "rotate(45)" },
  el("rect", { width: 4, height: 4, fill: "#fff", "fill-opacity": 0.45 }),
  el("line", { x1: 0, y1: 0, x2: 0, y2: 4, stroke: "#212529", "stroke-width": 1.2 })));

/** The heap map of a set of chunks as a standalone SVG document. */
export function heapMapSVG(chunks: readonly ChunkRow[], options: HeapMapOptions = {}): string {
  const width = options.width ?? 960;
  const rowHeight = options.rowHeight ?? 18;
  const pageSize = options.pageSize ?? 4096;
  const sorted = visibleChunks(chunks, options.range);
  const layout = layoutHeap(sorted, options);
  const bytesPerPixel = layout.rowBytes / layout.plotWidth;
  const detail = options.detail === "auto" || options.detail === undefined ? bytesPerPixel <= 8 : options.detail;
  const states = [...new Set(sorted.map((c) => c.state))];
  const key = legend(states.map((s) => ({ label: s, color: stateColor(s) })), width - 16);
  const caption = options.title ?? "heap map";
  const scaleNote = `${sorted.length} chunks, ${bytes(layout.rowBytes)} per row, ${num(bytesPerPixel)} B/px`;
  let top = 8;
  let body = DEFS;
  body += textEl("text", { class: "caption", x: 8, y: top + 12, "font-size": 13, "font-weight": "bold" }, caption);
  body += textEl("text", { class: "scale", x: width - 8, y: top + 12, "text-anchor": "end", fill: "#495057" },
    scaleNote);
  top += 22;
  body += translate(8, top, key.svg);
  top += key.height + 6;
  let shapes = "";
  for (const chunk of sorted) shapes += drawChunk(layout, chunk, rowHeight, detail, options.mark?.(chunk), options.siteName);
  const map = drawRows(layout, sorted, pageSize, rowHeight) +
    el("g", { class: "chunks", stroke: "#212529", "stroke-width": detail ? 0.5 : 0.2 }, shapes);
  body += translate(0, top, el("g", { class: "map", "data-row-bytes": layout.rowBytes }, map));
  if (sorted.length === 0) {
    body += textEl("text", { x: width / 2, y: top + 14, "text-anchor": "middle", fill: "#868e96" }, "no chunks");
  }
  return svgRoot(width, top + Math.max(layout.height, 24) + 6, body, "heaplab heap-map");
}

