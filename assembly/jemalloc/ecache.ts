// Extent caches (ecache.h, eset.c): an arena's inactive extents, by state — dirty (freed, still touched),
// muzzy (lazily purged), retained (never used or purged, still mapped). Each eset bins its extents by the page
// class of their size, rounded down (psz_quantize_floor), and keeps each bin ordered oldest/lowest first; the
// bins in use are flagged in a bitmap so that a fit skips empty ones.
//
//   ecache e (ECACHE_STRIDE = 0x800, at arena + A_ECACHES + e × ECACHE_STRIDE)
//   ╒═════════════════╤═════════════════╤══════════════════════════════╤════════════════════════════════╕
//   │ npages          │ extents         │ nonempty bins: 4 × u64       │ bin heads: 8 × pszCount()      │
//   ╘═════════════════╧═════════════════╧══════════════════════════════╧════════════════════════════════╛
//   0                 8                 16                             48 (+16)
//
// Each bin is a doubly linked list through the extents' prev/next, sorted by (serial number, address): jemalloc
// keeps a pairing heap per bin and only ever asks it for its minimum, which the sorted list's head is.

import { ld64, st64 } from "../common/vmem";
import { arenaRec, A_ECACHES, ECACHE_STRIDE } from "./globals";
import { LG_PAGE, PAGE, pszCount, psz2ind, pind2sz, pszQuantizeFloor, pszQuantizeCeil, pageCeiling, alignUp } from "./sz";
import { eSize, eBase, ePrev, setEPrev, eNext, setENext, setEState, snadLess } from "./extent";

export const ECACHE_DIRTY: i32 = 0;
export const ECACHE_MUZZY: i32 = 1;
export const ECACHE_RETAINED: i32 = 2;

// @ts-ignore: decorator
@inline const HEADS: u64 = 64;

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

// @ts-ignore: decorator
@inline function headSlot(ec: u64, pind: i32): u64 {
  return ec + HEADS + (<u64>pind << 3);
}

/** First extent of bin `pind` (0 when empty). */
// @ts-ignore: decorator
@inline export function binHead(ec: u64, pind: i32): u64 {
  return ld64(headSlot(ec, pind));
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

/** eset_insert: files `e` under its bin, in snad order, with the ecache's state. */
export function esetInsert(ec: u64, which: i32, e: u64): void {
  setEState(e, ecacheState(which));
  const pind = binOf(eSize(e));
  const slot = headSlot(ec, pind);
  let prev: u64 = 0;
  let cur = ld64(slot);
  while (cur != 0 && snadLess(cur, e)) {
    prev = cur;
    cur = eNext(cur);
  }
  setEPrev(e, prev);
  setENext(e, cur);
  if (prev == 0) st64(slot, e);
  else setENext(prev, e);
  if (cur != 0) setEPrev(cur, e);
  setBinBit(ec, pind, true);
  st64(ec, ld64(ec) + (eSize(e) >> LG_PAGE));
  st64(ec + 8, ld64(ec + 8) + 1);
}

/** eset_remove. */
export function esetRemove(ec: u64, e: u64): void {
  const pind = binOf(eSize(e));
  const prev = ePrev(e);
  const next = eNext(e);
  if (prev == 0) {
    st64(headSlot(ec, pind), next);
    if (next == 0) setBinBit(ec, pind, false);
  } else {
    setENext(prev, next);
  }
  if (next != 0) setEPrev(next, prev);
  setEPrev(e, 0);
  setENext(e, 0);
  st64(ec, ld64(ec) - (eSize(e) >> LG_PAGE));
  st64(ec + 8, ld64(ec + 8) - 1);
}

/** eset_first_fit: the oldest/lowest extent of a bin that serves `size`, within 2^lgMaxFit of it. */
function firstFit(ec: u64, size: u64, lgMaxFit: u64): u64 {
  let ret: u64 = 0;
  const n = pszCount();
  const shift = lgMaxFit > 63 ? 63 : lgMaxFit;
  for (let i = nextBin(ec, psz2ind(pszQuantizeCeil(size))); i < n; i = nextBin(ec, i + 1)) {
    if ((pind2sz(i) >> shift) > size) break;
    const head = binHead(ec, i);
    if (ret == 0 || snadLess(head, ret)) ret = head;
  }
  return ret;
}

/** eset_fit_alignment: the first extent of a bin in [minSize, maxSize) that holds an aligned run. */
function fitAlignment(ec: u64, minSize: u64, maxSize: u64, alignment: u64): u64 {
  const pindMax = psz2ind(pszQuantizeCeil(maxSize));
  const n = pszCount();
  const align = pageCeiling(alignment);
  for (let i = nextBin(ec, psz2ind(pszQuantizeCeil(minSize))); i < pindMax && i < n; i = nextBin(ec, i + 1)) {
    const e = binHead(ec, i);
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
