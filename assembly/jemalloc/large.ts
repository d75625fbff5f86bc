// Large allocations (large.c): one extent each, of the usable size plus one page of pad, the object starting at
// a random cache line of that first page (cache-oblivious placement) unless it asked for page alignment or more.
// Realloc between large sizes grows the extent into the free pages after it or cuts its tail off, in place.
//
//   extent: ┌─────────┬───────────────────────────────────────────────┬───────────────────┐
//           │ offset  │ usize bytes of the object                     │ rest of the pad   │
//           └─────────┴───────────────────────────────────────────────┴───────────────────┘
//           base      addr = base + 64 × r, r from the thread's PRNG (6 bits)

import { A_LARGE_ALLOCATED, aadd } from "./globals";
import { PAGE, CACHELINE, LG_PAGE, LARGE_PAD, LARGE_MAXCLASS, sa2u, size2index, lgFloor, alignUp } from "./sz";
import { eBase, eAddr, setEAddr, eUsize, setEUsize, eArena, setESzind } from "./extent";
import { paAlloc, paDalloc, paExpand, paShrink } from "./pac";
import { prngLgRange, decayTicks, arenaChooseMaybeHuge } from "./arena";

/** arena_extent_alloc_large plus the placement: the extent of a large object, or 0. */
function extentAllocLarge(t: i32, a: i32, usize: u64, alignment: u64): u64 {
  const e = paAlloc(a, usize + LARGE_PAD, alignment, false, <u32>size2index(usize));
  if (e == 0) return 0;
  setEUsize(e, usize);
  aadd(a, A_LARGE_ALLOCATED, usize);
  if (alignment < PAGE) {
    const lgRange = LG_PAGE - lgFloor(alignUp(alignment, CACHELINE));
    const r = prngLgRange(t, lgRange);
    setEAddr(e, eBase(e) + (r << (LG_PAGE - lgRange)));
  }
  return e;
}

/** large_palloc: a large object of `usize` bytes at `alignment` in arena `a` (-1: the thread's choice). */
export function largePalloc(t: i32, a: i32, usize: u64, alignment: u64): u64 {
  const ausize = sa2u(usize, alignment);
  if (ausize == 0 || ausize > LARGE_MAXCLASS) return 0;
  if (a < 0) a = arenaChooseMaybeHuge(t, usize);
  const e = extentAllocLarge(t, a, usize, alignment);
  if (e == 0) return 0;
  decayTicks(t, 1);
  return eAddr(e);
}

/** large_malloc. */
export function largeMalloc(t: i32, a: i32, usize: u64): u64 {
  return largePalloc(t, a, usize, CACHELINE);
}

/** The extent's bookkeeping when it stops being a large object (large_dalloc_prep). */
export function largeDallocPrep(e: u64): void {
  aadd(eArena(e), A_LARGE_ALLOCATED, -eUsize(e));
}

/** large_dalloc_finish: the extent goes back to the page allocator. */
export function largeDallocFinish(e: u64): void {
  paDalloc(eArena(e), e);
}

/** large_dalloc, without a tcache. */
export function largeDalloc(t: i32, e: u64): void {
  largeDallocPrep(e);
  largeDallocFinish(e);
  decayTicks(t, 1);
}

/** Changes the large object's class to `usize` (in place). */
function setUsize(e: u64, usize: u64): void {
  aadd(eArena(e), A_LARGE_ALLOCATED, usize - eUsize(e));
  setEUsize(e, usize);
  setESzind(e, <u32>size2index(usize));
}

/** large_ralloc_no_move: true when the object now has class `usize` without moving. */
export function largeRallocNoMove(t: i32, e: u64, usize: u64): bool {
  const old = eUsize(e);
  if (usize > old) {
    if (paExpand(eArena(e), e, usize + LARGE_PAD)) {
      setUsize(e, usize);
      decayTicks(t, 1);
      return true;
    }
  }
  if (old == usize) {
    decayTicks(t, 1);
    return true;
  }
  if (old > usize) {
    paShrink(eArena(e), e, usize + LARGE_PAD);
    setUsize(e, usize);
    decayTicks(t, 1);
    return true;
  }
  return false;
}

/** Usable size of the large object of extent `e`. */
export function largeUsize(e: u64): u64 {
  return eUsize(e);
}
