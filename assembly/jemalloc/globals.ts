// The library's mutable state (its .data/.bss and the metadata it keeps in base blocks), in simulated memory
// above any user address, so that the journal can roll back a failed call. Immutable tables live in sz.ts.
//
//   STATICS_BASE   0xfff2_0000_0000
//   ┌───────────────────────────────────────────┐ + 0          scalar globals, 8 bytes each (G_*)
//   ├───────────────────────────────────────────┤ + 0x1000     the process's mappings: (start, end) pairs, sorted
//   ├───────────────────────────────────────────┤ + 0x10_0000  arenas, ARENA_STRIDE each (arena.ts)
//   └───────────────────────────────────────────┘
//   THREADS_BASE   0xfff3_0000_0000             thread records and their tcaches, THREAD_STRIDE each (tcache.ts)
//   RTREE_ROOT     0xfff4_0000_0000             the rtree's root level, then its leaves (rtree.ts)
//   EXTENTS_BASE   0xfff5_0000_0000             extent records (edata_t), EXTENT_BYTES each (extent.ts)

import { ld64, st64 } from "../common/vmem";

export const STATICS_BASE: u64 = 0xfff2_0000_0000;
export const MAPS_BASE: u64 = STATICS_BASE + 0x1000;
export const MAPS_MAX: u64 = 0xf000 >> 4;
export const ARENAS_BASE: u64 = STATICS_BASE + 0x10_0000;
export const ARENA_STRIDE: u64 = 0x8000;
export const MAX_ARENAS: i32 = 256;
export const THREADS_BASE: u64 = 0xfff3_0000_0000;
export const THREAD_STRIDE: u64 = 0x80000;
export const MAX_THREADS: i32 = 1024;
export const RTREE_ROOT: u64 = 0xfff4_0000_0000;
export const RTREE_LEAVES: u64 = 0xfff4_1000_0000;
export const EXTENTS_BASE: u64 = 0xfff5_0000_0000;

// scalar globals
export const G_RECORD_NEXT: u64 = 0;      // extent records ever carved
export const G_RECORD_FREE: u64 = 8;      // free list of extent records
export const G_LIVE_REQUESTED: u64 = 16;  // the model's: bytes the trace's live objects asked for
export const G_LIVE_USABLE: u64 = 24;     // the model's: their usable bytes
export const G_MAP_COUNT: u64 = 32;       // entries of the mapping table
export const G_MAPPED: u64 = 40;          // bytes mapped by the library (base blocks and extents)
export const G_LEAVES: u64 = 48;          // rtree leaves allocated
export const G_NARENAS: u64 = 56;         // arenas created (the huge arena included)
export const G_HUGE_ARENA: u64 = 64;      // index + 1 of the huge arena, 0 before it exists
export const G_THREADS: u64 = 72;         // one past the highest thread index seen
export const G_TRIMMED: u64 = 80;         // glibc's malloc_trim has run
export const G_CTL_INITIALIZED: u64 = 88; // the first mallctl has allocated ctl's tables
export const G_LIBRARIES_KNOWN: u64 = 96; // the program's mappings have replaced the libraries' stand-in

// An arena's record (ARENAS_BASE + ARENA_STRIDE × index):
//
//   ┌──────────────────────────────────────────┐ + 0       scalars (A_*)
//   ├──────────────────────────────────────────┤ + 0x100   its base's free remnants: (cursor, end, sn) × 32
//   ├──────────────────────────────────────────┤ + 0x400   ecaches dirty, muzzy, retained: ECACHE_STRIDE each
//   ├──────────────────────────────────────────┤ + 0x6400  bins: BIN_STRIDE each (bin.ts)
//   └──────────────────────────────────────────┘ + 0x6d00
export const A_SN_NEXT: u64 = 0;          // extent serial numbers (pac->extent_sn_next)
export const A_GROW_NEXT: u64 = 8;        // exp_grow: the next page class to map
export const A_NACTIVE: u64 = 16;         // pages of active extents
export const A_PAC_MAPPED: u64 = 24;      // bytes the page allocator has mapped
export const A_EXISTS: u64 = 32;
export const A_NTHREADS: u64 = 40;        // threads bound to the arena
export const A_BASE_PIND: u64 = 48;       // the page class of the base's last block
export const A_BASE_MAPPED: u64 = 56;     // bytes of the base's blocks
export const A_BASE_ALLOCATED: u64 = 64;  // bytes handed out by the base
export const A_EDATA_AVAIL: u64 = 72;     // edata_t structs in the edata cache, ready for reuse
export const A_REMNANTS: u64 = 80;        // base remnants in use
export const A_BASE_SN: u64 = 88;         // the base's block serial numbers
export const A_SMALL_ALLOCATED: u64 = 96; // bytes in allocated small regions (stats)
export const A_LARGE_ALLOCATED: u64 = 104; // bytes in allocated large extents (usize, stats)
export const A_BASE_RESIDENT: u64 = 112;  // bytes of base pages touched
export const A_INTERNAL: u64 = 120;       // usable bytes of the library's own allocations (tcache stacks)
export const A_REMNANT_BASE: u64 = 0x100;
export const A_REMNANT_MAX: u64 = 32;
export const A_ECACHES: u64 = 0x400;
export const ECACHE_STRIDE: u64 = 0x2000;
export const A_BINS: u64 = 0x6400;
export const BIN_STRIDE: u64 = 64;

/** The record of arena `a`. */
// @ts-ignore: decorator
@inline export function arenaRec(a: i32): u64 {
  return ARENAS_BASE + <u64>a * ARENA_STRIDE;
}

// @ts-ignore: decorator
@inline export function ald(a: i32, field: u64): u64 {
  return ld64(arenaRec(a) + field);
}

// @ts-ignore: decorator
@inline export function ast(a: i32, field: u64, value: u64): void {
  st64(arenaRec(a) + field, value);
}

// @ts-ignore: decorator
@inline export function aadd(a: i32, field: u64, delta: u64): void {
  const at = arenaRec(a) + field;
  st64(at, ld64(at) + delta);
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
