// Base allocation (base.c): the metadata allocator. Each arena has a base that maps blocks from the kernel,
// each larger than the last (the next page class, rounded up to 2 MiB), and bumps metadata out of them: the
// arena itself at start-up, an edata_t for every extent record the edata cache cannot recycle, rtree leaves
// (from base 0). The model never writes those bytes; it keeps only what decides when a new block is mapped,
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
import { ald, ast, aadd, arenaRec, A_BASE_PIND, A_BASE_MAPPED, A_BASE_ALLOCATED, A_REMNANTS, A_REMNANT_BASE,
  A_REMNANT_MAX, A_BASE_SN, A_EDATA_AVAIL, A_BASE_RESIDENT } from "./globals";
import { osMap } from "./os";
import { HUGEPAGE, PAGE, LARGE_MAXCLASS, alignUp, pageCeiling, size2index, psz2ind, pind2sz } from "./sz";

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

/**
 * Bytes arena 0 takes from its fresh base at start-up (base_t, arena_t with its bins and ecaches, the tcache
 * and ctl tables): stats.metadata of a fresh process less its rtree leaf and tcache, measured on 5.3.0 with
 * 8 automatic arenas; each arena slot fewer saves ARENA_SLOT_METADATA_BYTES.
 */
let arenaMetadataBytes: u64 = 542192;
// @ts-ignore: decorator
@inline const ARENA_SLOT_METADATA_BYTES: u64 = 37856;
// @ts-ignore: decorator
@inline const MEASURED_SLOTS: u64 = 8;

/** Arena 0's start-up metadata with `narenas` automatic arenas. */
export function setArenaSlots(narenas: u64): void {
  arenaMetadataBytes = 542192 + narenas * ARENA_SLOT_METADATA_BYTES - MEASURED_SLOTS * ARENA_SLOT_METADATA_BYTES;
}
/** The same for any later arena (its base_t, arena_t, bins and ecaches), measured on the huge arena. */
let laterArenaMetadataBytes: u64 = 91152;

// @ts-ignore: decorator
@inline function remnant(a: i32, i: u64): u64 {
  return arenaRec(a) + A_REMNANT_BASE + i * 24;
}

/** The class floor of a remnant of `bytes` (base_extent_bump_alloc_post's index). */
// @ts-ignore: decorator
@inline function floorClass(bytes: u64): i32 {
  return size2index(bytes + 1) - 1;
}

/** Maps a block big enough for `asize` bytes; returns its remnant's slot. */
function newBlock(a: i32, asize: u64): u64 {
  const headerGap = alignUp(BLOCK_HEADER, QUANTUM);
  let minSize = pind2sz(psz2ind(headerGap + asize));
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
  const asize = alignUp(size, align);
  const want = size2index(asize);
  const n = ald(a, A_REMNANTS);
  let best: u64 = 0;
  let bestClass: i32 = i32.MAX_VALUE;
  for (let i: u64 = 0; i < n; i++) {
    const r = remnant(a, i);
    const room = ld64(r + 8) - ld64(r);
    if (room < asize) continue;
    const c = floorClass(room);
    if (c < want) continue;
    if (c < bestClass || (c == bestClass && ld64(r + 16) < ld64(best + 16))) {
      best = r;
      bestClass = c;
    }
  }
  if (best == 0) best = newBlock(a, asize);
  const cursor = ld64(best);
  const at = alignUp(cursor, align);
  st64(best, at + asize);
  aadd(a, A_BASE_RESIDENT, pageCeiling(at + asize) - pageCeiling(cursor));
  aadd(a, A_BASE_ALLOCATED, asize);
  return at;
}

/** A fresh base for arena `a`: its first block, holding the arena's own metadata. */
export function baseNew(a: i32): void {
  ast(a, A_BASE_PIND, 0);
  ast(a, A_REMNANTS, 0);
  baseAlloc(a, a == 0 ? arenaMetadataBytes : laterArenaMetadataBytes, QUANTUM);
  // The measured start-up bytes already count the headers of the blocks mapped at start-up: block 0, and for
  // arena 0 the block of the first rtree leaf.
  aadd(a, A_BASE_ALLOCATED, -(a == 0 ? 2 : 1) * BLOCK_HEADER);
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
