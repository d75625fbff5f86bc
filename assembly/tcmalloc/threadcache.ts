// Thread caches (thread_cache.cc/.h): per thread, one LIFO free list per size class whose links live in the
// free objects themselves, with slow-start list limits, a per-thread byte budget that grows by stealing, and
// Scavenge. Caches are allocated by the thread-cache allocator in metadata and linked in `thread_heaps_`.
//
//   ThreadCache (4224 bytes)
//   ╒══════════════════════════════════════════════════════════════════════════════════════╕
//   │ list_[128], 32 bytes each:                                                           │
//   │ ╒══════════╤════════╤═════════╤════════════╤══════════╤═════════════╤══════╕         │
//   │ │ head u64 │ len u32│ lowater │ max_length │ overages │ object size │ pad  │         │
//   │ ╘══════════╧════════╧═════════╧════════════╧══════════╧═════════════╧══════╛         │
//   ├──────────┬────────────┬───────┬───────┬──────────────┬───────────────────────────────┤
//   │ size_    │ max_size_  │ next_ │ prev_ │ thread index │ …                     at 4096 │
//   ╘══════════╧════════════╧═══════╧═══════╧══════════════╧═══════════════════════════════╛

import { ld64, st64, ld32, st32 } from "../common/vmem";
import { count, LOCK_CENTRAL, LOCK_PAGEHEAP } from "../common/counters";
import {
  gld, gst, gadd, ALLOC_THREADCACHE, G_UNCLAIMED, G_THREAD_HEAPS, G_NEXT_STEAL, G_HEAP_COUNT, G_THREAD_BYTES,
} from "./globals";
import { numClasses, classToSize, batchSize } from "./sizemap";
import { allocatorNew, allocatorDelete } from "./system";
import { removeRange, removedStart, removedEnd, insertRange } from "./central";

export const THREAD_CACHE_BYTES: u64 = 4224;
// @ts-ignore: decorator
@inline const STEAL_AMOUNT: i64 = 64 << 10;
// @ts-ignore: decorator
@inline const MIN_THREAD_CACHE_SIZE: i64 = 512 << 10;
// @ts-ignore: decorator
@inline const MAX_OVERAGES: u32 = 3;
// @ts-ignore: decorator
@inline const MAX_DYNAMIC_FREE_LIST_LENGTH: i32 = 8192;

/** TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES, clamped to [512 KiB, 1 GiB]. */
export let overallThreadCacheSize: i64 = 32 << 20;

export function setOverallThreadCacheSize(bytes: f64): void {
  let v = <i64>bytes;
  if (v < MIN_THREAD_CACHE_SIZE) v = MIN_THREAD_CACHE_SIZE;
  if (v > (1 << 30)) v = 1 << 30;
  overallThreadCacheSize = v;
}

// @ts-ignore: decorator
@inline export function freeList(tc: u64, cl: i32): u64 { return tc + (<u64>cl << 5); }
// @ts-ignore: decorator
@inline export function listHead(l: u64): u64 { return ld64(l); }
// @ts-ignore: decorator
@inline export function listLength(l: u64): u32 { return ld32(l + 8); }
// @ts-ignore: decorator
@inline function lowater(l: u64): u32 { return ld32(l + 12); }
// @ts-ignore: decorator
@inline function maxLength(l: u64): i32 { return <i32>ld32(l + 16); }
// @ts-ignore: decorator
@inline function setMaxLength(l: u64, v: i32): void { st32(l + 16, <u32>v); }
// @ts-ignore: decorator
@inline export function cacheSize(tc: u64): u64 { return ld64(tc + 4096); }
// @ts-ignore: decorator
@inline function addCacheSize(tc: u64, delta: i64): void {
  st64(tc + 4096, ld64(tc + 4096) + <u64>delta);
  gadd(G_THREAD_BYTES, <u64>delta);
}
// @ts-ignore: decorator
@inline export function cacheMaxSize(tc: u64): i64 { return <i64>ld64(tc + 4104); }
// @ts-ignore: decorator
@inline function setCacheMaxSize(tc: u64, v: i64): void { st64(tc + 4104, <u64>v); }
// @ts-ignore: decorator
@inline export function nextCache(tc: u64): u64 { return ld64(tc + 4112); }
// @ts-ignore: decorator
@inline function prevCache(tc: u64): u64 { return ld64(tc + 4120); }

/** IncreaseCacheLimitLocked: 64 KiB more budget, from the unclaimed pool or stolen from another cache. */
function increaseCacheLimitLocked(tc: u64): void {
  const unclaimed = <i64>gld(G_UNCLAIMED);
  if (unclaimed > 0) {
    gst(G_UNCLAIMED, <u64>(unclaimed - STEAL_AMOUNT));
    setCacheMaxSize(tc, cacheMaxSize(tc) + STEAL_AMOUNT);
    return;
  }
  let victim = gld(G_NEXT_STEAL);
  for (let i = 0; i < 10; i++, victim = nextCache(victim)) {
    if (victim == 0) victim = gld(G_THREAD_HEAPS);
    if (victim == tc || cacheMaxSize(victim) <= MIN_THREAD_CACHE_SIZE) continue;
    setCacheMaxSize(victim, cacheMaxSize(victim) - STEAL_AMOUNT);
    setCacheMaxSize(tc, cacheMaxSize(tc) + STEAL_AMOUNT);
    gst(G_NEXT_STEAL, nextCache(victim));
    return;
  }
  gst(G_NEXT_STEAL, victim);
}

/** NewHeap + ThreadCache::Init: a fresh cache for `thread`, first in the list of heaps. */
export function newHeap(thread: i32): u64 {
  count(LOCK_PAGEHEAP, 0);
  const tc = allocatorNew(ALLOC_THREADCACHE, THREAD_CACHE_BYTES);
  st64(tc + 4096, 0);
  setCacheMaxSize(tc, 0);
  increaseCacheLimitLocked(tc);
  if (cacheMaxSize(tc) == 0) {
    setCacheMaxSize(tc, MIN_THREAD_CACHE_SIZE);
    gst(G_UNCLAIMED, gld(G_UNCLAIMED) - <u64>MIN_THREAD_CACHE_SIZE);
  }
  const n = numClasses();
  for (let cl = 0; cl < n; cl++) {
    const l = freeList(tc, cl);
    st64(l, 0);
    st64(l + 8, 0);                               // length, lowater
    st64(l + 16, 1);                              // max_length 1, overages 0
    st64(l + 24, classToSize(cl));
  }
  st64(tc + 4128, <u64>thread);
  const head = gld(G_THREAD_HEAPS);
  st64(tc + 4112, head);
  st64(tc + 4120, 0);
  if (head != 0) st64(head + 4120, tc);
  else gst(G_NEXT_STEAL, tc);
  gst(G_THREAD_HEAPS, tc);
  gadd(G_HEAP_COUNT, 1);
  return tc;
}

/**
 * ThreadCache::DeleteCache, when a thread exits: Cleanup returns every list to the central cache, the cache leaves
 * the list of heaps (the steal cursor moves past it), its budget goes back to the unclaimed pool and its memory to
 * the thread-cache allocator's free list, which the next new thread's cache reuses.
 */
export function deleteCache(tc: u64): void {
  const n = numClasses();
  for (let cl = 0; cl < n; cl++) {
    const length = listLength(freeList(tc, cl));
    if (length > 0) releaseToCentralCache(tc, cl, <i32>length);
  }
  count(LOCK_PAGEHEAP, 0);
  const next = nextCache(tc);
  const prev = prevCache(tc);
  if (next != 0) st64(next + 4120, prev);
  if (prev != 0) st64(prev + 4112, next);
  if (gld(G_THREAD_HEAPS) == tc) gst(G_THREAD_HEAPS, next);
  gst(G_HEAP_COUNT, gld(G_HEAP_COUNT) - 1);
  if (gld(G_NEXT_STEAL) == tc) gst(G_NEXT_STEAL, next);
  if (gld(G_NEXT_STEAL) == 0) gst(G_NEXT_STEAL, gld(G_THREAD_HEAPS));
  gst(G_UNCLAIMED, gld(G_UNCLAIMED) + <u64>cacheMaxSize(tc));
  allocatorDelete(ALLOC_THREADCACHE, tc);
}

// @ts-ignore: decorator
@inline function push(l: u64, object: u64): u32 {
  st64(object, ld64(l));
  st64(l, object);
  const length = ld32(l + 8) + 1;
  st32(l + 8, length);
  return length;
}

/** PopRange: unlinks the first `n` objects; returns the first, leaves the last in `poppedEnd`. */
let poppedEnd: u64 = 0;
function popRange(l: u64, n: i32): u64 {
  const start = ld64(l);
  let tmp = start;
  for (let i = 1; i < n; i++) tmp = ld64(tmp);
  poppedEnd = tmp;
  st64(l, ld64(tmp));
  st64(tmp, 0);
  const length = ld32(l + 8) - <u32>n;
  st32(l + 8, length);
  if (length < lowater(l)) st32(l + 12, length);
  return start;
}

/** ReleaseToCentralCache: `n` objects back to the central list, in full batches first. */
function releaseToCentralCache(tc: u64, cl: i32, n: i32): void {
  const l = freeList(tc, cl);
  const length = <i32>listLength(l);
  if (n > length) n = length;
  const delta = <i64>n * <i64>classToSize(cl);
  const batch = batchSize(cl);
  while (n > batch) {
    const head = popRange(l, batch);
    insertRange(cl, head, poppedEnd, batch);
    n -= batch;
  }
  if (n > 0) {
    const head = popRange(l, n);
    insertRange(cl, head, poppedEnd, n);
  } else {
    count(LOCK_CENTRAL, 0); // InsertRange(NULL, NULL, 0) still takes the class lock
  }
  addCacheSize(tc, -delta);
}

function fetchFromCentralCache(tc: u64, cl: i32): u64 {
  const l = freeList(tc, cl);
  const batch = batchSize(cl);
  const want = min(maxLength(l), batch);
  let got = removeRange(cl, want);
  if (got == 0) return 0;
  const start = removedStart();
  if (--got > 0) {
    addCacheSize(tc, <i64>got * <i64>classToSize(cl));
    st64(removedEnd(), ld64(l));
    st64(l, ld64(start));
    st32(l + 8, ld32(l + 8) + <u32>got);
  }
  const max = maxLength(l);
  if (max < batch) {
    setMaxLength(l, max + 1);
  } else {
    let length = min(max + batch, MAX_DYNAMIC_FREE_LIST_LENGTH);
    length -= length % batch;
    setMaxLength(l, length);
  }
  return start;
}

/** ThreadCache::Allocate: pops the class's list, refilling it from the central list when empty. */
export function cacheAllocate(tc: u64, cl: i32): u64 {
  const l = freeList(tc, cl);
  const head = ld64(l);
  if (head == 0) return fetchFromCentralCache(tc, cl);
  st64(l, ld64(head));
  const length = ld32(l + 8) - 1;
  st32(l + 8, length);
  if (length < lowater(l)) st32(l + 12, length);
  addCacheSize(tc, -<i64>classToSize(cl));
  return head;
}

function listTooLong(tc: u64, cl: i32): void {
  const l = freeList(tc, cl);
  addCacheSize(tc, <i64>classToSize(cl));
  const batch = batchSize(cl);
  releaseToCentralCache(tc, cl, batch);
  const max = maxLength(l);
  if (max < batch) {
    setMaxLength(l, max + 1);
  } else if (max > batch) {
    const overages = ld32(l + 20) + 1;
    if (overages > MAX_OVERAGES) {
      setMaxLength(l, max - batch);
      st32(l + 20, 0);
    } else {
      st32(l + 20, overages);
    }
  }
  if (<i64>cacheSize(tc) > cacheMaxSize(tc)) scavenge(tc);
}

/** ThreadCache::Deallocate: pushes the object; a list over its limit or a cache over budget gives back. */
export function cacheDeallocate(tc: u64, object: u64, cl: i32): void {
  const l = freeList(tc, cl);
  const length = push(l, object);
  if (<i32>length > maxLength(l)) {
    listTooLong(tc, cl);
    return;
  }
  addCacheSize(tc, <i64>classToSize(cl));
  if (<i64>cacheSize(tc) > cacheMaxSize(tc)) scavenge(tc);
}

/** Scavenge: each list gives back half its low-water mark; then the budget grows by one step. */
export function scavenge(tc: u64): void {
  const n = numClasses();
  for (let cl = 0; cl < n; cl++) {
    const l = freeList(tc, cl);
    const low = <i32>lowater(l);
    if (low > 0) {
      releaseToCentralCache(tc, cl, low > 1 ? low / 2 : 1);
      const batch = batchSize(cl);
      const max = maxLength(l);
      if (max > batch) setMaxLength(l, max - batch > batch ? max - batch : batch);
    }
    st32(l + 12, ld32(l + 8));
  }
  count(LOCK_PAGEHEAP, 0);
  increaseCacheLimitLocked(tc);
}
