// The page heap (page_heap.cc): free spans by exact length 1 … 128 pages (LIFO lists, committed "normal" and
// released "returned" ones apart) and two sets of longer spans ordered by (length, start) for best fit. It
// grows from the system allocator, coalesces on Delete, and returns memory to the OS at a pace set by the
// volume of pages passing through Delete.
//
//   FREE_LISTS (sentinel spans, 48 bytes each)
//   ┌────────────┬──────────────┬────────────┬──────────────┬─────┬──────────────┬────────────────┐
//   │ 1 normal   │ 1 returned   │ 2 normal   │ 2 returned   │ …   │ large normal │ large returned │
//   └────────────┴──────────────┴────────────┴──────────────┴─────┴──────────────┴────────────────┘
//   The large sets are kept as lists sorted by (length, start); each member owns one set node in metadata.

import { count, SYS_MADVISE } from "../common/counters";
import { metricsRelease } from "../common/metrics";
import {
  gld, gst, gadd, FREE_LISTS, ALLOC_SETNODE, ALLOC_STACKTRACE, STACKTRACE_BYTES, G_SETNODE_READY, G_SYSTEM_BYTES,
  G_FREE_BYTES, G_UNMAPPED_BYTES, G_COMMITTED_BYTES, G_SCAVENGE_COUNT, G_COMMIT_COUNT, G_TOTAL_COMMIT_BYTES, G_DECOMMIT_COUNT,
  G_TOTAL_DECOMMIT_BYTES, G_RESERVE_COUNT, G_TOTAL_RESERVE_BYTES, G_SCAVENGE_COUNTER, G_RELEASE_INDEX,
  G_SYSTEM_TAKEN,
} from "./globals";
import { PAGE_SHIFT, MAX_PAGES } from "./sizemap";
import {
  SPAN_BYTES, IN_USE, ON_NORMAL_FREELIST, ON_RETURNED_FREELIST, spanStart, setSpanStart, spanLength,
  setSpanLength, spanNext, spanPrev, spanObjects, setSpanObjects, setSpanClass, spanLocation, setSpanLocation,
  newSpan, deleteSpan, dllInit, dllIsEmpty, dllRemove, dllPrepend, dllInsertBefore,
} from "./span";
import { pagemapGet, pagemapSet, pagemapEnsure } from "./pagemap";
import { systemAlloc, lastActualSize, allocatorNew, allocatorDelete, allocatorInit } from "./system";

// @ts-ignore: decorator
@inline const DEFAULT_RELEASE_DELAY: i64 = 1 << 18;
// @ts-ignore: decorator
@inline const MAX_RELEASE_DELAY: f64 = <f64>(1 << 20);
// @ts-ignore: decorator
@inline const FORCED_COALESCE_INTERVAL: u64 = 128 << 20;
// @ts-ignore: decorator
@inline const MIN_SYSTEM_ALLOC: u64 = MAX_PAGES;
// @ts-ignore: decorator
@inline const SETNODE_BYTES: u64 = 48;
// @ts-ignore: decorator
@inline const MAX_VALID_PAGES: u64 = <u64>1 << 35;

/** TCMALLOC_RELEASE_RATE. */
export let releaseRate: f64 = 1.0;
/** TCMALLOC_HEAP_LIMIT_MB. */
export let heapLimitMb: f64 = 0;
/** TCMALLOC_AGGRESSIVE_DECOMMIT. */
export let aggressiveDecommit: bool = false;
/** False while the library's flags (release rate, heap limit) still read 0: its dynamic initialisers have not
 * run when libstdc++'s constructor makes the first allocation. */
let flagsLive: bool = false;

export function setReleaseRate(v: f64): void { releaseRate = v; }
export function setHeapLimitMb(v: f64): void { heapLimitMb = v; }
export function setAggressiveDecommit(v: bool): void { aggressiveDecommit = v; }
export function setFlagsLive(): void { flagsLive = true; }

// @ts-ignore: decorator
@inline function normalList(length: u64): u64 { return FREE_LISTS + ((length - 1) << 1) * SPAN_BYTES; }
// @ts-ignore: decorator
@inline function returnedList(length: u64): u64 { return FREE_LISTS + (((length - 1) << 1) + 1) * SPAN_BYTES; }
// @ts-ignore: decorator
@inline export function largeNormal(): u64 { return FREE_LISTS + (MAX_PAGES << 1) * SPAN_BYTES; }
// @ts-ignore: decorator
@inline export function largeReturned(): u64 { return FREE_LISTS + ((MAX_PAGES << 1) + 1) * SPAN_BYTES; }

/** The normal (committed) free list of spans of exactly `length` pages. */
export function smallNormalList(length: u64): u64 { return normalList(length); }
/** The returned (released) free list of spans of exactly `length` pages. */
export function smallReturnedList(length: u64): u64 { return returnedList(length); }

/** The PageHeap constructor: empty lists and sets, the scavenge counter at 0, release index at 128. */
export function pageHeapInit(): void {
  for (let i: u64 = 1; i <= MAX_PAGES; i++) {
    dllInit(normalList(i));
    dllInit(returnedList(i));
  }
  dllInit(largeNormal());
  dllInit(largeReturned());
  gst(G_RELEASE_INDEX, MAX_PAGES);
}

// @ts-ignore: decorator
@inline export function getDescriptor(p: u64): u64 {
  return pagemapGet(p);
}

function recordSpan(s: u64): void {
  pagemapSet(spanStart(s), s);
  if (spanLength(s) > 1) pagemapSet(spanStart(s) + spanLength(s) - 1, s);
}

// ── large sets ───────────────────────────────────────────────────────────────────────────────────────────

// @ts-ignore: decorator
@inline function setLess(aLength: u64, aStart: u64, b: u64): bool {
  const bLength = spanLength(b);
  return aLength < bLength || (aLength == bLength && aStart < spanStart(b));
}

function setInsert(set: u64, s: u64): void {
  if (gld(G_SETNODE_READY) == 0) {
    allocatorInit(ALLOC_SETNODE, SETNODE_BYTES);
    gst(G_SETNODE_READY, 1);
  }
  setSpanObjects(s, allocatorNew(ALLOC_SETNODE, SETNODE_BYTES));
  const length = spanLength(s);
  const start = spanStart(s);
  let at = spanNext(set);
  while (at != set && !setLess(length, start, at)) at = spanNext(at);
  dllInsertBefore(at, s);
}

function setErase(s: u64): void {
  allocatorDelete(ALLOC_SETNODE, spanObjects(s));
  setSpanObjects(s, 0);
  dllRemove(s);
}

/** The first member of `set` with length ≥ n (upper_bound of (n, start 0)), or 0. */
function setLowerBound(set: u64, n: u64): u64 {
  for (let at = spanNext(set); at != set; at = spanNext(at)) {
    if (spanLength(at) >= n) return at;
  }
  return 0;
}

// ── free lists ───────────────────────────────────────────────────────────────────────────────────────────

function prependToFreeList(s: u64): void {
  const length = spanLength(s);
  const normal = spanLocation(s) == ON_NORMAL_FREELIST;
  gadd(normal ? G_FREE_BYTES : G_UNMAPPED_BYTES, length << PAGE_SHIFT);
  if (length > MAX_PAGES) {
    setInsert(normal ? largeNormal() : largeReturned(), s);
    return;
  }
  dllPrepend(normal ? normalList(length) : returnedList(length), s);
}

function removeFromFreeList(s: u64): void {
  const length = spanLength(s);
  gadd(spanLocation(s) == ON_NORMAL_FREELIST ? G_FREE_BYTES : G_UNMAPPED_BYTES, 0 - (length << PAGE_SHIFT));
  if (length > MAX_PAGES) setErase(s);
  else dllRemove(s);
}

function commitSpan(s: u64): void {
  gadd(G_COMMIT_COUNT, 1);
  gadd(G_COMMITTED_BYTES, spanLength(s) << PAGE_SHIFT);
  gadd(G_TOTAL_COMMIT_BYTES, spanLength(s) << PAGE_SHIFT);
}

function decommitSpan(s: u64): bool {
  gadd(G_DECOMMIT_COUNT, 1);
  const bytes = spanLength(s) << PAGE_SHIFT;
  count(SYS_MADVISE, bytes);
  metricsRelease(spanStart(s) << PAGE_SHIFT, bytes);
  gadd(G_COMMITTED_BYTES, 0 - bytes);
  gadd(G_TOTAL_DECOMMIT_BYTES, bytes);
  return true;
}

/** Takes `s` off its free list and keeps its low `n` pages; the tail goes back with the same state. */
function carve(s: u64, n: u64): u64 {
  const oldLocation = spanLocation(s);
  removeFromFreeList(s);
  setSpanLocation(s, IN_USE);
  const extra = spanLength(s) - n;
  if (extra > 0) {
    const leftover = newSpan(spanStart(s) + n, extra);
    setSpanLocation(leftover, oldLocation);
    recordSpan(leftover);
    prependToFreeList(leftover);
    setSpanLength(s, n);
    pagemapSet(spanStart(s) + n - 1, s);
  }
  if (oldLocation == ON_RETURNED_FREELIST) commitSpan(s);
  return s;
}

function ensureLimit(n: u64, withRelease: bool): bool {
  const limit = flagsLive ? <u64>(heapLimitMb * 1048576.0) >> PAGE_SHIFT : 0;
  if (limit == 0) return true;
  let taken = (gld(G_SYSTEM_TAKEN) >> PAGE_SHIFT) - (gld(G_UNMAPPED_BYTES) >> PAGE_SHIFT);
  if (taken + n > limit && withRelease) taken -= releaseAtLeastNPages(taken + n - limit);
  return taken + n <= limit;
}

function allocLarge(n: u64): u64 {
  const bestNormal = setLowerBound(largeNormal(), n);
  let best = bestNormal;
  const c = setLowerBound(largeReturned(), n);
  if (c != 0) {
    if (bestNormal == 0 || spanLength(c) < spanLength(best)
      || (spanLength(c) == spanLength(best) && spanStart(c) < spanStart(best))) best = c;
  }
  if (best == bestNormal) return best == 0 ? 0 : carve(best, n);
  if (ensureLimit(n, false)) return carve(best, n);
  if (ensureLimit(n, true)) return allocLarge(n);
  return 0;
}

function searchFreeAndLargeLists(n: u64): u64 {
  for (let s = n; s <= MAX_PAGES; s++) {
    let list = normalList(s);
    if (!dllIsEmpty(list)) return carve(spanNext(list), n);
    list = returnedList(s);
    if (!dllIsEmpty(list) && ensureLimit(n, true) && !dllIsEmpty(list)) return carve(spanNext(list), n);
  }
  return allocLarge(n);
}

/** PageHeap::New: an in-use span of exactly `n` pages, growing the heap if needed; 0 when out of memory. */
export function pageHeapNew(n: u64): u64 {
  let result = searchFreeAndLargeLists(n);
  if (result != 0) return result;
  const freeBytes = gld(G_FREE_BYTES);
  const unmapped = gld(G_UNMAPPED_BYTES);
  const system = gld(G_SYSTEM_BYTES);
  if (freeBytes != 0 && unmapped != 0 && freeBytes + unmapped >= system / 4
    && system / FORCED_COALESCE_INTERVAL != (system + (n << PAGE_SHIFT)) / FORCED_COALESCE_INTERVAL) {
    releaseAtLeastNPages(0x7fffffff);
    result = searchFreeAndLargeLists(n);
    if (result != 0) return result;
  }
  if (!growHeap(n)) return 0;
  return searchFreeAndLargeLists(n);
}

/** Split: cuts in-use span `s` after `n` pages and returns the in-use remainder. */
export function pageHeapSplit(s: u64, n: u64): u64 {
  const extra = spanLength(s) - n;
  const leftover = newSpan(spanStart(s) + n, extra);
  recordSpan(leftover);
  pagemapSet(spanStart(s) + n - 1, s);
  setSpanLength(s, n);
  return leftover;
}

// @ts-ignore: decorator
@inline function mergeCandidate(s: u64, other: u64): u64 {
  if (other == 0) return 0;
  const location = spanLocation(other);
  if (location == IN_USE) return 0;
  if (aggressiveDecommit && location == ON_NORMAL_FREELIST && spanLocation(s) == ON_RETURNED_FREELIST) {
    if (!decommitSpan(other)) return 0;
  } else if (location != spanLocation(s)) {
    return 0;
  }
  removeFromFreeList(other);
  return other;
}

function mergeIntoFreeList(s: u64): void {
  const p = spanStart(s);
  const n = spanLength(s);
  if (aggressiveDecommit && spanLocation(s) == ON_NORMAL_FREELIST) {
    if (decommitSpan(s)) setSpanLocation(s, ON_RETURNED_FREELIST);
  }
  const prev = mergeCandidate(s, getDescriptor(p - 1));
  if (prev != 0) {
    const length = spanLength(prev);
    deleteSpan(prev);
    setSpanStart(s, spanStart(s) - length);
    setSpanLength(s, spanLength(s) + length);
    pagemapSet(spanStart(s), s);
  }
  const next = mergeCandidate(s, getDescriptor(p + n));
  if (next != 0) {
    const length = spanLength(next);
    deleteSpan(next);
    setSpanLength(s, spanLength(s) + length);
    pagemapSet(spanStart(s) + spanLength(s) - 1, s);
  }
  prependToFreeList(s);
}

/** PageHeap::Delete: frees in-use span `s`, coalescing with free neighbours of the same state. */
export function pageHeapDelete(s: u64): void {
  const n = spanLength(s);
  setSpanClass(s, 0);
  setSpanLocation(s, ON_NORMAL_FREELIST);
  mergeIntoFreeList(s);
  incrementalScavenge(n);
}

function incrementalScavenge(n: u64): void {
  const counter = <i64>gld(G_SCAVENGE_COUNTER) - <i64>n;
  gst(G_SCAVENGE_COUNTER, <u64>counter);
  if (counter >= 0) return;
  const rate = flagsLive ? releaseRate : 0.0;
  if (rate <= 1e-6) {
    gst(G_SCAVENGE_COUNTER, <u64>DEFAULT_RELEASE_DELAY);
    return;
  }
  gadd(G_SCAVENGE_COUNT, 1);
  const released = releaseAtLeastNPages(1);
  if (released == 0) {
    gst(G_SCAVENGE_COUNTER, <u64>DEFAULT_RELEASE_DELAY);
  } else {
    let wait = (1000.0 / rate) * <f64>released;
    if (wait > MAX_RELEASE_DELAY) wait = MAX_RELEASE_DELAY;
    gst(G_SCAVENGE_COUNTER, <u64><i64>wait);
  }
}

function releaseSpan(s: u64): u64 {
  if (!decommitSpan(s)) return 0;
  removeFromFreeList(s);
  const n = spanLength(s);
  setSpanLocation(s, ON_RETURNED_FREELIST);
  mergeIntoFreeList(s);
  return n;
}

/** ReleaseAtLeastNPages: releases whole spans round robin over the lengths until `pages` are returned. */
export function releaseAtLeastNPages(pages: u64): u64 {
  let released: u64 = 0;
  while (released < pages && gld(G_FREE_BYTES) > 0) {
    let index = gld(G_RELEASE_INDEX);
    for (let i: u64 = 0; i < MAX_PAGES + 1 && released < pages; i++, index++) {
      if (index > MAX_PAGES) index = 0;
      let s: u64;
      if (index == MAX_PAGES) {
        const set = largeNormal();
        if (dllIsEmpty(set)) continue;
        s = spanNext(set);
      } else {
        const list = normalList(index + 1);
        if (dllIsEmpty(list)) continue;
        s = spanPrev(list);
      }
      gst(G_RELEASE_INDEX, index);
      const length = releaseSpan(s);
      if (length == 0) return released;
      released += length;
    }
    gst(G_RELEASE_INDEX, index);
  }
  return released;
}

/** RegisterSizeClass: the span serves class `cl`; every page maps to it. */
export function registerSizeClass(s: u64, cl: i32): void {
  setSpanClass(s, cl);
  const start = spanStart(s);
  const length = spanLength(s);
  for (let i: u64 = 1; i + 1 < length; i++) pagemapSet(start + i, s);
}

function growHeap(n: u64): bool {
  if (n > MAX_VALID_PAGES) return false;
  let ask = n > MIN_SYSTEM_ALLOC ? n : MIN_SYSTEM_ALLOC;
  let ptr: u64 = 0;
  if (ensureLimit(ask, true)) ptr = systemAlloc(ask << PAGE_SHIFT, 1 << PAGE_SHIFT);
  if (ptr == 0) {
    if (n < ask) {
      ask = n;
      if (ensureLimit(ask, true)) ptr = systemAlloc(ask << PAGE_SHIFT, 1 << PAGE_SHIFT);
    }
    if (ptr == 0) return false;
  }
  ask = lastActualSize() >> PAGE_SHIFT;
  allocatorNew(ALLOC_STACKTRACE, STACKTRACE_BYTES); // RecordGrowth keeps a stack trace per growth
  gadd(G_RESERVE_COUNT, 1);
  gadd(G_COMMIT_COUNT, 1);
  const bytes = ask << PAGE_SHIFT;
  gadd(G_SYSTEM_BYTES, bytes);
  gadd(G_COMMITTED_BYTES, bytes);
  gadd(G_TOTAL_COMMIT_BYTES, bytes);
  gadd(G_TOTAL_RESERVE_BYTES, bytes);
  const p = ptr >> PAGE_SHIFT;
  if (!pagemapEnsure(p - 1, ask + 2)) return false;
  const s = newSpan(p, ask);
  recordSpan(s);
  pageHeapDelete(s);
  return true;
}
