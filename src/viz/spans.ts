// The page-level picture of a model with spans: spans over pages, coloured by size class, with their occupancy.
//
//   0x5600000 │ class 5 ▆▆▆ │ class 12 ▆ │   free   │ released ┊ large ────── │
//               └ bar at the bottom: allocated / objects

import type { SpanRow } from "./types.js";
import { bytes, el, hex, num, svgRoot, textEl, translate } from "./svg.js";
import { sizeBand, sizeBandColor, sizeBandLabel, sizeClassColor } from "./palette.js";
import { legend } from "./legend.js";
import { type HeapMapOptions, LABEL_WIDTH, layoutHeap, piecesOf, rowBackgrounds, visibleChunks } from "./heapmap.js";

export interface SpansOptions extends Omit<HeapMapOptions, "detail" | "mark"> {
  /** Size of each class in bytes, indexed by class, for titles and the legend. */
  classSizes?: readonly number[];
}

/**
 * Fill of a span: its size class when in use (by the size band of its objects when `classSizes` gives them),
 * pale when free, white when returned to the system.
 */
export function spanColor(span: SpanRow, classSizes?: readonly number[]): string {
  if (span.state === "released") return "#ffffff";
  if (span.state === "free" || span.state === "pageheap") return "#e9ecef";
  return sizeClassColor(span.sizeClass, classSizes?.[span.sizeClass]);
}

/** The tooltip of a span. */
export function spanTitle(span: SpanRow, pageSize: number, classSizes?: readonly number[]): string {
  const lines = [`${span.state} span ${hex(span.start)}, ${span.pages} pages (${bytes(span.pages * pageSize)})`];
  if (span.sizeClass > 0) {
    const size = classSizes?.[span.sizeClass];
    lines.push(`size class ${span.sizeClass}${size ? ` (${size} B objects)` : ""}`);
    lines.push(`${span.allocated} of ${span.objects} objects allocated`);
  } else if (span.objects > 0) {
    lines.push("large allocation");
  }
  return lines.join("\n");
}

/** Spans as a standalone SVG document, laid out like the heap map (rows, page lines, collapsed gaps). */
export function spansSVG(spans: readonly SpanRow[], options: SpansOptions = {}): string {
  const width = options.width ?? 960;
  const pageSize = options.pageSize ?? 8192;
  const rowHeight = options.rowHeight ?? 18;
  const extents = visibleChunks(spans.map((span) => ({ chunk: span.start, size: span.pages * pageSize, span })),
    options.range);
  const layout = layoutHeap(extents, { ...options, pageSize });
  let map = rowBackgrounds(layout, rowHeight);
  for (const { span, chunk, size } of extents) {
    const pieces = piecesOf(layout, chunk, chunk + size);
    const used = span.objects > 0 ? span.allocated / span.objects : 0;
    pieces.forEach((p, i) => {
      const box = { x: LABEL_WIDTH + p.x, y: p.row.y, width: Math.max(p.width, 0.5), height: rowHeight };
      const first = i === 0;
      map += el("rect", { class: first ? "span" : "span-cont", "data-start": first ? hex(span.start) : undefined,
        "data-pages": first ? span.pages : undefined, "data-size-class": first ? span.sizeClass : undefined,
        "data-state": first ? span.state : undefined, ...box, fill: spanColor(span, options.classSizes), stroke: "#495057",
        "stroke-width": 0.5, "stroke-dasharray": span.state === "released" ? "2 2" : undefined },
      first ? textEl("title", {}, spanTitle(span, pageSize, options.classSizes)) : "");
    });
    for (const p of piecesOf(layout, chunk, chunk + size * used)) {
      map += el("rect", { class: "occupancy", "data-start": hex(span.start), x: LABEL_WIDTH + p.x,
        y: p.row.y + rowHeight - 4, width: p.width, height: 4, fill: "#212529", "fill-opacity": 0.55,
        "pointer-events": "none" });
    }
  }
  for (const gap of layout.gaps) {
    map += textEl("text", { class: "gap", x: LABEL_WIDTH + layout.plotWidth / 2, y: gap.y + 11,
      "text-anchor": "middle", fill: "#868e96" }, `⋯ ${bytes(gap.bytes)} not drawn ⋯`);
  }
  const classes = [...new Set(extents.map((e) => e.span.sizeClass).filter((c) => c > 0))].sort((a, b) => a - b);
  // With the classes' sizes the legend names the size bands drawn; without them, the classes.
  const sizes = options.classSizes;
  const bands = sizes ? [...new Set(classes.map((c) => sizeBand(sizes[c] ?? 0)))].sort((a, b) => a - b) : [];
  const entries = sizes
    ? bands.map((b) => ({ label: sizeBandLabel(b), color: sizeBandColor(b) }))
    : classes.slice(0, 24).map((c) => ({ label: `class ${c}`, color: sizeClassColor(c) }));
  entries.push({ label: "free", color: "#e9ecef" }, { label: "released", color: "#ffffff" });
  const key = legend(entries, width - 16);
  let body = textEl("text", { class: "caption", x: 8, y: 20, "font-size": 13, "font-weight": "bold" },
    options.title ?? "spans");
  body += textEl("text", { class: "scale", x: width - 8, y: 20, "text-anchor": "end", fill: "#495057" },
    `${extents.length} spans, ${bytes(layout.rowBytes)} per row, ${num(layout.rowBytes / layout.plotWidth)} B/px`);
  body += translate(8, 30, key.svg);
  const top = 36 + key.height;
  body += translate(0, top, el("g", { class: "map" }, map));
  return svgRoot(width, top + Math.max(layout.height, 24) + 6, body, "heaplab spans");
}
