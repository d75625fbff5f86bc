// The library's static state (the globals of libtcmalloc's .data/.bss), kept in simulated memory so that the
// journal can roll back a failed call. It lives above any user address, beside the object table.
//
//   STATICS_BASE
//   ┌──────────────────────────────────────────┐ + 0        scalar globals, 8 bytes each (G_* offsets)
//   ├──────────────────────────────────────────┤ + 0x1000   PageHeapAllocator states (4 × 32 bytes)
//   ├──────────────────────────────────────────┤ + 0x2000   page heap: free_[128] × (normal, returned) sentinels
//   │                                          │            and the two large sets (sentinel spans, 48 bytes)
//   ├──────────────────────────────────────────┤ + 0x10000  central free lists, CENTRAL_STRIDE per class
//   ├──────────────────────────────────────────┤ + 0x60000  thread index → ThreadCache address
//   └──────────────────────────────────────────┘ + 0x80000
//   PAGEMAP_ROOT: the 2^17 root pointers of the pagemap (1 MiB), then CLASS_CACHE: the size-class cache (512 KiB)

import { vmMap, ld64, st64 } from "../common/vmem";

export const STATICS_BASE: u64 = 0xfff2_0000_0000;
export const STATICS_SIZE: u64 = 0x80000;
export const PAGEMAP_ROOT: u64 = 0xfff3_0000_0000;
export const CLASS_CACHE: u64 = 0xfff3_0010_0000;

// scalar globals
export const G_BRK: u64 = 0;                 // current program break
export const G_HEAP_START: u64 = 8;          // the initial program break
export const G_META_NEXT: u64 = 16;          // metadata_chunk_alloc_
export const G_META_AVAIL: u64 = 24;         // metadata_chunk_avail_
export const G_META_BYTES: u64 = 32;         // metadata_system_bytes_
export const G_SYSTEM_TAKEN: u64 = 40;       // TCMalloc_SystemTaken
export const G_SYSTEM_BYTES: u64 = 48;       // page heap stats …
export const G_FREE_BYTES: u64 = 56;
export const G_UNMAPPED_BYTES: u64 = 64;
export const G_COMMITTED_BYTES: u64 = 72;
export const G_SCAVENGE_COUNT: u64 = 80;
export const G_COMMIT_COUNT: u64 = 88;
export const G_TOTAL_COMMIT_BYTES: u64 = 96;
export const G_DECOMMIT_COUNT: u64 = 104;
export const G_TOTAL_DECOMMIT_BYTES: u64 = 112;
export const G_RESERVE_COUNT: u64 = 120;
export const G_TOTAL_RESERVE_BYTES: u64 = 128;
export const G_SCAVENGE_COUNTER: u64 = 136;  // i64
export const G_RELEASE_INDEX: u64 = 144;
export const G_RACE_COUNTER: u64 = 152;      // EvictRandomSizeClass's round robin
export const G_UNCLAIMED: u64 = 160;         // i64 unclaimed_cache_space_
export const G_THREAD_HEAPS: u64 = 168;      // thread_heaps_
export const G_NEXT_STEAL: u64 = 176;        // next_memory_steal_
export const G_HEAP_COUNT: u64 = 184;        // thread_heap_count_
export const G_SETNODE_READY: u64 = 192;     // the large sets' node allocator has run Init
export const G_LIVE_REQUESTED: u64 = 200;    // the model's: bytes requested by the allocated objects of the trace
export const G_LIVE_USABLE: u64 = 208;       // the model's: their usable bytes
// the model's running totals of where free bytes sit, so a decomposition never loops over classes or caches
export const G_THREAD_BYTES: u64 = 216;      // Σ size_ of the thread caches
export const G_TRANSFER_BYTES: u64 = 224;    // Σ used slots × batch × object size of the transfer caches
export const G_CENTRAL_FREE_BYTES: u64 = 232; // Σ counter_ × object size of the central lists
export const G_SPAN_TAIL_BYTES: u64 = 240;   // Σ num_spans × unusable tail of the central lists

// PageHeapAllocator states
export const ALLOC_SPAN: u64 = STATICS_BASE + 0x1000;
export const ALLOC_STACKTRACE: u64 = STATICS_BASE + 0x1020;
/** sizeof(StackTrace): size, depth and 31 program counters (RecordGrowth keeps one per heap growth). */
export const STACKTRACE_BYTES: u64 = 264;
export const ALLOC_THREADCACHE: u64 = STATICS_BASE + 0x1040;
export const ALLOC_SETNODE: u64 = STATICS_BASE + 0x1060;

export const FREE_LISTS: u64 = STATICS_BASE + 0x2000;
export const CENTRAL_BASE: u64 = STATICS_BASE + 0x10000;
export const CENTRAL_STRIDE: u64 = 0x500;
export const THREAD_TABLE: u64 = STATICS_BASE + 0x60000;
export const MAX_THREADS: i32 = 0x4000;

/** Maps the statics and the pagemap root. */
export function globalsInit(): void {
  vmMap(STATICS_BASE, STATICS_SIZE);
  vmMap(PAGEMAP_ROOT, <u64>1 << 20);
  vmMap(CLASS_CACHE, <u64>1 << 19);
}

// @ts-ignore: decorator
@inline export function gld(offset: u64): u64 {
  return ld64(STATICS_BASE + offset);
}

// @ts-ignore: decorator
@inline export function gst(offset: u64, value: u64): void {
  st64(STATICS_BASE + offset, value);
}

// @ts-ignore: decorator
@inline export function gadd(offset: u64, delta: u64): void {
  st64(STATICS_BASE + offset, ld64(STATICS_BASE + offset) + delta);
}
