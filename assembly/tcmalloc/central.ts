// Central free lists (central_freelist.cc), one per size class: the spans of the class that still have free
// objects (`nonempty`, most recently refilled or freed-into first) and those without (`empty`). Objects move
// between thread caches and the central lists in batches; full batches may rest in the transfer cache
// (transfer.ts) instead of going back to their spans.
//
//   CentralFreeList at CENTRAL_BASE + class × CENTRAL_STRIDE
//   ╒══════════════════════╤══════════════════════╤═════════╤═══════════╤════════════╤════════════╤═══════════╕
//   │ empty sentinel (48)  │ nonempty sentinel(48)│ counter │ num_spans │ used_slots │ cache_size │ max_cache │
//   ╞══════════════════════╧══════════════════════╧═════════╧═══════════╧════════════╧════════════╧═══════════╡
//   │ transfer slots: 64 × (head, tail)                                                          at + 136    │
//   ╘═══════════════════════════════════════════════════════════════════════════════════════════════════════╛

import { ld64, st64 } from "../common/vmem";
import { count, LOCK_CENTRAL, LOCK_PAGEHEAP } from "../common/counters";
import { CENTRAL_BASE, CENTRAL_STRIDE, gadd, G_CENTRAL_FREE_BYTES, G_SPAN_TAIL_BYTES } from "./globals";
import { PAGE_SHIFT, classToSize, classToPages, batchSize } from "./sizemap";
import {
  SPAN_BYTES, spanStart, spanLength, spanNext, spanObjects, setSpanObjects, spanRefcount, setSpanRefcount,
  dllInit, dllIsEmpty, dllRemove, dllPrepend,
} from "./span";
import { pageHeapNew, pageHeapDelete, registerSizeClass, getDescriptor } from "./pageheap";
import { setCachedClass } from "./pagemap";
import {
  transferInit, transferPush, transferPop, transferUsed, removedTransferStart, removedTransferEnd,
} from "./transfer";

// @ts-ignore: decorator
@inline export function central(cl: i32): u64 { return CENTRAL_BASE + <u64>cl * CENTRAL_STRIDE; }
// @ts-ignore: decorator
@inline export function emptyList(c: u64): u64 { return c; }
// @ts-ignore: decorator
@inline export function nonemptyList(c: u64): u64 { return c + SPAN_BYTES; }
// @ts-ignore: decorator
@inline export function centralCounter(c: u64): u64 { return ld64(c + 96); }
// @ts-ignore: decorator
@inline function addCounter(c: u64, delta: i64): void {
  st64(c + 96, ld64(c + 96) + <u64>delta);
  gadd(G_CENTRAL_FREE_BYTES, <u64>delta * classToSize(classOf(c)));
}
// @ts-ignore: decorator
@inline export function centralSpans(c: u64): u64 { return ld64(c + 104); }
// @ts-ignore: decorator
@inline function addSpans(c: u64, delta: i64): void {
  st64(c + 104, ld64(c + 104) + <u64>delta);
  gadd(G_SPAN_TAIL_BYTES, <u64>delta * spanTail(classOf(c)));
}
/** The class whose central list is at `c`. */
// @ts-ignore: decorator
@inline function classOf(c: u64): i32 { return <i32>((c - CENTRAL_BASE) / CENTRAL_STRIDE); }
/** The bytes at the end of a span of class `cl` that no object fits in. */
// @ts-ignore: decorator
@inline function spanTail(cl: i32): u64 { return (classToPages(cl) << PAGE_SHIFT) % classToSize(cl); }

/** CentralFreeList::Init for class `cl`. */
export function centralInit(cl: i32): void {
  const c = central(cl);
  dllInit(emptyList(c));
  dllInit(nonemptyList(c));
  transferInit(cl);
}

/** Returns one object to its span; a span whose objects are all free goes back to the page heap. */
export function releaseToSpans(cl: i32, object: u64): void {
  const c = central(cl);
  const s = getDescriptor(object >> PAGE_SHIFT);
  if (spanObjects(s) == 0) {
    dllRemove(s);
    dllPrepend(nonemptyList(c), s);
  }
  addCounter(c, 1);
  const refcount = spanRefcount(s) - 1;
  setSpanRefcount(s, refcount);
  if (refcount == 0) {
    addCounter(c, -<i64>((spanLength(s) << PAGE_SHIFT) / classToSize(cl)));
    dllRemove(s);
    addSpans(c, -1);
    count(LOCK_PAGEHEAP, 0);
    pageHeapDelete(s);
    count(LOCK_CENTRAL, 0);
  } else {
    st64(object, spanObjects(s));
    setSpanObjects(s, object);
  }
}

/** ReleaseListToSpans: every object of the null-terminated list `start` back to its span. */
export function releaseListToSpans(cl: i32, start: u64): void {
  while (start != 0) {
    const next = ld64(start);
    releaseToSpans(cl, start);
    start = next;
  }
}

/** InsertRange: a full batch rests in the transfer cache when there is room, anything else goes to spans. */
export function insertRange(cl: i32, start: u64, end: u64, n: i32): void {
  count(LOCK_CENTRAL, 0);
  if (n == batchSize(cl) && transferPush(cl, start, end)) return;
  releaseListToSpans(cl, start);
}

// Results of removeRange / fetchFromOneSpans (the library's out-parameters).
let rangeStart: u64 = 0;
let rangeEnd: u64 = 0;

// @ts-ignore: decorator
@inline export function removedStart(): u64 { return rangeStart; }
// @ts-ignore: decorator
@inline export function removedEnd(): u64 { return rangeEnd; }

function fetchFromOneSpans(c: u64, n: i32): i32 {
  const nonempty = nonemptyList(c);
  if (dllIsEmpty(nonempty)) return 0;
  const s = spanNext(nonempty);
  let result = 0;
  let prev: u64 = 0;
  let curr = spanObjects(s);
  do {
    prev = curr;
    curr = ld64(curr);
  } while (++result < n && curr != 0);
  if (curr == 0) {
    dllRemove(s);
    dllPrepend(emptyList(c), s);
  }
  rangeStart = spanObjects(s);
  rangeEnd = prev;
  setSpanObjects(s, curr);
  st64(prev, 0);
  setSpanRefcount(s, spanRefcount(s) + <u32>result);
  addCounter(c, -<i64>result);
  return result;
}

/** Populate: one new span from the page heap, cut into objects linked in address order. */
function populate(cl: i32): void {
  const c = central(cl);
  const pages = classToPages(cl);
  count(LOCK_PAGEHEAP, 0);
  const s = pageHeapNew(pages);
  count(LOCK_CENTRAL, 0);
  if (s == 0) return;
  registerSizeClass(s, cl);
  for (let i: u64 = 0; i < pages; i++) setCachedClass(spanStart(s) + i, cl);
  const size = classToSize(cl);
  let ptr = spanStart(s) << PAGE_SHIFT;
  const limit = ptr + (pages << PAGE_SHIFT);
  let tail = s + 32; // &span->objects
  let num: i64 = 0;
  while (ptr + size <= limit) {
    st64(tail, ptr);
    tail = ptr;
    ptr += size;
    num++;
  }
  st64(tail, 0);
  setSpanRefcount(s, 0);
  dllPrepend(nonemptyList(c), s);
  addSpans(c, 1);
  addCounter(c, num);
}

/**
 * RemoveRange: up to `n` objects for a thread cache (a full batch from the transfer cache when it has one),
 * linked from removedStart() to removedEnd(); returns how many (0 when the page heap is out of memory).
 */
export function removeRange(cl: i32, n: i32): i32 {
  count(LOCK_CENTRAL, 0);
  if (n == batchSize(cl) && transferUsed(cl) > 0) {
    transferPop(cl);
    rangeStart = removedTransferStart();
    rangeEnd = removedTransferEnd();
    return n;
  }
  const c = central(cl);
  let result = fetchFromOneSpans(c, n);
  if (result == 0) {
    populate(cl);
    result = fetchFromOneSpans(c, n);
  }
  if (result == 0) {
    rangeStart = 0;
    rangeEnd = 0;
    return 0;
  }
  let start = rangeStart;
  let end = rangeEnd;
  while (result < n) {
    const got = fetchFromOneSpans(c, n - result);
    if (got == 0) break;
    result += got;
    st64(rangeEnd, start); // SLL_PushRange: the new range goes in front
    start = rangeStart;
  }
  rangeStart = start;
  rangeEnd = end;
  return result;
}

/** Free objects of class `cl` inside its spans (counter_). */
export function centralFreeObjects(cl: i32): u64 {
  return centralCounter(central(cl));
}

/** Unusable span tails of class `cl` (OverheadBytes). */
export function centralOverheadBytes(cl: i32): u64 {
  if (cl == 0) return 0;
  return centralSpans(central(cl)) * spanTail(cl);
}
