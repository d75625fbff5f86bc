// The page allocator (pa.c, pac.c, extent.c): extents for slabs and large allocations. A request is served,
// in order, from the dirty ecache, the muzzy ecache, the retained ecache, and finally by growing: with
// opt.retain, extent_grow_retained maps the next size of a geometric series of page classes (2 MiB, 2.5, 3,
// 3.5, 4, 5 … MiB), takes what it needs and keeps the rest as retained; without it, each extent is its own
// mapping. Reuse is first fit in snad order (oldest, then lowest); whatever a fit leaves before or after the
// request goes back to the same ecache as its own extent.
//
//   one mapping (a head extent; nothing merges across its lower boundary):
//   ┌────────────┬────────────┬──────────────┬──────────────────────────────────────────────┐
//   │ slab       │ large      │ dirty (freed)│ retained (never used yet)                    │
//   └────────────┴────────────┴──────────────┴──────────────────────────────────────────────┘
//
// Coalescing: retained extents merge with their free neighbours at once; dirty ones only when they are large
// (16 KiB and up), the others are kept apart so that small slabs are reused as they were (delayed coalescing),
// and a dirty fit may not split an extent more than 2^lg_extent_max_active_fit times its size.

import { ald, ast, aadd, A_SN_NEXT, A_GROW_NEXT, A_NACTIVE, A_PAC_MAPPED } from "./globals";
import { LG_PAGE, PAGE, LARGE_MINCLASS, LARGE_MAXCLASS, psz2ind, pind2sz, pageCeiling, alignUp } from "./sz";
import {
  eBase, setEBase, eSize, setESize, eSn, setESn, eState, setEState, eHead, setEHead, setEArena, setEAddr,
  eSlab, setESlab, setESzind, ePast, recordNew, recordFree, STATE_ACTIVE, NO_SZIND,
} from "./extent";
import { rtreeRead, registerBoundary, deregisterBoundary, registerInterior, deregisterInterior } from "./rtree";
import {
  ecacheOf, ecacheState, ecacheCount, esetAny, esetInsert, esetRemove, esetFit, ECACHE_DIRTY, ECACHE_MUZZY,
  ECACHE_RETAINED,
} from "./ecache";
import { count, SYS_MADVISE } from "../common/counters";
import { edataGet, edataPut } from "./base";
import { osMap, osMapAt, osUnmap } from "./os";

let optRetain: bool = true;
let lgExtentMaxActiveFit: u64 = 6;
let muzzyDecayMs: i64 = -1;
let dirtyDecayMs: i64 = -1;

/** opt.retain: grow by mapping a geometric series and keep unused pages mapped. */
export function setRetain(on: bool): void {
  optRetain = on;
}

/** opt.lg_extent_max_active_fit: how much larger than a request a dirty extent may be. */
export function setLgExtentMaxActiveFit(lg: u64): void {
  lgExtentMaxActiveFit = lg;
}

/** opt.muzzy_decay_ms: 0 means no extent is ever muzzy. */
export function setMuzzyDecayMs(ms: i64): void {
  muzzyDecayMs = ms;
}

/** dirty_decay_ms: -1 (never purge) or 0 (purge at once); a clock is not modelled. */
export function setDirtyDecayMs(ms: i64): void {
  dirtyDecayMs = ms;
}

/** Fresh page-allocator state of arena `a` (exp_grow starts at the huge page). */
export function pacInit(a: i32): void {
  ast(a, A_GROW_NEXT, <u64>psz2ind(2 << 20));
}

// @ts-ignore: decorator
@inline function snNext(a: i32): u64 {
  const sn = ald(a, A_SN_NEXT);
  ast(a, A_SN_NEXT, sn + 1);
  return sn;
}

/** extent_split_impl: cuts `e` after `sizeA` bytes; returns the trail, which inherits state and age. */
function extentSplit(a: i32, e: u64, sizeA: u64): u64 {
  edataGet(a);
  const trail = recordNew();
  setEBase(trail, eBase(e) + sizeA);
  setEAddr(trail, eBase(e) + sizeA);
  setESize(trail, eSize(e) - sizeA);
  setESn(trail, eSn(e));
  setEState(trail, eState(e));
  setEHead(trail, false);
  setEArena(trail, a);
  setESize(e, sizeA);
  registerBoundary(e);
  registerBoundary(trail);
  return trail;
}

/** extent_merge_impl: `lower` absorbs the adjacent `higher`, keeping the older serial number. */
function extentMerge(a: i32, lower: u64, higher: u64): void {
  deregisterBoundary(lower);
  deregisterBoundary(higher);
  setESize(lower, eSize(lower) + eSize(higher));
  if (eSn(higher) < eSn(lower)) setESn(lower, eSn(higher));
  registerBoundary(lower);
  recordFree(higher);
  edataPut(a);
}

/** The extent right after `e` when it may merge with it: in `state`, and not the head of another mapping. */
function forwardNeighbor(e: u64, state: u8): u64 {
  const past = ePast(e);
  const n = rtreeRead(past);
  if (n == 0 || eBase(n) != past || eHead(n) || eState(n) != state) return 0;
  return n;
}

/** The extent right before `e` when it may merge with it (`e` itself must not be a head). */
function backwardNeighbor(e: u64, state: u8): u64 {
  if (eHead(e)) return 0;
  const p = rtreeRead(eBase(e) - PAGE);
  if (p == 0 || ePast(p) != eBase(e) || eState(p) != state) return 0;
  return p;
}

/** Merges `e` with its free neighbours in ecache `which` until none is left; returns the merged extent. */
function coalesce(a: i32, which: i32, e: u64): u64 {
  const ec = ecacheOf(a, which);
  const state = ecacheState(which);
  let again = true;
  while (again) {
    again = false;
    const next = forwardNeighbor(e, state);
    if (next != 0) {
      esetRemove(ec, next);
      extentMerge(a, e, next);
      again = true;
    }
    const prev = backwardNeighbor(e, state);
    if (prev != 0) {
      esetRemove(ec, prev);
      extentMerge(a, prev, e);
      e = prev;
      again = true;
    }
  }
  return e;
}

/** extent_record: puts the inactive `e` into ecache `which`, coalescing as that ecache does. */
export function extentRecord(a: i32, which: i32, e: u64): void {
  if (which == ECACHE_RETAINED || eSize(e) >= LARGE_MINCLASS) e = coalesce(a, which, e);
  esetInsert(ecacheOf(a, which), which, e);
}

/** Splits the lead (to reach `alignment`) and the trail off `e`, filing both in ecache `which`. */
function splitInterior(a: i32, which: i32, e: u64, size: u64, alignment: u64, record: bool): u64 {
  const base = eBase(e);
  const leadSize = alignUp(base, pageCeiling(alignment)) - base;
  const trailSize = eSize(e) - leadSize - size;
  let lead: u64 = 0;
  let trail: u64 = 0;
  if (leadSize != 0) {
    lead = e;
    e = extentSplit(a, lead, leadSize);
  }
  if (trailSize != 0) trail = extentSplit(a, e, size);
  const ec = ecacheOf(a, which);
  if (lead != 0) {
    if (record) extentRecord(a, which, lead);
    else esetInsert(ec, which, lead);
  }
  if (trail != 0) {
    if (record) extentRecord(a, which, trail);
    else esetInsert(ec, which, trail);
  }
  return e;
}

/** extent_recycle: an extent of `size` bytes from ecache `which`, or right after `expand` when it is set. */
function extentRecycle(a: i32, which: i32, expand: u64, size: u64, alignment: u64): u64 {
  const ec = ecacheOf(a, which);
  let e: u64;
  if (expand != 0) {
    e = forwardNeighbor(expand, ecacheState(which));
    if (e == 0 || eSize(e) < size) return 0;
  } else {
    const lgMaxFit: u64 = which == ECACHE_RETAINED ? 64 : lgExtentMaxActiveFit;
    e = esetFit(ec, size, alignment, lgMaxFit);
    if (e == 0) return 0;
  }
  if (eSize(e) < alignUp(eBase(e), pageCeiling(alignment)) - eBase(e) + size) return 0;
  esetRemove(ec, e);
  setEState(e, STATE_ACTIVE);
  return splitInterior(a, which, e, size, alignment, false);
}

/** The active extent of a fresh mapping, registered, with the next serial number. */
function mappedExtent(a: i32, ptr: u64, size: u64, head: bool): u64 {
  const e = recordNew();
  setEBase(e, ptr);
  setEAddr(e, ptr);
  setESize(e, size);
  setESn(e, snNext(a));
  setEHead(e, head);
  setEArena(e, a);
  registerBoundary(e);
  return e;
}

/** extent_grow_retained: maps the next extent of the geometric series and carves `size` bytes from it. */
function growRetained(a: i32, size: u64, alignment: u64): u64 {
  const allocMin = size + pageCeiling(alignment) - PAGE;
  if (allocMin < size) return 0;
  const next = <i32>ald(a, A_GROW_NEXT);
  const limit = psz2ind(LARGE_MAXCLASS);
  let skip = 0;
  let allocSize = pind2sz(next);
  while (allocSize < allocMin) {
    skip++;
    if (next + skip >= limit) return 0;
    allocSize = pind2sz(next + skip);
  }
  edataGet(a);
  const ptr = osMap(allocSize);
  if (ptr == 0) return 0;
  const e = mappedExtent(a, ptr, allocSize, true);
  const got = splitInterior(a, ECACHE_RETAINED, e, size, alignment, true);
  ast(a, A_GROW_NEXT, <u64>(next + skip + 1 <= limit ? next + skip + 1 : limit));
  return got;
}

/** pages_map with an alignment: mmap, and when the kernel's answer is misaligned, map more and trim. */
function pagesMap(hint: u64, size: u64, alignment: u64): u64 {
  if (hint != 0) return osMapAt(hint, size) ? hint : 0;
  let ptr = osMap(size);
  if (ptr == 0 || (ptr & (alignment - 1)) == 0) return ptr;
  osUnmap(ptr, size);
  const allocSize = size + alignment - PAGE;
  const wide = osMap(allocSize);
  if (wide == 0) return 0;
  ptr = alignUp(wide, alignment);
  if (ptr > wide) osUnmap(wide, ptr - wide);
  if (wide + allocSize > ptr + size) osUnmap(ptr + size, wide + allocSize - ptr - size);
  return ptr;
}

/** extent_alloc_wrapper: a fresh mapping of exactly `size` bytes (the path without opt.retain). */
function allocMapping(a: i32, hint: u64, size: u64, alignment: u64): u64 {
  edataGet(a);
  const ptr = pagesMap(hint, size, alignment < PAGE ? PAGE : pageCeiling(alignment));
  if (ptr == 0) {
    // extent_alloc_core then tries the dss ("secondary"): extent_alloc_dss takes a gap edata_t (from the base when
    // the cache is empty) and gives it back, the program break not being at the address asked for.
    edataGet(a);
    edataPut(a);
    edataPut(a);
    return 0;
  }
  return mappedExtent(a, ptr, size, optRetain);
}

/** ecache_alloc_grow: the retained ecache, then growth (or a new mapping without opt.retain). */
function allocGrow(a: i32, expand: u64, size: u64, alignment: u64): u64 {
  let e = extentRecycle(a, ECACHE_RETAINED, expand, size, alignment);
  if (e == 0 && optRetain && expand == 0) e = growRetained(a, size, alignment);
  if (e == 0) {
    if (optRetain && expand != 0) return 0;
    e = allocMapping(a, expand != 0 ? ePast(expand) : 0, size, alignment);
  }
  return e;
}

/** pac_alloc_real: an active extent of `size` bytes, or 0 when the address space is exhausted. */
function pacAllocReal(a: i32, size: u64, alignment: u64): u64 {
  let e = extentRecycle(a, ECACHE_DIRTY, 0, size, alignment);
  if (e == 0 && muzzyDecayMs != 0) e = extentRecycle(a, ECACHE_MUZZY, 0, size, alignment);
  if (e == 0) {
    e = allocGrow(a, 0, size, alignment);
    if (e != 0) aadd(a, A_PAC_MAPPED, size);
  }
  return e;
}

/** pa_alloc: an extent for a slab of bin `szind` or a large allocation of class `szind`. */
export function paAlloc(a: i32, size: u64, alignment: u64, slab: bool, szind: u32): u64 {
  const e = pacAllocReal(a, size, alignment);
  if (e == 0) return 0;
  aadd(a, A_NACTIVE, size >> LG_PAGE);
  setESzind(e, szind);
  setESlab(e, slab);
  if (slab) registerInterior(e);
  return e;
}

/**
 * arena_handle_deferred_work with dirty_decay_ms 0: every dirty extent is purged and retained (`paDecayAll`).
 */
function purgeDirty(a: i32): void {
  if (dirtyDecayMs == 0) paDecayAll(a);
}

/**
 * pac_decay_all, a full decay of arena `a`'s dirty extents (a full decay skips the muzzy state whatever
 * muzzy_decay_ms says): with opt.retain each is purged (MADV_DONTNEED) and retained, coalescing there; without
 * it each is unmapped, leaving a hole in the address space (extent_dalloc_wrapper).
 */
export function paDecayAll(a: i32): void {
  const ec = ecacheOf(a, ECACHE_DIRTY);
  while (ecacheCount(ec) > 0) {
    const e = esetAny(ec);
    esetRemove(ec, e);
    setEState(e, STATE_ACTIVE);
    ast(a, A_PAC_MAPPED, ald(a, A_PAC_MAPPED) - eSize(e));
    if (!optRetain) {
      extentUnmap(a, e);
      continue;
    }
    count(SYS_MADVISE, eSize(e));
    extentRecord(a, ECACHE_RETAINED, e);
  }
}

/** extent_dalloc_wrapper without opt.retain: the extent leaves the rtree and its pages go back to the kernel. */
function extentUnmap(a: i32, e: u64): void {
  deregisterBoundary(e);
  osUnmap(eBase(e), eSize(e));
  recordFree(e);
  edataPut(a);
}

/** pa_dalloc: the extent becomes dirty. */
export function paDalloc(a: i32, e: u64): void {
  if (eSlab(e)) deregisterInterior(e);
  setEAddr(e, eBase(e));
  setESzind(e, NO_SZIND);
  ast(a, A_NACTIVE, ald(a, A_NACTIVE) - (eSize(e) >> LG_PAGE));
  extentRecord(a, ECACHE_DIRTY, e);
  purgeDirty(a);
}

/** pa_expand: grows active `e` in place to `newSize` bytes; false when the pages after it are not free. */
export function paExpand(a: i32, e: u64, newSize: u64): bool {
  const amount = newSize - eSize(e);
  let trail = extentRecycle(a, ECACHE_DIRTY, e, amount, PAGE);
  if (trail == 0 && muzzyDecayMs != 0) trail = extentRecycle(a, ECACHE_MUZZY, e, amount, PAGE);
  let mapped = false;
  if (trail == 0) {
    trail = allocGrow(a, e, amount, PAGE);
    mapped = true;
  }
  if (trail == 0) return false;
  extentMerge(a, e, trail);
  if (mapped) aadd(a, A_PAC_MAPPED, amount);
  aadd(a, A_NACTIVE, amount >> LG_PAGE);
  return true;
}

/** pa_shrink: cuts active `e` to `newSize` bytes; the tail becomes dirty. */
export function paShrink(a: i32, e: u64, newSize: u64): void {
  const amount = eSize(e) - newSize;
  const trail = extentSplit(a, e, newSize);
  ast(a, A_NACTIVE, ald(a, A_NACTIVE) - (amount >> LG_PAGE));
  extentRecord(a, ECACHE_DIRTY, trail);
  purgeDirty(a);
}

