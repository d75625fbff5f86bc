// Base allocation (base.c): the metadata allocator. Each arena has a base that maps blocks from the kernel,
// each larger than the last (the next page class, rounded up to 2 MiB), and bumps metadata out of them, each
// piece at its own alignment, as the library allocates it: the base_t and the arena_t; for base 0 also the
// tcache's bin table and the background threads' table at start-up and ctl's tables at the first mallctl;
// an edata_t for every extent record the edata cache cannot recycle; rtree leaves (from base 0). The model never writes those bytes; it keeps only what decides when a new block is mapped,
// because a block mapped between two extent growths moves every later extent:
//
//   block: ┌──────────────┬───────────────────────────────┬──────────────────────────┐
//          │ block header │ metadata handed out (bumped)  │ remnant (cursor … end)   │
//          └──────────────┴───────────────────────────────┴──────────────────────────┘
//
// A request takes the remnant of the least size class that still holds it (base_alloc_impl's first fit over
// the avail heaps, indexed by the class floor of each remnant), oldest block first at equal class.
//
//   A_REMNANT_BASE + 24 × i
//   ╒═════════════════╤═════════════════╤═════════════════╕
//   │ cursor    (u64) │ end       (u64) │ block sn  (u64) │
//   ╘═════════════════╧═════════════════╧═════════════════╛

import { ld64, st64 } from "../common/vmem";
import { gld, gst, G_CTL_INITIALIZED, ald, ast, aadd, arenaRec, A_BASE_PIND, A_BASE_MAPPED, A_BASE_ALLOCATED, A_REMNANTS, A_REMNANT_BASE,
  A_REMNANT_MAX, A_BASE_SN, A_EDATA_AVAIL, A_BASE_RESIDENT } from "./globals";
import { osMap } from "./os";
import { NBINS, HUGEPAGE, PAGE, LARGE_MAXCLASS, alignUp, pageCeiling, size2index, psz2ind, pind2sz } from "./sz";

/** sizeof(base_block_t): size, next and the block's own edata_t. */
// @ts-ignore: decorator
@inline const BLOCK_HEADER: u64 = 144;
/** An edata_t from the base (its size is its alignment). */
// @ts-ignore: decorator
@inline export const EDATA_BYTES: u64 = 128;
// @ts-ignore: decorator
@inline const EDATA_ALIGNMENT: u64 = 128;
// @ts-ignore: decorator
@inline const QUANTUM: u64 = 16;

/** sizeof(base_t), cache-line aligned: the base's own record, the first thing in its first block. */
// @ts-ignore: decorator
@inline const BASE_T_BYTES: u64 = 3968;
/** sizeof(arena_t) with its bins (arena_new). */
// @ts-ignore: decorator
@inline const ARENA_T_BYTES: u64 = 87016;
/** background_thread_boot1's table: DEFAULT_NUM_BACKGROUND_THREAD (4) background_thread_info_t. */
// @ts-ignore: decorator
@inline const BACKGROUND_THREAD_INFO_BYTES: u64 = 4 * 208;
// @ts-ignore: decorator
@inline const CACHELINE: u64 = 64;

/**
 * ctl's tables, from base 0 at the process's first mallctl (ctl_init), sizes of Debian's build: ctl_arenas_t,
 * ctl_stats_t, then a ctl_arena_t with its stats for every arena index narenas_total counts (the automatic
 * arenas and the huge arena's) and for the "all" and "destroyed" pseudo-arenas.
 */
// @ts-ignore: decorator
@inline const CTL_ARENAS_BYTES: u64 = 32800;
// @ts-ignore: decorator
@inline const CTL_STATS_BYTES: u64 = 720;
// @ts-ignore: decorator
@inline const CTL_ARENA_BYTES: u64 = 37856;

/** How many ctl_arena_t ctl_init allocates: narenas_auto + the huge arena's index + 2 pseudo-arenas. */
let ctlArenaSlots: u64 = 8 + 3;

/** Sizes ctl's tables for `narenas` automatic arenas. */
export function setCtlArenas(narenas: u64): void {
  ctlArenaSlots = narenas + 3;
}

/** ctl_init: the first mallctl allocates ctl's tables from base 0 (once). */
export function ctlInit(): void {
  if (gld(G_CTL_INITIALIZED) != 0) return;
  gst(G_CTL_INITIALIZED, 1);
  baseAlloc(0, CTL_ARENAS_BYTES, QUANTUM);
  baseAlloc(0, CTL_STATS_BYTES, QUANTUM);
  for (let i: u64 = 0; i < ctlArenaSlots; i++) baseAlloc(0, CTL_ARENA_BYTES, QUANTUM);
}

// @ts-ignore: decorator
@inline function remnant(a: i32, i: u64): u64 {
  return arenaRec(a) + A_REMNANT_BASE + i * 24;
}

/** The class floor of a remnant of `bytes` (base_extent_bump_alloc_post's index). */
// @ts-ignore: decorator
@inline function floorClass(bytes: u64): i32 {
  return size2index(bytes + 1) - 1;
}

/** Maps a block big enough for `usize` bytes at `align` after its header; returns its remnant's slot. */
function newBlock(a: i32, usize: u64, align: u64): u64 {
  let minSize = pind2sz(psz2ind(alignUp(BLOCK_HEADER, align) + usize));
  minSize = alignUp(minSize, HUGEPAGE);
  const last = <i32>ald(a, A_BASE_PIND);
  const limit = psz2ind(LARGE_MAXCLASS);
  const nextPind = last + 1 < limit ? last + 1 : last;
  const nextSize = alignUp(pind2sz(nextPind), HUGEPAGE);
  const blockSize = minSize > nextSize ? minSize : nextSize;
  const block = osMap(blockSize);
  ast(a, A_BASE_PIND, <u64>psz2ind(blockSize));
  aadd(a, A_BASE_MAPPED, blockSize);
  aadd(a, A_BASE_ALLOCATED, BLOCK_HEADER);
  aadd(a, A_BASE_RESIDENT, pageCeiling(BLOCK_HEADER));
  let n = ald(a, A_REMNANTS);
  if (n >= A_REMNANT_MAX) {
    // Drop the smallest remnant: too small to matter for the placement of later blocks.
    let smallest: u64 = 0;
    for (let i: u64 = 1; i < n; i++) {
      const r = remnant(a, i);
      const s = remnant(a, smallest);
      if (ld64(r + 8) - ld64(r) < ld64(s + 8) - ld64(s)) smallest = i;
    }
    const last = remnant(a, n - 1);
    const s = remnant(a, smallest);
    st64(s, ld64(last));
    st64(s + 8, ld64(last + 8));
    st64(s + 16, ld64(last + 16));
    n--;
  }
  const r = remnant(a, n);
  st64(r, block + BLOCK_HEADER);
  st64(r + 8, block + blockSize);
  const sn = ald(a, A_BASE_SN);
  ast(a, A_BASE_SN, sn + 1);
  st64(r + 16, sn);
  ast(a, A_REMNANTS, n + 1);
  return r;
}

/** base_alloc(base of arena `a`, size, alignment): returns the metadata's address. */
export function baseAlloc(a: i32, size: u64, alignment: u64): u64 {
  const align = alignUp(alignment, QUANTUM);
  const usize = alignUp(size, align);
  // Room for the worst alignment gap, so that any remnant of the class is enough.
  const want = size2index(usize + align - QUANTUM);
  const n = ald(a, A_REMNANTS);
  let best: u64 = 0;
  let bestClass: i32 = i32.MAX_VALUE;
  for (let i: u64 = 0; i < n; i++) {
    const r = remnant(a, i);
    const c = floorClass(ld64(r + 8) - ld64(r));
    if (c < want) continue;
    if (c < bestClass || (c == bestClass && ld64(r + 16) < ld64(best + 16))) {
      best = r;
      bestClass = c;
    }
  }
  if (best == 0) best = newBlock(a, usize, align);
  const cursor = ld64(best);
  const at = alignUp(cursor, align);
  st64(best, at + usize);
  aadd(a, A_BASE_RESIDENT, pageCeiling(at + usize) - pageCeiling(cursor));
  aadd(a, A_BASE_ALLOCATED, usize);
  return at;
}

/** base_new: the first block of arena `a`'s base, holding the base_t. */
export function baseNew(a: i32): void {
  ast(a, A_BASE_PIND, 0);
  ast(a, A_REMNANTS, 0);
  baseAlloc(a, BASE_T_BYTES, CACHELINE);
}

/** arena_new's own record, from the arena's base. */
export function baseAllocArena(a: i32): void {
  baseAlloc(a, ARENA_T_BYTES, CACHELINE);
}

/** tcache_boot's table of cache-bin capacities (a u16 per bin, at least one per small bin), from base 0. */
export function baseAllocTcacheInfo(nhbins: i32): void {
  baseAlloc(0, <u64>(nhbins < NBINS ? NBINS : nhbins) * 2, CACHELINE);
}

/** background_thread_boot1's table, from base 0, once the main thread has its tcache. */
export function baseAllocBackgroundThreads(): void {
  baseAlloc(0, BACKGROUND_THREAD_INFO_BYTES, CACHELINE);
}

/** An rtree leaf from base 0. */
export function baseAllocLeaf(bytes: u64): void {
  baseAlloc(0, bytes, 64);
}

/** edata_cache_get: a recycled edata_t, or a new one from the arena's base. */
export function edataGet(a: i32): void {
  const avail = ald(a, A_EDATA_AVAIL);
  if (avail > 0) {
    ast(a, A_EDATA_AVAIL, avail - 1);
    return;
  }
  baseAlloc(a, EDATA_BYTES, EDATA_ALIGNMENT);
}

/** edata_cache_put. */
export function edataPut(a: i32): void {
  aadd(a, A_EDATA_AVAIL, 1);
}

/** Bytes the base of arena `a` has handed out. */
export function baseAllocated(a: i32): u64 {
  return ald(a, A_BASE_ALLOCATED);
}

/** Pages of the base's blocks that metadata has touched, in bytes. */
export function baseResident(a: i32): u64 {
  return ald(a, A_BASE_RESIDENT);
}

/** Bytes of the base's blocks. */
export function baseMapped(a: i32): u64 {
  return ald(a, A_BASE_MAPPED);
}
