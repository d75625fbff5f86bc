// Heaps (heap.c, page-queue.c, the page-finding half of page.c): one per thread, with the thread-local data
// (tld) of its segments, in simulated memory at HEAPS_BASE + HEAP_STRIDE × thread.
//
//   heap + tld (model layout; the real ones sit in memory mimalloc maps without a hint, which no address line sees)
//   ┌──────────────────────────────────────────┐ +0     page queues: 75 × (first, last): bins 0 … 72, 73 huge
//   │                                          │        (large and huge pages), 74 full pages
//   ├──────────────────────────────────────────┤ +1280  span queues: 36 × (first, last), free spans by slice bin
//   │                                          │        (bins 0 … 31 hold the spans of a 512-slice segment)
//   ├──────────────────────────────────────────┤ +1856  thread_delayed_free, page_count, page_retired_min/max,
//   │                                          │        initialized, heartbeat, segment count, segment bytes
//   └──────────────────────────────────────────┘
//
// A queue holds the pages of one block size; a new page goes to the front and is used first. A page whose free
// list and capacity are exhausted moves to the full queue, and back to the end of its own queue when one of its
// blocks is freed. An empty page is freed at once, unless it is the only page of its queue: then it is "retired"
// for a few rounds (8 for small blocks, 2 for medium) and freed only if still unused when the heap next runs
// out of pages in some queue.

import { ld64, st64 } from "../common/vmem";
import { HEAPS_BASE, HEAP_STRIDE, gadd, G_THREADS, G_PAGES_RETIRE_DELAYED, G_SEARCHES, G_HUGE_COUNT,
  G_LARGE_COUNT } from "./globals";
import { binOf, binSize, BIN_HUGE, BIN_FULL, SMALL_OBJ_SIZE_MAX, MEDIUM_OBJ_SIZE_MAX, LARGE_OBJ_SIZE_MAX } from "./bins";
import {
  freeList, used, xblockSize, isInFull, setInFull, setHasAligned, pageNext, setPageNext, pagePrev, setPagePrev,
  setPageHeap, pageHeap, retireExpire, setRetireExpire, capacity, reserved, freeCollect, extendFree, pageInit,
  blockSize, blockNext, delayedState, setDelayedState, USE_DELAYED_FREE, NEVER_DELAYED_FREE,
} from "./page";
import {
  segmentsPageAlloc, hugePageAlloc, segmentPageFree, pageOf, cacheFreeAll, MEDIUM_PAGE_SIZE, ALIGNMENT_MAX,
  segmentPageAbandon, abandonedCollect,
} from "./segment";
import { goodAllocSize, SEGMENT_SIZE } from "./os";
import { HUGE_BLOCK_SIZE } from "./page";
import { freeBlock } from "./free";

// @ts-ignore: decorator
@inline const SPANS: u64 = 1280;
// @ts-ignore: decorator
@inline export const T_DELAYED_FREE: u64 = 1856;
// @ts-ignore: decorator
@inline export const T_PAGE_COUNT: u64 = 1864;
// @ts-ignore: decorator
@inline const T_RETIRED_MIN: u64 = 1872;
// @ts-ignore: decorator
@inline const T_RETIRED_MAX: u64 = 1880;
// @ts-ignore: decorator
@inline const T_INITIALIZED: u64 = 1888;
// @ts-ignore: decorator
@inline export const T_HEARTBEAT: u64 = 1896;
// @ts-ignore: decorator
@inline export const T_SEGMENT_COUNT: u64 = 1904;
// @ts-ignore: decorator
@inline export const T_SEGMENT_SIZE: u64 = 1912;

// @ts-ignore: decorator
@inline const RETIRE_CYCLES: u32 = 8;

/** The heap (and tld) of thread `thread`. */
// @ts-ignore: decorator
@inline export function heapOf(thread: i32): u64 { return HEAPS_BASE + <u64>thread * HEAP_STRIDE; }
/** The thread a heap belongs to. */
// @ts-ignore: decorator
@inline export function heapThread(heap: u64): u64 { return (heap - HEAPS_BASE) / HEAP_STRIDE; }
/** Page queue `bin` of `heap`: first, last. */
// @ts-ignore: decorator
@inline export function queue(heap: u64, bin: i32): u64 { return heap + (<u64>bin << 4); }
/** Span queue `bin` of the tld: first, last. */
// @ts-ignore: decorator
@inline export function spanQueue(tld: u64, bin: i32): u64 { return tld + SPANS + (<u64>bin << 4); }
// @ts-ignore: decorator
@inline export function queueFirst(q: u64): u64 { return ld64(q); }
// @ts-ignore: decorator
@inline export function queueLast(q: u64): u64 { return ld64(q + 8); }
// @ts-ignore: decorator
@inline function queueBin(heap: u64, q: u64): i32 { return <i32>((q - heap) >> 4); }

/** Adds `delta` (two's complement) to a tld counter. */
export function tldAdd(tld: u64, field: u64, delta: u64): void {
  st64(tld + field, ld64(tld + field) + delta);
}

/** The queue a page belongs in: full, or its block size's bin. */
export function queueOfPage(heap: u64, page: u64): u64 {
  return queue(heap, isInFull(page) ? BIN_FULL : binOf(xblockSize(page)));
}

/** True for the huge and full queues, whose pages are never retired. */
// @ts-ignore: decorator
@inline function isSpecial(heap: u64, q: u64): bool { return queueBin(heap, q) >= BIN_HUGE; }

/** mi_page_queue_push: `page` goes to the front of `q`. */
function queuePush(heap: u64, q: u64, page: u64): void {
  setInFull(page, queueBin(heap, q) == BIN_FULL);
  const first = queueFirst(q);
  setPageNext(page, first);
  setPagePrev(page, 0);
  if (first != 0) setPagePrev(first, page);
  else st64(q + 8, page);
  st64(q, page);
  tldAdd(heap, T_PAGE_COUNT, 1);
}

/** Takes `page` out of queue `q`'s links (its own links are left to the caller). */
function unlink(q: u64, page: u64): void {
  const prev = pagePrev(page);
  const next = pageNext(page);
  if (prev != 0) setPageNext(prev, next);
  if (next != 0) setPagePrev(next, prev);
  if (page == queueLast(q)) st64(q + 8, prev);
  if (page == queueFirst(q)) st64(q, next);
}

/** mi_page_queue_remove. */
function queueRemove(heap: u64, q: u64, page: u64): void {
  unlink(q, page);
  tldAdd(heap, T_PAGE_COUNT, -1);
  setPageNext(page, 0);
  setPagePrev(page, 0);
  setInFull(page, false);
}

/** mi_page_queue_enqueue_from: `page` moves from `from` to the end of `to`. */
function enqueueFrom(heap: u64, to: u64, from: u64, page: u64): void {
  unlink(from, page);
  const last = queueLast(to);
  setPagePrev(page, last);
  setPageNext(page, 0);
  if (last != 0) setPageNext(last, page);
  else st64(to, page);
  st64(to + 8, page);
  setInFull(page, queueBin(heap, to) == BIN_FULL);
}

/** _mi_page_free: an empty page leaves its queue and goes back to its segment. */
function pageFree(heap: u64, q: u64, page: u64): void {
  setHasAligned(page, false);
  queueRemove(heap, q, page);
  setPageHeap(page, 0);
  segmentPageFree(heap, page);
}

/** _mi_page_retire: the last block of `page` was freed. */
export function pageRetire(page: u64): void {
  setHasAligned(page, false);
  const heap = pageHeap(page);
  const q = queueOfPage(heap, page);
  const xblock = xblockSize(page);
  if (xblock <= MEDIUM_OBJ_SIZE_MAX && !isSpecial(heap, q) && queueFirst(q) == page && queueLast(q) == page) {
    gadd(G_PAGES_RETIRE_DELAYED, 1);
    setRetireExpire(page, 1 + (xblock <= SMALL_OBJ_SIZE_MAX ? RETIRE_CYCLES : RETIRE_CYCLES / 4));
    const bin = <u64>queueBin(heap, q);
    if (bin < ld64(heap + T_RETIRED_MIN)) st64(heap + T_RETIRED_MIN, bin);
    if (bin > ld64(heap + T_RETIRED_MAX)) st64(heap + T_RETIRED_MAX, bin);
    return;
  }
  pageFree(heap, q, page);
}

/** _mi_heap_collect_retired: retired pages still empty count down, and go when their count runs out. */
function collectRetired(heap: u64, force: bool): void {
  let min = <u64>BIN_FULL;
  let max: u64 = 0;
  for (let bin = ld64(heap + T_RETIRED_MIN); bin <= ld64(heap + T_RETIRED_MAX); bin++) {
    const q = queue(heap, <i32>bin);
    const page = queueFirst(q);
    if (page == 0 || retireExpire(page) == 0) continue;
    if (used(page) == 0) {
      setRetireExpire(page, retireExpire(page) - 1);
      if (force || retireExpire(page) == 0) {
        pageFree(heap, q, page);
      } else {
        if (bin < min) min = bin;
        if (bin > max) max = bin;
      }
    } else {
      setRetireExpire(page, 0);
    }
  }
  st64(heap + T_RETIRED_MIN, min);
  st64(heap + T_RETIRED_MAX, max);
}

/** mi_page_to_full. */
function pageToFull(heap: u64, q: u64, page: u64): void {
  if (isInFull(page)) return;
  enqueueFrom(heap, queue(heap, BIN_FULL), q, page);
  freeCollect(page, false);
}

/** _mi_page_unfull: a block of a full page was freed: back to the end of its own queue. */
export function pageUnfull(page: u64): void {
  if (!isInFull(page)) return;
  const heap = pageHeap(page);
  enqueueFrom(heap, queue(heap, binOf(xblockSize(page))), queue(heap, BIN_FULL), page);
}

/** _mi_segment_page_alloc: a fresh span for blocks of `block` bytes, of the page kind their size asks for. */
function segmentPageAlloc(heap: u64, block: u64, pageAlignment: u64): u64 {
  const thread = heapThread(heap);
  if (pageAlignment > ALIGNMENT_MAX) {
    return hugePageAlloc(heap, thread, block, pageAlignment < SEGMENT_SIZE ? SEGMENT_SIZE : pageAlignment);
  }
  if (block <= SMALL_OBJ_SIZE_MAX) return segmentsPageAlloc(heap, thread, block, block);
  if (block <= MEDIUM_OBJ_SIZE_MAX) return segmentsPageAlloc(heap, thread, MEDIUM_PAGE_SIZE, block);
  if (block <= LARGE_OBJ_SIZE_MAX) return segmentsPageAlloc(heap, thread, block, block);
  return hugePageAlloc(heap, thread, block, pageAlignment);
}

/** mi_page_fresh_alloc: a new page for queue `q`, initialized and at the front of the queue. */
function pageFreshAlloc(heap: u64, q: u64, block: u64, pageAlignment: u64): u64 {
  const page = segmentPageAlloc(heap, block, pageAlignment);
  if (page == 0) return 0;
  // large and huge pages hold one block as large as the page
  pageInit(page, heap, queueBin(heap, q) == BIN_HUGE ? blockSize(page) : block);
  queuePush(heap, q, page);
  return page;
}

/** mi_page_queue_find_free_ex: the first page of `q` with a free block, collecting and extending on the way. */
function findFreeEx(heap: u64, q: u64, firstTry: bool): u64 {
  let page = queueFirst(q);
  let visited: u64 = 0;
  while (page != 0) {
    const next = pageNext(page);
    visited++;
    freeCollect(page, false);
    if (freeList(page) != 0) break;
    if (capacity(page) < reserved(page)) {
      extendFree(page);
      break;
    }
    pageToFull(heap, q, page);
    page = next;
  }
  gadd(G_SEARCHES, visited);
  if (page == 0) {
    collectRetired(heap, false);
    page = pageFreshAlloc(heap, q, binSize(queueBin(heap, q)), 0);
    if (page == 0 && firstTry) page = findFreeEx(heap, q, false);
  } else {
    setRetireExpire(page, 0);
  }
  return page;
}

/** mi_find_free_page: the queue's first page if it has a free block, else a search. */
function findFreePage(heap: u64, size: u64): u64 {
  const q = queue(heap, binOf(size));
  const page = queueFirst(q);
  if (page != 0) {
    freeCollect(page, false);
    if (freeList(page) != 0) {
      setRetireExpire(page, 0);
      return page;
    }
  }
  return findFreeEx(heap, q, true);
}

/** mi_large_huge_page_alloc: a page of its own for a block of more than 128 KiB (or a huge alignment). */
function largeHugePageAlloc(heap: u64, size: u64, pageAlignment: u64): u64 {
  const block = goodAllocSize(size);
  const huge = block > LARGE_OBJ_SIZE_MAX || pageAlignment > 0;
  const page = pageFreshAlloc(heap, queue(heap, binOf(huge ? HUGE_BLOCK_SIZE : block)), block, pageAlignment);
  if (page != 0) gadd(huge ? G_HUGE_COUNT : G_LARGE_COUNT, 1);
  return page;
}

/** mi_find_page: the page the next block of `size` bytes comes from; 0 when out of memory or too large. */
export function findPage(heap: u64, size: u64, hugeAlignment: u64): u64 {
  if (size > MEDIUM_OBJ_SIZE_MAX || hugeAlignment > 0) {
    if (size > <u64>i64.MAX_VALUE) return 0;
    return largeHugePageAlloc(heap, size, hugeAlignment);
  }
  return findFreePage(heap, size);
}

/** Marks a thread's heap initialized (its first allocation, as mi_thread_init on the first malloc). */
export function heapEnsureInit(heap: u64): void {
  if (ld64(heap + T_INITIALIZED) != 0) return;
  st64(heap + T_INITIALIZED, 1);
  gadd(G_THREADS, 1);
}

/** _mi_heap_delayed_free_partial: frees other threads pushed on this heap (blocks of its full pages). */
export function delayedFreeAll(heap: u64): void {
  let block = ld64(heap + T_DELAYED_FREE);
  if (block == 0) return;
  st64(heap + T_DELAYED_FREE, 0);
  while (block != 0) {
    const next = blockNext(block);
    const page = pageOf(block);
    if (delayedState(page) != NEVER_DELAYED_FREE) setDelayedState(page, USE_DELAYED_FREE);
    freeCollect(page, false);
    freeBlock(page, true, block);
    block = next;
  }
}

/**
 * The forced part of mi_heap_collect_ex: delayed frees and retired pages first, then every page of every queue is
 * collected and freed when empty; with `abandon`, the pages still in use leave the heap with their segments.
 */
function collectPages(heap: u64, abandon: bool): void {
  delayedFreeAll(heap);
  collectRetired(heap, true);
  for (let bin = 0; bin <= BIN_FULL; bin++) {
    const q = queue(heap, bin);
    let page = queueFirst(q);
    while (page != 0) {
      const next = pageNext(page);
      freeCollect(page, true);
      if (used(page) == 0) {
        pageFree(heap, q, page);
      } else if (abandon) {
        queueRemove(heap, q, page);
        setPageHeap(page, 0);
        segmentPageAbandon(heap, page);
      }
      page = next;
    }
  }
}

/**
 * mi_heap_collect (forced, as after a failed allocation): retired pages, then every empty page, go back to their
 * segments, and the cached segments to the arena or the OS.
 */
export function heapCollect(heap: u64): void {
  collectPages(heap, false);
  cacheFreeAll();
}

/** _mi_page_reclaim: a page of an adopted segment goes to the front of its block size's queue. */
export function pageReclaim(heap: u64, page: u64): void {
  queuePush(heap, queue(heap, binOf(xblockSize(page))), page);
}

/**
 * _mi_thread_done → mi_heap_collect_ex(MI_ABANDON): the exiting thread's pages stop taking delayed frees, its
 * delayed list and retired pages are processed, every page is collected: the empty ones are freed, the others
 * abandoned with their segments; then the abandoned stack is collected once. The heap starts afresh.
 */
export function heapAbandon(heap: u64): void {
  if (ld64(heap + T_INITIALIZED) == 0) return;
  for (let bin = 0; bin <= BIN_FULL; bin++) {
    for (let page = queueFirst(queue(heap, bin)); page != 0; page = pageNext(page)) {
      setDelayedState(page, NEVER_DELAYED_FREE);
    }
  }
  collectPages(heap, true);
  abandonedCollect(heap);
  for (let at: u64 = 0; at <= T_SEGMENT_SIZE; at += 8) st64(heap + at, 0);
}
