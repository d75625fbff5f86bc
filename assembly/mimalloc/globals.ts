// The library's static state (the globals of libmimalloc's .data/.bss: the aligned-hint cursor, the segment cache,
// the process-wide statistics) and the per-thread heaps, kept in simulated memory so that the journal can roll
// back a failed call. Both live above any address the library hands out, beside the object table.
//
//   STATICS_BASE
//   ┌──────────────────────────────────────────┐ + 0        scalar globals, 8 bytes each (G_* offsets)
//   ├──────────────────────────────────────────┤ + 0x1000   segment cache: CACHE_SLOTS × segment address (0 = empty)
//   ├──────────────────────────────────────────┤ + 0x3000   the model's list of live segments (for walks and checks;
//   │                                          │            mimalloc keeps a bitmap of them, _mi_segment_map)
//   ├──────────────────────────────────────────┤ + 0x3000 + 8 × MAX_SEGMENTS
//   │                                          │
//   ├──────────────────────────────────────────┤ + 0x100000 the arena's in-use bitmap (see arena.ts)
//   └──────────────────────────────────────────┘
//   HEAPS_BASE + HEAP_STRIDE × thread: each thread's heap and thread-local data (see heap.ts)

import { vmMap, ld64, st64 } from "../common/vmem";

export const STATICS_BASE: u64 = 0xfff2_0000_0000;
export const STATICS_SIZE: u64 = 0x3000;
export const SEGMENT_LIST: u64 = STATICS_BASE + 0x3000;
/** Live segments the model can list (each at least 32 MiB: 2 PiB of address space). */
export const MAX_SEGMENTS: u64 = 1 << 16;
export const HEAPS_BASE: u64 = 0xfff4_0000_0000;
export const HEAP_STRIDE: u64 = 0x1000;

/** Threads the model keeps a heap for. */
export const MAX_THREADS: i32 = 1024;

// scalar globals
export const G_ALIGNED_BASE: u64 = 0;       // aligned_base: the next hinted segment address (os.c)
export const G_MMAP_TOP: u64 = 8;           // the bottom of the top-down mmap area (unhinted mappings)
export const G_LIVE_REQUESTED: u64 = 16;    // bytes the program asked for, in live blocks
export const G_LIVE_BLOCKS: u64 = 24;       // bytes of the live blocks (an aligned pointer's offset included)
export const G_RESERVED: u64 = 32;          // stats: reserved (current, peak, total), mapped from the OS
export const G_RESERVED_PEAK: u64 = 40;
export const G_RESERVED_TOTAL: u64 = 48;
export const G_SEGMENTS: u64 = 56;          // stats: segments (current, peak, total)
export const G_SEGMENTS_PEAK: u64 = 64;
export const G_SEGMENTS_TOTAL: u64 = 72;
export const G_PAGES: u64 = 80;             // stats: pages (current, peak, total)
export const G_PAGES_PEAK: u64 = 88;
export const G_PAGES_TOTAL: u64 = 96;
export const G_MMAP_CALLS: u64 = 104;       // stats: mmap calls (mi_stats_print "mmaps")
export const G_MUNMAP_CALLS: u64 = 112;
export const G_SEGMENT_CACHE_HITS: u64 = 120;
export const G_THREADS: u64 = 128;          // threads whose heap is initialized
export const G_PAGES_EXTENDED: u64 = 136;   // stats: pages extended
export const G_PAGES_RETIRE_DELAYED: u64 = 144; // stats: page_no_retire
export const G_SEARCHES: u64 = 152;         // stats: searches (pages visited in mi_page_queue_find_free_ex)
export const G_HUGE_COUNT: u64 = 160;       // stats: huge and large allocations (count)
export const G_LARGE_COUNT: u64 = 168;
export const G_NORMAL_COUNT: u64 = 176;     // stats: blocks allocated from small and medium pages
export const G_SEGMENT_LIST_COUNT: u64 = 184;
export const G_ARENA_START: u64 = 192;       // the reserved arena (MIMALLOC_RESERVE_OS_MEMORY), 0 = none
export const G_ARENA_BLOCKS: u64 = 200;
export const G_TOTALS: u64 = 208;           // the decomposition's running totals (totals.ts), 4 words
export const G_ABANDONED: u64 = 240;        // the stack of abandoned segments (linked by abandoned_next)
export const G_ABANDONED_VISITED: u64 = 248; // abandoned segments visited and left (refill the stack when empty)

export const CACHE_BASE: u64 = STATICS_BASE + 0x1000;
/** MI_CACHE_MAX: 16 bitmap fields of 64 slots. */
export const CACHE_SLOTS: u64 = 1024;

// @ts-ignore: decorator
@inline export function gld(field: u64): u64 { return ld64(STATICS_BASE + field); }
// @ts-ignore: decorator
@inline export function gst(field: u64, v: u64): void { st64(STATICS_BASE + field, v); }

/** Adds `delta` to a counter. */
// @ts-ignore: decorator
@inline export function gadd(field: u64, delta: u64): void { st64(STATICS_BASE + field, ld64(STATICS_BASE + field) + delta); }

/** Adds `delta` to a current/peak pair (peak right after current). */
export function gaddPeak(field: u64, delta: i64): void {
  const now = <u64>(<i64>gld(field) + delta);
  gst(field, now);
  if (<i64>now > <i64>gld(field + 8)) gst(field + 8, now);
}

/** Maps the static area; the scalars start at zero, as in a fresh process. */
export function globalsInit(): void {
  vmMap(STATICS_BASE, STATICS_SIZE);
}
