// The lists view of a lab (`lab.lists()`): each free list as glibc links it, one box per node in link order, so a
// poisoned list shows where it leaves the heap.
//
//   tcache[1] ×7   [0x…5559_3b0 0x30] → [0x7fff_ffff_dfc0 0x0] → [0x7ff…ffed ✗]  broken
//                   heap                  stack (foreign)          unmapped
//
// Heap nodes are drawn in the list's colour, foreign ones (outside the allocator's heaps: a fake chunk on the
// stack, in libc) in amber with a dashed outline, unmapped ones in red; a loop and a broken link are named at the
// row's end.

import type { LabList, LabListNode, LabLists } from "../lab/lists.js";
import type { Pointer } from "../lab/memory.js";
import { el, svgRoot, textEl } from "./svg.js";
import { stateColor } from "./palette.js";

export interface ListsOptions {
  /** Drawing width in pixels (default 960). */
  width?: number;
  /** A caption above the lists. */
  title?: string;
  /** Nodes drawn per list before "+n" (default: as many as fit). */
  maxNodes?: number;
}

const LABEL_WIDTH = 150;
const NODE_WIDTH = 128;
const ARROW = 18;
const ROW_HEIGHT = 34;
const SECTION_HEIGHT = 18;
const FOREIGN = "#f59f00";
const UNMAPPED = "#e03131";

/** The walk state whose colour a list kind takes (the heap map's colours). */
const STATE_OF: Record<string, string> = {
  tcache: "tcache", fastbin: "fastbin", unsorted: "unsorted", small: "smallbin", large: "largebin",
};

/** `0x…` of an address, in full. */
function hexAddress(value: Pointer): string {
  return `0x${value.toString(16)}`;
}

function nodeFill(list: LabList<Pointer>, node: LabListNode<Pointer>): string {
  if (node.where === "unmapped") return UNMAPPED;
  return node.foreign ? FOREIGN : stateColor(STATE_OF[list.kind] ?? list.kind);
}

function listLabel(list: LabList<Pointer>): string {
  const arena = list.arena > 0 ? ` arena${list.arena}` : "";
  const count = list.count !== undefined ? ` count ${list.count}` : "";
  return `${list.kind}[${list.index}]${arena}${count}`;
}

/** One node: its address, size and place, with a full title. */
function nodeBox(list: LabList<Pointer>, node: LabListNode<Pointer>, x: number, position: number): string {
  const address = hexAddress(node.chunk);
  const size = node.size === null ? "no header" : `0x${node.size.toString(16)}`;
  const title = `#${position} chunk ${address}, size ${size}, in ${node.where}`
    + (node.foreign ? " (outside the heap)" : "") + (node.misaligned ? ", misaligned" : "");
  return el("g", { class: "node", "data-chunk": address, "data-where": node.where, transform: `translate(${x},0)` },
    el("rect", { x: 0, y: 0, width: NODE_WIDTH, height: 26, rx: 3, fill: nodeFill(list, node), "fill-opacity": 0.85,
      stroke: "#212529", "stroke-width": node.foreign ? 1.2 : 0.6, "stroke-dasharray": node.foreign ? "4 2" : "none" }),
    textEl("text", { x: 4, y: 11, "font-size": 10, "font-family": "monospace" }, address),
    textEl("text", { x: 4, y: 22, "font-size": 9, fill: "#212529" }, `${size} · ${node.where}`),
    textEl("title", {}, title));
}

/** The lists view as a standalone SVG document. */
export function listsSVG(lists: LabLists<Pointer>, options: ListsOptions = {}): string {
  const width = options.width ?? 960;
  const fit = Math.max(1, Math.floor((width - LABEL_WIDTH - 80) / (NODE_WIDTH + ARROW)));
  const perRow = Math.min(fit, options.maxNodes ?? fit);
  let y = 8;
  let body = textEl("text", { class: "caption", x: 8, y: y + 12, "font-size": 13, "font-weight": "bold" },
    options.title ?? "free lists as glibc links them");
  y += 22;
  const sections: [string, LabList<Pointer>[]][] = [["tcache", lists.tcache], ["fastbins", lists.fastbins],
    ["unsorted", lists.unsorted], ["small bins", lists.small], ["large bins", lists.large]];
  let shown = 0;
  for (const [name, rows] of sections) {
    if (rows.length === 0) continue;
    body += textEl("text", { class: "section", x: 8, y: y + 13, "font-weight": "bold", fill: "#343a40" }, name);
    y += SECTION_HEIGHT;
    for (const list of rows) {
      let row = textEl("text", { x: 20, y: 17, "font-size": 11 }, listLabel(list));
      const nodes = list.nodes.slice(0, perRow);
      nodes.forEach((node, i) => {
        const x = LABEL_WIDTH + i * (NODE_WIDTH + ARROW);
        if (i > 0) row += textEl("text", { x: x - ARROW + 3, y: 17, fill: "#495057" }, "→");
        row += nodeBox(list, node, x, i);
      });
      const endX = LABEL_WIDTH + nodes.length * (NODE_WIDTH + ARROW) + 4;
      const more = list.nodes.length - nodes.length;
      const end = [more > 0 ? `+${more}` : "", list.loop ? "↺ loop" : "", list.broken ? "✗ broken link" : ""]
        .filter(Boolean).join(" ");
      if (end) row += textEl("text", { class: "end", x: endX, y: 17, fill: list.broken ? UNMAPPED : "#495057" }, end);
      body += el("g", { class: "list", "data-kind": list.kind, "data-index": list.index, "data-arena": list.arena,
        transform: `translate(0,${y})` }, row);
      y += ROW_HEIGHT;
      shown++;
    }
  }
  if (shown === 0) {
    body += textEl("text", { x: 20, y: y + 12, fill: "#868e96" }, "all free lists are empty");
    y += ROW_HEIGHT;
  }
  return svgRoot(width, y + 8, body, "heaplab lists");
}
