// Plain data the lab hands out: chunk rows, statistics, replay summaries, and its typed errors.

import type { ModelName } from "../wasm/load.js";
import { ALL_STATES } from "../models/index.js";
import type { LossReport } from "../trace/types.js";

export type { ModelName };

/** Where a chunk sits, as its model's heap walk names it (`walkStates`; each descriptor lists its states). */
export type ChunkState = string;

/** Every state some model's walk names (each model's in its descriptor order). */
export const CHUNK_STATES: readonly ChunkState[] = [...ALL_STATES.keys()];

/** One record of the heap walk: a chunk, an object slot, a free span … as the model walks its heap. */
export interface ChunkRow {
  /** The user pointer. */
  address: number;
  /** The chunk header's address. */
  chunk: number;
  /** Chunk size in bytes (without flag bits). */
  size: number;
  /** Bytes the program asked for; 0 when free. */
  requested: number;
  state: ChunkState;
  /** The free list's index within its kind (a bin, a size class); -1 when none. */
  bin: number;
  /** "heap", "mmap", or "arena<k>" for non-main arena k. */
  region: string;
  /** Trace line (or sequence number for interactive calls) that allocated it; null when free or unknown. */
  line: number | null;
  /** The call site (an id of the trace's `header.sites`) that allocated it, when the trace records call sites. */
  site?: number;
}

/** Statistics by name: the allocator's own (its descriptor's `stats`), plus counters. */
export type Stats = Record<string, number>;

export interface LabOptions {
  model?: ModelName;
  /** `name=value:name=value` (each model's `tunables.syntax`) or a record of names to values. */
  tunables?: string | Record<string, number>;
  /** Further model options by name (heap_base, mmap_base, tunables …: the model's `optionNames`). */
  options?: Record<string, number>;
  /**
   * false: the lab keeps no replay metrics (live bytes, peaks, resident pages, the timeline), which only reports
   * read; replays that want addresses, stats or checks run faster. Default true.
   */
  metrics?: boolean;
  /**
   * The process the model lives in (ptmalloc): "default", or "debian12", a Debian 12 process under `setarch -R`
   * with main_arena, mp_, global_max_fast and the tcache key at glibc 2.36's addresses in simulated libc memory,
   * the stack, and a segmentation fault for a store of the allocator's to memory the process has not mapped.
   */
  layout?: string;
  /** "bigint": pointers the lab hands out are bigints, exact beyond 2^53. Default "number". */
  pointers?: "number" | "bigint";
  /** The tcache key (glibc draws it from getrandom); default drawn from `seed` when a layout or seed is given. */
  tcacheKey?: bigint;
  /** The lab's seed (a non-negative integer, default 0): what glibc would draw at random, drawn from it. */
  seed?: number;
}

export interface ReplaySummary {
  trace: string;
  model: ModelName;
  ops: number;
  /** Operations by letter (m, c, r, f, a, A, P, v, V, t). */
  byOp: Record<string, number>;
  threads: number;
  /** Thread exits replayed (`# thread-exit` lines; none with `threads: "merge"`). */
  threadExits: number;
  /** Frees, and reallocs to 0, of addresses the trace never allocated (recorded before the trace began): skipped. */
  unknownFrees: number;
  /** Reallocs to n > 0 of addresses the trace never allocated: skipped (see src/lab/replay.ts). */
  unknownReallocs: number;
  /** Reallocs the trace shows failing (NULL), replayed as reallocs. */
  failedReallocs: number;
  /** Double frees skipped with `lenient`. */
  doubleFreesSkipped: number;
  /** Allocations that returned an address the trace still held live (a free the recording missed). */
  pointerReuse: number;
  loss: LossReport;
  stats: Stats;
  seconds: number;
}

/**
 * Why a call stopped: the allocator aborted with its own message, the invariant checker found a broken heap, the
 * model's wasm instance cannot grow to back the simulated memory, or the real process would have faulted.
 */
export type HeapErrorKind = "abort" | "check" | "limit" | "segv";

/** A heap misuse detected by the model, carrying the real allocator's own message. */
export class HeapError extends Error {
  readonly allocatorMessage: string;
  readonly kind: HeapErrorKind;
  readonly file?: string;
  readonly line?: number;
  readonly seq?: number;
  constructor(
    allocatorMessage: string,
    where?: { file?: string; line?: number; seq?: number },
    kind: HeapErrorKind = "abort",
  ) {
    const at = where?.file ? `${where.file}:${where.line}: ` : "";
    super(`${at}${allocatorMessage}`);
    this.name = "HeapError";
    this.allocatorMessage = allocatorMessage;
    this.kind = kind;
    this.file = where?.file;
    this.line = where?.line;
    this.seq = where?.seq;
  }
}

/** A trace that contradicts itself: a double free, or (with `strict`) a free of an address never allocated. */
export class TraceError extends Error {
  readonly file: string;
  readonly line: number;
  readonly firstFreeLine?: number;
  constructor(file: string, line: number, reason: string, firstFreeLine?: number) {
    super(`${file}:${line}: ${reason}`);
    this.name = "TraceError";
    this.file = file;
    this.line = line;
    this.firstFreeLine = firstFreeLine;
  }
}
