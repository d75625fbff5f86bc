// Extent caches (ecache.h, eset.c): an arena's inactive extents, by state — dirty (freed, still touched),
// muzzy (lazily purged), retained (never used or purged, still mapped). Each eset bins its extents by the page
// class of their size, rounded down (psz_quantize_floor), and keeps each bin ordered oldest/lowest first; the
// bins in use are flagged in a bitmap so that a fit skips empty ones.
//
//   ecache e (ECACHE_STRIDE = 0x2000, at arena + A_ECACHES + e × ECACHE_STRIDE)
//   ╒═════════════════╤═════════════════╤══════════════════════════════╤════════════════════════════════╕
//   │ npages          │ extents         │ nonempty bins: 4 × u64       │ bins: BIN_BYTES × pszCount()   │
//   ╘═════════════════╧═════════════════╧══════════════════════════════╧════════════════════════════════╛
//   0                 8                 16                             64
//
//   bin (BIN_BYTES = 32)
//   ╒═════════════════════════════════╤═════════════════╤═════════════════╕
//   │ pairing heap (ph.ts): root, aux │ heap_min: sn    │ heap_min: addr  │
//   ╘═════════════════════════════════╧═════════════════╧═════════════════╛
//
// Each bin is a pairing heap in snad order (serial number, then address) plus heap_min, a summary of its least
// extent that eset_first_fit compares across bins without touching the heaps. heap_min is lowered on insert and
// re-read from the heap's first() only when the removed extent's summary equals it — so it follows the heap's
// shape exactly as jemalloc's does, including when first() is not the least extent (ph.ts).

import { ld64, st64 } from "../common/vmem";
import { arenaRec, A_ECACHES, ECACHE_STRIDE } from "./globals";
import { LG_PAGE, PAGE, pszCount, psz2ind, pind2sz, pszQuantizeFloor, pszQuantizeCeil, pageCeiling, alignUp } from "./sz";
import { eSize, eBase, eSn, setEState } from "./extent";
import { phFirst, phInsert, phRemove, phEmpty, phRoot } from "./ph";

export const ECACHE_DIRTY: i32 = 0;
export const ECACHE_MUZZY: i32 = 1;
export const ECACHE_RETAINED: i32 = 2;

// @ts-ignore: decorator
@inline const BINS: u64 = 64;
// @ts-ignore: decorator
@inline const BIN_BYTES: u64 = 32;

/** Address of ecache `which` of arena `a`. */
// @ts-ignore: decorator
@inline export function ecacheOf(a: i32, which: i32): u64 {
  return arenaRec(a) + A_ECACHES + <u64>which * ECACHE_STRIDE;
}

/** The extent state an ecache holds. */
// @ts-ignore: decorator
@inline export function ecacheState(which: i32): u8 {
  return <u8>(which + 1);
}

/** Pages held by the ecache. */
// @ts-ignore: decorator
@inline export function ecacheNpages(ec: u64): u64 {
  return ld64(ec);
}

/** Extents held by the ecache. */
// @ts-ignore: decorator
@inline export function ecacheCount(ec: u64): u64 {
  return ld64(ec + 8);
}

/** The heap of bin `pind`. */
// @ts-ignore: decorator
@inline export function binHeap(ec: u64, pind: i32): u64 {
  return ec + BINS + <u64>pind * BIN_BYTES;
}

// @ts-ignore: decorator
@inline function minSn(heap: u64): u64 { return ld64(heap + 16); }
// @ts-ignore: decorator
@inline function minAddr(heap: u64): u64 { return ld64(heap + 24); }

/** Sets a bin's heap_min to extent `e`'s summary. */
// @ts-ignore: decorator
@inline function setMin(heap: u64, e: u64): void {
  st64(heap + 16, eSn(e));
  st64(heap + 24, eBase(e));
}

/** edata_cmp_summary_comp(summary of `e`, heap_min) < 0. */
// @ts-ignore: decorator
@inline function belowMin(e: u64, heap: u64): bool {
  const sn = eSn(e);
  return sn < minSn(heap) || (sn == minSn(heap) && eBase(e) < minAddr(heap));
}

/** Summary of `e` equals heap_min. */
// @ts-ignore: decorator
@inline function isMin(e: u64, heap: u64): bool {
  return eSn(e) == minSn(heap) && eBase(e) == minAddr(heap);
}

// @ts-ignore: decorator
@inline function setBinBit(ec: u64, pind: i32, on: bool): void {
  const w = ec + 16 + (<u64>(pind >> 6) << 3);
  const bit = <u64>1 << <u64>(pind & 63);
  st64(w, on ? ld64(w) | bit : ld64(w) & ~bit);
}

/** The first nonempty bin at or above `pind` (pszCount() when none). */
function nextBin(ec: u64, pind: i32): i32 {
  const n = pszCount();
  while (pind < n) {
    const word = ld64(ec + 16 + (<u64>(pind >> 6) << 3)) >> <u64>(pind & 63);
    if (word != 0) return pind + <i32>ctz(word);
    pind = (pind | 63) + 1;
  }
  return n;
}

/** The bin an extent of `size` bytes sits in. */
// @ts-ignore: decorator
@inline function binOf(size: u64): i32 {
  return psz2ind(pszQuantizeFloor(size));
}

/** eset_insert: files `e` under its bin with the ecache's state. */
export function esetInsert(ec: u64, which: i32, e: u64): void {
  setEState(e, ecacheState(which));
  const pind = binOf(eSize(e));
  const heap = binHeap(ec, pind);
  if (phEmpty(heap)) {
    setBinBit(ec, pind, true);
    setMin(heap, e);
  } else if (belowMin(e, heap)) {
    setMin(heap, e);
  }
  phInsert(heap, e);
  st64(ec, ld64(ec) + (eSize(e) >> LG_PAGE));
  st64(ec + 8, ld64(ec + 8) + 1);
}

/** eset_remove. */
export function esetRemove(ec: u64, e: u64): void {
  const pind = binOf(eSize(e));
  const heap = binHeap(ec, pind);
  phRemove(heap, e);
  if (phEmpty(heap)) setBinBit(ec, pind, false);
  else if (isMin(e, heap)) setMin(heap, phFirst(heap));
  st64(ec, ld64(ec) - (eSize(e) >> LG_PAGE));
  st64(ec + 8, ld64(ec + 8) - 1);
}

/** An extent of the lowest nonempty bin (the ecache holds at least one), without touching the heap's shape. */
export function esetAny(ec: u64): u64 {
  return phRoot(binHeap(ec, nextBin(ec, 0)));
}

/**
 * eset_first_fit: the extent that serves `size` from the bin whose heap_min is least, among the bins within
 * 2^lgMaxFit of `size`.
 */
function firstFit(ec: u64, size: u64, lgMaxFit: u64): u64 {
  let ret: u64 = 0;
  let retSn: u64 = 0;
  let retAddr: u64 = 0;
  const n = pszCount();
  const shift = lgMaxFit > 63 ? 63 : lgMaxFit;
  for (let i = nextBin(ec, psz2ind(pszQuantizeCeil(size))); i < n; i = nextBin(ec, i + 1)) {
    if ((pind2sz(i) >> shift) > size) break;
    const heap = binHeap(ec, i);
    const sn = minSn(heap);
    const addr = minAddr(heap);
    if (ret == 0 || sn < retSn || (sn == retSn && addr < retAddr)) {
      ret = phFirst(heap);
      retSn = sn;
      retAddr = addr;
    }
  }
  return ret;
}

/** eset_fit_alignment: the first extent of a bin in [minSize, maxSize) that holds an aligned run. */
function fitAlignment(ec: u64, minSize: u64, maxSize: u64, alignment: u64): u64 {
  const pindMax = psz2ind(pszQuantizeCeil(maxSize));
  const n = pszCount();
  const align = pageCeiling(alignment);
  for (let i = nextBin(ec, psz2ind(pszQuantizeCeil(minSize))); i < pindMax && i < n; i = nextBin(ec, i + 1)) {
    const e = phFirst(binHeap(ec, i));
    const base = eBase(e);
    const size = eSize(e);
    const next = alignUp(base, align);
    if (base > next || base + size <= next) continue;
    if (size - (next - base) >= minSize) return e;
  }
  return 0;
}

/** eset_fit: an extent that serves `esize` bytes at `alignment`, or 0. */
export function esetFit(ec: u64, esize: u64, alignment: u64, lgMaxFit: u64): u64 {
  const maxSize = esize + pageCeiling(alignment) - PAGE;
  if (maxSize < esize) return 0;
  let e = firstFit(ec, maxSize, lgMaxFit);
  if (alignment > PAGE && e == 0) e = fitAlignment(ec, esize, maxSize, alignment);
  return e;
}
