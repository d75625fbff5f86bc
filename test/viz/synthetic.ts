// Synthetic heaps for the view tests: a main heap of consecutive chunks, a top chunk, and two mmapped chunks
// far above it.

import type { ChunkRow, SpanRow, TimelineRow } from "../../src/viz/index.js";

export const HEAP_BASE = 0x5555_5555_9000;
export const MMAP_BASE = 0x7fff_f7a0_0000;

const FREE_STATES = ["tcache", "fastbin", "unsorted", "smallbin", "largebin"] as const;

/** `count` chunks laid end to end from HEAP_BASE (every third one free), a top chunk, two mmapped chunks. */
export function syntheticHeap(count = 40): ChunkRow[] {
  const rows: ChunkRow[] = [];
  let at = HEAP_BASE + 0x290;
  for (let i = 0; i < count; i++) {
    const requested = 24 + ((i * 37) % 200);
    const size = Math.max(32, (requested + 8 + 15) & ~15);
    const free = i % 3 === 2;
    rows.push({
      address: at + 16, chunk: at, size, requested: free ? 0 : requested,
      state: free ? FREE_STATES[i % FREE_STATES.length] : "allocated",
      bin: free ? i % 7 : -1, region: "heap", line: free ? null : 100 + i,
    });
    at += size;
  }
  const topEnd = HEAP_BASE + 0x21000;
  rows.push({ address: at + 16, chunk: at, size: topEnd - at, requested: 0, state: "top", bin: -1, region: "heap",
    line: null });
  for (let i = 0; i < 2; i++) {
    const chunk = MMAP_BASE + i * 0x40000;
    rows.push({ address: chunk + 16, chunk, size: 0x21000, requested: 0x20000 + 5, state: "mmapped", bin: -1,
      region: "mmap", line: 500 + i });
  }
  return rows;
}

/** Spans of a few size classes, a free span and a released span, 8 KiB pages from 0x560000000. */
export function syntheticSpans(): SpanRow[] {
  const base = 0x5_6000_0000;
  const page = 8192;
  const spans: SpanRow[] = [];
  let at = base;
  const push = (pages: number, sizeClass: number, state: string, allocated: number, objects: number) => {
    spans.push({ start: at, pages, sizeClass, state, allocated, objects });
    at += pages * page;
  };
  push(1, 2, "in-use", 100, 512);
  push(1, 5, "in-use", 64, 128);
  push(2, 12, "in-use", 3, 40);
  push(1, 2, "in-use", 512, 512);
  push(4, 0, "free", 0, 0);
  push(8, 0, "released", 0, 0);
  push(3, 0, "in-use", 1, 1);
  return spans;
}

/** A rise, a peak of live bytes at op 400, a footprint peak at op 600 and a fall. */
export function syntheticTimeline(): TimelineRow[] {
  const rows: TimelineRow[] = [];
  for (let op = 0; op <= 1000; op += 10) {
    const live = op <= 400 ? op * 100 : Math.max(0, 40000 - (op - 400) * 60);
    const free = op <= 600 ? op * 20 : 12000 - (op - 600) * 5;
    const overhead = Math.round(live / 16);
    rows.push({ op, live, footprint: live + free + overhead, parts: { live, free, overhead } });
  }
  return rows;
}
