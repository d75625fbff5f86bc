// The bins view: every non-empty free list as a row of boxes, one box per chunk, in list order.
//
//   tcache                                   ← section per kind, in the allocator's search order
//     tcache[3]   64 B  ×7   ■■■■■■■
//   unsorted
//     unsorted[0] ≥ 0 B ×2   ■■

import type { ChunkRow, FreeList } from "./types.js";
import { bytes, el, hex, svgRoot, textEl } from "./svg.js";
import { stateColor } from "./palette.js";
import { ALL_STATES, MODEL_NAMES, MODELS } from "../models/index.js";

export interface BinsOptions {
  /** Drawing width in pixels (default 960). */
  width?: number;
  /** Chunks by which boxes get their titles (size, requested size, trace line). */
  chunks?: readonly ChunkRow[];
  /** A caption above the lists. */
  title?: string;
}

/** Chunk states that mean "on a free list", in the order sections are drawn: each model's own search order. */
export const LIST_KINDS: readonly string[] = [...new Set(MODEL_NAMES.flatMap((m) =>
  Object.entries(MODELS[m].states).filter(([, info]) => info.freeList).map(([name]) => name)))];

const LABEL_WIDTH = 230;
const BOX = 12;
const BOX_GAP = 2;
const ROW_HEIGHT = 16;
const SECTION_HEIGHT = 18;

/**
 * Free lists read off a heap walk: chunks of each free state grouped by bin, in address order. Use it when
 * the model's own list order is not at hand.
 */
export function freeListsFromChunks(chunks: readonly ChunkRow[]): FreeList[] {
  const lists = new Map<string, FreeList>();
  const sorted = chunks.filter((c) => LIST_KINDS.includes(c.state) && c.bin >= 0)
    .sort((a, b) => a.address - b.address);
  for (const chunk of sorted) {
    const key = `${chunk.state}/${chunk.bin}`;
    let list = lists.get(key);
    if (!list) {
      list = { kind: chunk.state, index: chunk.bin, size: chunk.size, members: [] };
      lists.set(key, list);
    }
    list.size = Math.min(list.size, chunk.size);
    list.members.push(chunk.address);
  }
  return [...lists.values()].sort(compareLists);
}

/** Sections in LIST_KINDS order, then by thread and index. */
function compareLists(a: FreeList, b: FreeList): number {
  const rank = (k: string) => (LIST_KINDS.indexOf(k) + LIST_KINDS.length + 1) % (LIST_KINDS.length + 1);
  return rank(a.kind) - rank(b.kind) || (a.thread ?? 0) - (b.thread ?? 0) || a.index - b.index;
}

/** The row label of a list: kind, index, owner thread, size and length. */
export function listLabel(list: FreeList): string {
  const owner = list.thread !== undefined ? `t${list.thread} ` : "";
  const size = ALL_STATES.get(list.kind)?.ranged ? `≥${bytes(list.size)}` : bytes(list.size);
  return `${owner}${list.kind}[${list.index}] ${size} ×${list.members.length}`;
}

/** The box title of a member: its address and, when the chunk is known, its sizes and trace line. */
function memberTitle(address: number, position: number, chunk: ChunkRow | undefined): string {
  const where = `#${position} ${hex(address)}`;
  if (!chunk) return where;
  const line = chunk.line !== null && chunk.line > 0 ? `, last allocated at trace line ${chunk.line}` : "";
  return `${where}: size ${chunk.size} B${line}`;
}

/** The bins view as a standalone SVG document. */
export function binsSVG(lists: readonly FreeList[], options: BinsOptions = {}): string {
  const width = options.width ?? 960;
  const byAddress = new Map((options.chunks ?? []).map((c) => [c.address, c] as const));
  const perRow = Math.max(1, Math.floor((width - LABEL_WIDTH - 60) / (BOX + BOX_GAP)));
  const shown = lists.filter((l) => l.members.length > 0).slice().sort(compareLists);
  let y = 8;
  let body = textEl("text", { class: "caption", x: 8, y: y + 12, "font-size": 13, "font-weight": "bold" },
    options.title ?? "free lists");
  y += 22;
  let section = "";
  for (const list of shown) {
    if (list.kind !== section) {
      section = list.kind;
      body += textEl("text", { class: "section", x: 8, y: y + 13, "font-weight": "bold", fill: "#343a40" }, section);
      y += SECTION_HEIGHT;
    }
    let row = textEl("text", { x: 20, y: 10 }, listLabel(list));
    const fill = stateColor(list.kind);
    list.members.slice(0, perRow).forEach((address, i) => {
      row += el("rect", { class: "member", "data-address": hex(address), "data-kind": list.kind,
        x: LABEL_WIDTH + i * (BOX + BOX_GAP), y: 0, width: BOX, height: BOX, fill, stroke: "#212529",
        "stroke-width": 0.5 }, textEl("title", {}, memberTitle(address, i, byAddress.get(address))));
    });
    if (list.members.length > perRow) {
      row += textEl("text", { class: "more", x: LABEL_WIDTH + perRow * (BOX + BOX_GAP) + 4, y: 10, fill: "#495057" },
        `+${list.members.length - perRow}`);
    }
    body += el("g", { class: "list", "data-kind": list.kind, "data-index": list.index,
      transform: `translate(0,${y})` }, row);
    y += ROW_HEIGHT;
  }
  if (shown.length === 0) {
    body += textEl("text", { x: 20, y: y + 12, fill: "#868e96" }, "all free lists are empty");
    y += ROW_HEIGHT;
  }
  return svgRoot(width, y + 8, body, "heaplab bins");
}
