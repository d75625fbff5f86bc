// Plain data the views draw. The lab produces chunk rows; the views accept any object of these shapes, so they
// can also draw rows read from a JSON report or made by hand.

import type { ChunkRow } from "../lab/types.js";

export type { ChunkRow, ChunkState } from "../lab/types.js";

/** One span of a model with spans (the `spans` capability). */
export interface SpanRow {
  start: number;
  pages: number;
  /** 0 for a large allocation or a free span. */
  sizeClass: number;
  /** "in-use", "free", "released", … */
  state: string;
  allocated: number;
  objects: number;
}

/** One sample of the footprint over time. `parts` decompose the footprint (names are the model's). */
export interface TimelineRow {
  op: number;
  live: number;
  footprint: number;
  parts: Record<string, number>;
}

/** A free list as a named list of chunks (bins view, thread caches, central lists). */
export interface FreeList {
  /** "tcache", "fastbin", "unsorted", "smallbin", "largebin", "threadcache", "central", "transfer". */
  kind: string;
  /** Index in its kind (bin number, size class). */
  index: number;
  /** Chunk or object size that this list holds (the lower bound for large bins). */
  size: number;
  /** Member addresses in list order. */
  members: number[];
  /** The thread that owns the list (thread caches), when known. */
  thread?: number;
}

/** What one snapshot of a heap holds, as the heap map and the scrubber need it. */
export interface HeapSnapshot {
  /** Operation count at which the snapshot was taken. */
  op: number;
  chunks: ChunkRow[];
  /** Model name, for titles. */
  model?: string;
  /** Page size in bytes (the model descriptor's `pageSize`). */
  pageSize?: number;
}
