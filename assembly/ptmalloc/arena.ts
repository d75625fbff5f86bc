// Arenas beyond the main one: each owns a chain of heaps, 64 MiB-aligned mappings that grow with mprotect
// (8 MiB with glibc.malloc.hugetlb=2: heap_max_size() is four huge pages).
//
//   heap h (heapMaxSize aligned)
//   ╒════════════════════════════════╤═════════════════════════╤══════════════════════════ ··· ═╕
//   │ heap_info (0x30)               │ malloc_state (0x898)    │ chunks … top          (h->size) │
//   │ ar_ptr +0 · prev +8 · size +16 │ first heap of the arena │                                  │
//   │ mprotect_size +24 · pagesize +32                                                            │
//   ╘════════════════════════════════╧═════════════════════════╧══════════════════════════ ··· ═╛
//
// Later heaps of an arena hold only the heap_info; the old top of the previous heap is closed with fenceposts.
// Arena k (k ≥ 1, in creation order) is recorded at ARENAS_BASE + 8k; the main arena is k = 0.

import { ledgerCover } from "./ledger";
import { ld64, st64 } from "../common/vmem";
import { count, SYS_MMAP, SYS_MUNMAP, SYS_MADVISE, LOCK_ARENA } from "../common/counters";
import { metricsRelease } from "../common/metrics";
import {
  chunkSize, setHead, setFoot, prevInuse, prevSize, chunk2mem, MINSIZE, CHUNK_HDR_SZ, SIZE_SZ, PREV_INUSE,
  NON_MAIN_ARENA, MALLOC_ALIGN_MASK, isMainArenaChunk,
} from "./chunk";
import {
  MSTATE_SIZE, initState, top, setTop, systemMem, setSystemMem, setMaxSystemMem, nextArena, setNextArena,
  attachedThreads, setAttachedThreads, nextFree, setNextFree,
} from "./mstate";
import {
  ARENAS_BASE, heapMaxSize, heapMinSize, PAGE, P_NARENAS, P_NARENAS_LIMIT, P_NEXT_TO_USE, P_ALIGNED_HEAP_AREA,
  P_TRIM_THRESHOLD, P_FREE_LIST, param, setParam, alignUp, topPad, hpPageSize, arenaMax, arenaTest, cores,
  threadArena, setThreadArena,
} from "./params";
import { findGap, rangeFree, mapInsert, MAP_HEAP, mapIndexOf, mapRemove } from "./mmap";
import { madviseThp } from "./system";
import { intFree } from "./free";
import { unlinkChunk } from "./bins";

export const HEAP_INFO_SIZE: u64 = 0x30;

/** The main arena's malloc_state, at a fixed address of the simulated libc data region (set by init). */
export let mainArena: u64 = 0;

export function setMainArena(av: u64): void { mainArena = av; }

// @ts-ignore: decorator
@inline export function isMainArena(av: u64): bool { return av == mainArena; }

// heap_info fields
// @ts-ignore: decorator
@inline function heapArena(h: u64): u64 { return ld64(h); }
// @ts-ignore: decorator
@inline function heapPrev(h: u64): u64 { return ld64(h + 8); }
// @ts-ignore: decorator
@inline export function heapSize(h: u64): u64 { return ld64(h + 16); }
// @ts-ignore: decorator
@inline export function heapMprotectSize(h: u64): u64 { return ld64(h + 24); }

/** heap_for_ptr */
// @ts-ignore: decorator
@inline export function heapForPtr(p: u64): u64 { return p & ~(heapMaxSize - 1); }

/** arena_for_chunk */
// @ts-ignore: decorator
@inline export function arenaForChunk(p: u64): u64 {
  return isMainArenaChunk(p) ? mainArena : heapArena(heapForPtr(p));
}

/** Number of arenas created so far, main included. */
// @ts-ignore: decorator
@inline export function arenaCount(): u64 { return param(P_NARENAS); }

/** Arena k's malloc_state. */
// @ts-ignore: decorator
@inline export function arenaAt(k: u64): u64 { return ld64(ARENAS_BASE + (k << 3)); }

/** Creation index of arena `av` (0 for the main arena), or -1 when `av` is no arena. */
export function arenaIndex(av: u64): i64 {
  for (let k: u64 = 0, n = arenaCount(); k < n; k++) if (arenaAt(k) == av) return <i64>k;
  return -1;
}

/** The first chunk of arena k's first heap (k ≥ 1). */
export function arenaFirstChunk(av: u64): u64 {
  const ptr = av + MSTATE_SIZE;
  const misalign = chunk2mem(ptr) & MALLOC_ALIGN_MASK;
  return misalign > 0 ? ptr + 16 - misalign : ptr;
}

/** new_heap: maps a heapMaxSize-aligned reservation and makes its first `size` (+ top_pad) bytes usable. */
function newHeap(size: u64, pad: u64): u64 {
  if (size + pad < heapMinSize) size = heapMinSize;
  else if (size + pad <= heapMaxSize) size += pad;
  else if (size > heapMaxSize) return 0;
  else size = heapMaxSize;
  size = alignUp(size, PAGE);

  let p2: u64 = 0;
  // new_heap first asks for huge pages; with none reserved every such mmap fails, but the attempt has used up
  // the alignment hint, so the heap in ordinary pages is always carved from a double-size mapping.
  if (hpPageSize != 0) setParam(P_ALIGNED_HEAP_AREA, 0);
  const hint = param(P_ALIGNED_HEAP_AREA);
  if (hint != 0) {
    const at = rangeFree(hint, heapMaxSize) ? hint : findGap(heapMaxSize);
    setParam(P_ALIGNED_HEAP_AREA, 0);
    if (at != 0) {
      count(SYS_MMAP, heapMaxSize);
      if ((at & (heapMaxSize - 1)) == 0) p2 = at;
      else count(SYS_MUNMAP, heapMaxSize);
    }
  }
  if (p2 == 0) {
    const p1 = findGap(heapMaxSize << 1);
    if (p1 == 0) return 0;
    count(SYS_MMAP, heapMaxSize << 1);
    p2 = alignUp(p1, heapMaxSize);
    const ul = p2 - p1;
    if (ul != 0) count(SYS_MUNMAP, ul);
    else setParam(P_ALIGNED_HEAP_AREA, p2 + heapMaxSize);
    count(SYS_MUNMAP, heapMaxSize - ul);
  }
  mapInsert(p2, heapMaxSize, 0, MAP_HEAP);
  ledgerCover(p2, heapMaxSize);
  madviseThp(p2, size);
  st64(p2 + 16, size);
  st64(p2 + 24, size);
  st64(p2 + 32, PAGE);
  return p2;
}

/** grow_heap. False when the heap cannot grow by `diff`. */
function growHeap(h: u64, diff: u64): bool {
  diff = alignUp(diff, PAGE);
  const newSize = heapSize(h) + diff;
  if (newSize > heapMaxSize) return false;
  if (newSize > heapMprotectSize(h)) st64(h + 24, newSize);
  st64(h + 16, newSize);
  return true;
}

/** shrink_heap (overcommit heuristics: madvise, the pages stay mapped). */
function shrinkHeap(h: u64, diff: u64): bool {
  const newSize = heapSize(h) - diff;
  if (<i64>newSize < <i64>HEAP_INFO_SIZE) return false;
  count(SYS_MADVISE, diff);
  metricsRelease(h + newSize, diff);
  st64(h + 16, newSize);
  return true;
}

/** The non-main half of sysmalloc: grow the top's heap, or chain a new heap. False when both fail. */
export function growArenaHeap(av: u64, nb: u64): bool {
  const oldTop = top(av);
  let oldSize = chunkSize(oldTop);
  const oldHeap = heapForPtr(oldTop);
  const oldHeapSize = heapSize(oldHeap);
  if (<i64>(MINSIZE + nb - oldSize) > 0 && growHeap(oldHeap, MINSIZE + nb - oldSize)) {
    setSystemMem(av, systemMem(av) + heapSize(oldHeap) - oldHeapSize);
    setHead(oldTop, (oldHeap + heapSize(oldHeap) - oldTop) | PREV_INUSE);
    return true;
  }
  const heap = newHeap(nb + (MINSIZE + HEAP_INFO_SIZE), topPad);
  if (heap == 0) return false;
  st64(heap, av);
  st64(heap + 8, oldHeap);
  setSystemMem(av, systemMem(av) + heapSize(heap));
  setTop(av, heap + HEAP_INFO_SIZE);
  setHead(heap + HEAP_INFO_SIZE, (heapSize(heap) - HEAP_INFO_SIZE) | PREV_INUSE);
  oldSize = (oldSize - MINSIZE) & ~MALLOC_ALIGN_MASK;
  setHead(oldTop + oldSize + CHUNK_HDR_SZ, 0 | PREV_INUSE);
  if (oldSize >= MINSIZE) {
    setHead(oldTop + oldSize, CHUNK_HDR_SZ | PREV_INUSE);
    setFoot(oldTop + oldSize, CHUNK_HDR_SZ);
    setHead(oldTop, oldSize | PREV_INUSE | NON_MAIN_ARENA);
    intFree(av, oldTop, true);
  } else {
    setHead(oldTop, (oldSize + CHUNK_HDR_SZ) | PREV_INUSE);
    setFoot(oldTop, oldSize + CHUNK_HDR_SZ);
  }
  return true;
}

/** heap_trim on the heap of `av`'s top: drop emptied heaps, then shrink the top one. */
export function heapTrimFor(av: u64): void {
  let heap = heapForPtr(top(av));
  let topChunk = top(av);
  while (topChunk == heap + HEAP_INFO_SIZE) {
    const prevHeap = heapPrev(heap);
    const prevSz = heapSize(prevHeap) - (MINSIZE - 2 * SIZE_SZ);
    let p = prevHeap + prevSz;
    const misalign = p & MALLOC_ALIGN_MASK;
    p = prevHeap + prevSz - misalign;
    p = p - prevSize(p);
    let newSize = chunkSize(p) + (MINSIZE - 2 * SIZE_SZ) + misalign;
    if (!prevInuse(p)) newSize += prevSize(p);
    if (newSize + (heapMaxSize - heapSize(prevHeap)) < topPad + MINSIZE + PAGE) break;
    setSystemMem(av, systemMem(av) - heapSize(heap));
    if (heap + heapMaxSize == param(P_ALIGNED_HEAP_AREA)) setParam(P_ALIGNED_HEAP_AREA, 0);
    const i = mapIndexOf(heap);
    if (i >= 0) mapRemove(<u64>i);
    count(SYS_MUNMAP, heapMaxSize);
    metricsRelease(heap, heapMaxSize);
    heap = prevHeap;
    if (!prevInuse(p)) {
      p = p - prevSize(p);
      if (!unlinkChunk(av, p)) return;
    }
    setTop(av, p);
    topChunk = p;
    setHead(topChunk, newSize | PREV_INUSE);
  }
  const topSize = chunkSize(topChunk);
  if (topSize < param(P_TRIM_THRESHOLD)) return;
  const topArea = <i64>(topSize - MINSIZE - 1);
  if (topArea < 0 || <u64>topArea <= topPad) return;
  const extra = (<u64>topArea - topPad) & ~(PAGE - 1);
  if (extra == 0) return;
  if (!shrinkHeap(heap, extra)) return;
  setSystemMem(av, systemMem(av) - extra);
  setHead(topChunk, (topSize - extra) | PREV_INUSE);
}

/** _int_new_arena: a fresh arena on a new heap, linked after the main arena and attached to the thread. */
function newArena(size: u64): u64 {
  let h = newHeap(size + (HEAP_INFO_SIZE + MSTATE_SIZE + 16), topPad);
  if (h == 0) {
    h = newHeap(HEAP_INFO_SIZE + MSTATE_SIZE + 16, topPad);
    if (h == 0) return 0;
  }
  const a = h + HEAP_INFO_SIZE;
  st64(h, a);
  initState(a, false);
  setAttachedThreads(a, 1);
  setSystemMem(a, heapSize(h));
  setMaxSystemMem(a, heapSize(h));
  const ptr = arenaFirstChunk(a);
  setTop(a, ptr);
  setHead(ptr, (h + heapSize(h) - ptr) | PREV_INUSE);
  detachArena(threadArena());
  setThreadArena(a);
  setNextArena(a, nextArena(mainArena));
  setNextArena(mainArena, a);
  st64(ARENAS_BASE + ((param(P_NARENAS) - 1) << 3), a);
  count(LOCK_ARENA, 0);
  return a;
}

function detachArena(av: u64): void {
  if (av != 0) setAttachedThreads(av, attachedThreads(av) - 1);
}

/** get_free_list: the arena an exited thread left, attached to the calling thread; 0 when there is none. */
function getFreeList(): u64 {
  const result = param(P_FREE_LIST);
  if (result == 0) return 0;
  setParam(P_FREE_LIST, nextFree(result));
  setAttachedThreads(result, 1);
  detachArena(threadArena());
  setThreadArena(result);
  count(LOCK_ARENA, 0);
  return result;
}

/** remove_from_free_list: unlinks `av` from the free list, where reused_arena may have found it. */
function removeFromFreeList(av: u64): void {
  let previous: u64 = 0; // 0: the list's head
  let p = param(P_FREE_LIST);
  while (p != 0 && p != av) {
    previous = p;
    p = nextFree(p);
  }
  if (p == 0) return;
  if (previous == 0) setParam(P_FREE_LIST, nextFree(p));
  else setNextFree(previous, nextFree(p));
}

/**
 * arena_thread_freeres, after the tcache went back: the exiting thread leaves its arena, which goes onto the free
 * list, for the next thread that needs an arena, once no other thread is attached to it.
 */
export function arenaThreadFreeres(): void {
  const av = threadArena();
  if (av == 0) return;
  setThreadArena(0);
  const attached = attachedThreads(av) - 1;
  setAttachedThreads(av, attached);
  if (attached == 0) {
    setNextFree(av, param(P_FREE_LIST));
    setParam(P_FREE_LIST, av);
  }
}

/** reused_arena: the round-robin choice once the arena limit is reached (every lock is free in a replay). */
function reusedArena(): u64 {
  let result = param(P_NEXT_TO_USE);
  if (result == 0) result = mainArena;
  detachArena(threadArena());
  removeFromFreeList(result);
  setAttachedThreads(result, attachedThreads(result) + 1);
  setThreadArena(result);
  setParam(P_NEXT_TO_USE, nextArena(result));
  count(LOCK_ARENA, 0);
  return result;
}

/** arena_get2: an arena from the free list, else a new arena while under the limit, else a reused one. */
export function arenaGet2(size: u64): u64 {
  const free = getFreeList();
  if (free != 0) return free;
  let limit = param(P_NARENAS_LIMIT);
  if (limit == 0) {
    if (arenaMax != 0) limit = arenaMax;
    else if (param(P_NARENAS) > arenaTest) limit = cores * 8;
    setParam(P_NARENAS_LIMIT, limit);
  }
  const n = param(P_NARENAS);
  if (n <= limit - 1) {
    setParam(P_NARENAS, n + 1);
    const a = newArena(size);
    if (a != 0) return a;
    setParam(P_NARENAS, n);
  }
  return reusedArena();
}

/** arena_get_retry: after `av` failed a request, the main arena, or from the main arena arena_get2's choice. */
export function arenaGetRetry(av: u64, size: u64): u64 {
  if (av != mainArena) {
    count(LOCK_ARENA, 0);
    return mainArena;
  }
  return arenaGet2(size);
}

/** arena_get: the thread's arena (locked), or a new/reused one for a thread without an arena. */
export function arenaGet(size: u64): u64 {
  const a = threadArena();
  if (a != 0) {
    count(LOCK_ARENA, 0);
    return a;
  }
  return arenaGet2(size);
}

