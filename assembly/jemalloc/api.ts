// The malloc family (jemalloc.c: imalloc_body, ifree, do_rallocx, the aligned entry points) and the process
// start-up: the state a program finds at its first call, and the paths each call takes.
//
//   malloc(n) ──► class ≤ 14 KiB ──► tcache bin ──► (empty) fill from the arena's bin ──► slabs ──► pac
//             └─► large ──────────► tcache bin up to tcache_max ──► (empty) large extent ──► pac
//   free(p)   ──► rtree(p) → extent ──► tcache bin (flush when full) │ bin / page allocator without a tcache
//
// After every call the thread counts the bytes allocated and freed, which paces the tcache's GC (tcache.ts).

import { raise } from "../common/ops";
import { G_LIVE_REQUESTED, G_LIVE_USABLE, gadd, ald, A_NTHREADS } from "./globals";
import { paDecayAll } from "./pac";
import {
  NBINS, PAGE, SMALL_MAXCLASS, LARGE_MINCLASS, LARGE_MAXCLASS, CACHELINE, szInit, size2index, index2size, sa2u,
  s2u, pageCeiling,
} from "./sz";
import { eSzind, eSlab, eArena, eUsize, eAddr, eBase, eState, STATE_ACTIVE, NO_SZIND } from "./extent";
import { rtreeRead } from "./rtree";
import { baseNew, baseAllocBackgroundThreads } from "./base";
import { osBoot } from "./os";
import { arenaMallocSmall, arenaDallocSmall, regionFree } from "./bin";
import { largeMalloc, largePalloc, largeDalloc, largeRallocNoMove } from "./large";
import {
  arenaBoot, arenaNew, arenaChoose, arenaChooseMaybeHuge, arenaUnbind, threadInit, threadSeed, decayTicks, tld, tst,
  T_TCACHE_BLOCK, T_STATE,
} from "./arena";
import {
  tcacheBoot, tcacheCreate, tcacheDestroy, tcacheAllocSmall, tcacheAllocLarge, tcacheDalloc, cachesClass, allocEvent,
  dallocEvent,
} from "./tcache";


/** malloc_initialized(): start-up is over. */
let ready: bool = false;

/** What the program allocates before its first traced call and never frees (0: nothing). */
let startupMalloc: u64 = 0;

/** The `startup_malloc` option: bytes the program allocates before its first traced call. */
export function setStartupMalloc(bytes: u64): void {
  startupMalloc = bytes;
}

/**
 * malloc_init_hard (jemalloc's constructor): size classes, arena 0 and its base, the main thread's tcache;
 * then the program's own start-up allocation, if any. A
 * C++ program's first malloc is libstdc++'s emergency pool (72704 bytes), made before main: it initializes
 * jemalloc and takes the large extent after the tcache's. A replayer that routes start-up calls elsewhere has
 * none, and jemalloc starts at the first traced call.
 */
export function startUp(): void {
  szInit();
  osBoot();
  arenaBoot();
  baseNew(0);
  tcacheBoot();
  arenaNew(0);
  enterThread(0);
  baseAllocBackgroundThreads();
  ready = true;
  if (startupMalloc != 0) jeMalloc(0, startupMalloc);
}

/**
 * tsd_fetch on an allocating call: a thread becomes nominal, with its PRNG, event counters, tcache (and with it
 * its arena). A thread that has only freed so far was minimal: its ticker carries on, the rest starts afresh.
 */
function enterThread(t: i32): void {
  const state = tld(t, T_STATE);
  if (state == 2) return;
  if (state == 0) threadInit(t);
  else threadSeed(t);
  tst(t, T_STATE, 2);
  tcacheCreate(t);
  // During start-up the main thread's tcache is only associated with arena 0; the thread itself is bound at its
  // first arena_choose, and until then arena 0 counts no thread (a second thread may take it).
  if (ready) arenaChoose(t);
}

/** tsd_fetch_min on a free: a thread seen for the first time gets a minimal tsd, without tcache or arena. */
function enterMinimal(t: i32): void {
  if (tld(t, T_STATE) != 0) return;
  threadInit(t);
  tst(t, T_STATE, 1);
}

/**
 * The object at `p`: its extent, or 0 (with an error raised) when `p` is not an allocated object. jemalloc does
 * not check (such a free corrupts its state); the model refuses with its own message instead.
 */
function ownerOf(p: u64, what: string): u64 {
  const e = rtreeRead(p);
  if (e == 0 || eState(e) != STATE_ACTIVE || eSzind(e) == NO_SZIND) {
    raise(1, what + "(): invalid pointer (not allocated by jemalloc)");
    return 0;
  }
  if (!eSlab(e) && eAddr(e) != p) {
    raise(1, what + "(): invalid pointer (inside a large allocation)");
    return 0;
  }
  if (eSlab(e)) {
    const size = index2size(<i32>eSzind(e));
    const off = p - eBase(e);
    if (off % size != 0) {
      raise(1, what + "(): invalid pointer (not the start of a region)");
      return 0;
    }
    if (regionFree(e, off / size)) {
      raise(1, what + "(): invalid pointer (a free region: double free)");
      return 0;
    }
  }
  return e;
}

/** Usable size of the object at `p` whose extent is `e`. */
// @ts-ignore: decorator
@inline function usizeOf(e: u64): u64 {
  return eSlab(e) ? index2size(<i32>eSzind(e)) : eUsize(e);
}

/**
 * arena_malloc with the thread's tcache: an object of class `ind` (usize `usize`) for a request of `size` bytes.
 * Past the tcache, the huge arena is chosen by the request, not by its class (arena_malloc_hard).
 */
function allocate(t: i32, ind: i32, usize: u64, size: u64): u64 {
  if (ind < NBINS) {
    const a = arenaChoose(t);
    return cachesClass(t, ind) ? tcacheAllocSmall(t, a, ind) : arenaMallocSmall(t, a, ind);
  }
  if (cachesClass(t, ind)) return tcacheAllocLarge(t, arenaChoose(t), ind, usize);
  return largeMalloc(t, arenaChooseMaybeHuge(t, size), usize);
}

/** ifree: the object at `p` (extent `e`) goes to the tcache or back to its arena. */
function deallocate(t: i32, p: u64, e: u64): void {
  const ind = <i32>eSzind(e);
  if (cachesClass(t, ind)) {
    tcacheDalloc(t, ind, p);
  } else if (eSlab(e)) {
    arenaDallocSmall(t, eArena(e), ind, e, p);
  } else {
    largeDalloc(t, e);
  }
}

/**
 * tsd_cleanup when a thread exits: a nominal thread's arena_cleanup unbinds it from its arena, then tcache_cleanup
 * destroys its tcache, and, once no thread is bound to the arena any more, decays it fully (every dirty extent
 * purged and retained, whatever the decay times); its tsd is left in purgatory. A minimal thread (it only freed)
 * has neither arena nor tcache.
 */
export function jeThreadExit(t: i32): void {
  if (tld(t, T_STATE) != 2) return;
  const arena = arenaUnbind(t);
  tcacheDestroy(t);
  if (arena >= 0 && ald(arena, A_NTHREADS) == 0) paDecayAll(arena);
  tst(t, T_STATE, 3);
}

/** Counts a new object of `requested` bytes in the model's live totals. */
function noteLive(p: u64, requested: u64): void {
  if (p == 0) return;
  const e = rtreeRead(p);
  gadd(G_LIVE_REQUESTED, requested);
  gadd(G_LIVE_USABLE, usizeOf(e));
}

/** Removes the object at `p` (extent `e`, `requested` bytes) from the live totals. */
function noteDead(e: u64, requested: u64): void {
  gadd(G_LIVE_REQUESTED, -requested);
  gadd(G_LIVE_USABLE, -usizeOf(e));
}

/** malloc(size) on thread `t`. */
export function jeMalloc(t: i32, size: u64): u64 {
  enterThread(t);
  const n = size == 0 ? 1 : size;
  if (n > LARGE_MAXCLASS) return 0;
  const ind = size2index(n);
  const usize = index2size(ind);
  const p = allocate(t, ind, usize, n);
  if (p == 0) return 0;
  noteLive(p, size);
  allocEvent(t, usize);
  return p;
}

/** calloc(nmemb, size): placement is malloc's; the product must not overflow. */
export function jeCalloc(t: i32, nmemb: u64, size: u64): u64 {
  if (size != 0 && nmemb > u64.MAX_VALUE / size) {
    enterThread(t);
    return 0;
  }
  return jeMalloc(t, nmemb * size);
}

/** The aligned family: `alignment` must be a power of two (callers check their own minimums). */
export function jeAligned(t: i32, alignment: u64, size: u64): u64 {
  return alignedAlloc(t, alignment, size, size);
}

/** An aligned allocation of `size` bytes that counts `requested` bytes live (what the caller asked for). */
function alignedAlloc(t: i32, alignment: u64, size: u64, requested: u64): u64 {
  enterThread(t);
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) return 0;
  const n = size == 0 ? 1 : size;
  const usize = sa2u(n, alignment);
  if (usize == 0 || usize > LARGE_MAXCLASS) return 0;
  let p: u64;
  if (usize <= SMALL_MAXCLASS) p = allocate(t, size2index(usize), usize, usize);
  else if (alignment <= CACHELINE) p = largeMalloc(t, -1, usize);
  else p = largePalloc(t, -1, usize, alignment);
  if (p == 0) return 0;
  noteLive(p, requested);
  allocEvent(t, usize);
  return p;
}

/** posix_memalign: alignment a power of two and a multiple of sizeof(void *). */
export function jePosixMemalign(t: i32, alignment: u64, size: u64): u64 {
  if (alignment < 8) {
    enterThread(t);
    return 0;
  }
  return jeAligned(t, alignment, size);
}

/** valloc / pvalloc (pvalloc serves whole pages; the object still counts the bytes asked for as live). */
export function jeValloc(t: i32, size: u64, roundUp: bool): u64 {
  return alignedAlloc(t, PAGE, roundUp ? pageCeiling(size == 0 ? 1 : size) : size, size);
}

/** free(p) on thread `t`; `requested` is what the object asked for (the model's live totals). */
export function jeFree(t: i32, p: u64, requested: u64): bool {
  enterMinimal(t);
  if (p == 0) return true;
  const e = ownerOf(p, "free");
  if (e == 0) return false;
  const usize = usizeOf(e);
  noteDead(e, requested);
  deallocate(t, p, e);
  dallocEvent(t, usize);
  return true;
}

/** realloc(p, size): in place when the class stays (small) or the pages around allow it (large). */
export function jeRealloc(t: i32, p: u64, size: u64, oldRequested: u64): u64 {
  if (p == 0) return jeMalloc(t, size);
  enterThread(t);
  const e = ownerOf(p, "realloc");
  if (e == 0) return 0;
  if (size == 0) {
    jeFree(t, p, oldRequested);
    return 0;
  }
  const usize = s2u(size);
  if (usize == 0) return 0;
  const oldUsize = usizeOf(e);
  let q: u64 = 0;
  if (usize <= SMALL_MAXCLASS && eSlab(e) && size2index(usize) == <i32>eSzind(e)) {
    decayTicks(t, 1);
    q = p;
  } else if (oldUsize >= LARGE_MINCLASS && usize >= LARGE_MINCLASS) {
    noteDead(e, oldRequested);
    if (largeRallocNoMove(t, e, usize)) {
      q = p;
    } else {
      q = largeMalloc(t, -1, usize);
      if (q == 0) {
        noteLive(p, oldRequested);
        return 0;
      }
      deallocate(t, p, e);
    }
    noteLive(q, size);
    allocEvent(t, usize);
    dallocEvent(t, oldUsize);
    return q;
  } else {
    q = allocate(t, size2index(usize), usize, usize);
    if (q == 0) return 0;
    noteDead(e, oldRequested);
    deallocate(t, p, e);
    noteLive(q, size);
    allocEvent(t, usize);
    dallocEvent(t, oldUsize);
    return q;
  }
  gadd(G_LIVE_REQUESTED, size - oldRequested);
  allocEvent(t, oldUsize);
  dallocEvent(t, oldUsize);
  return q;
}

/** malloc_usable_size(p): 0 when jemalloc does not own `p`. */
export function jeUsableSize(p: u64): u64 {
  const e = rtreeRead(p);
  if (e == 0 || eState(e) != STATE_ACTIVE || eSzind(e) == NO_SZIND) return 0;
  if (!eSlab(e) && eAddr(e) != p) return 0;
  return usizeOf(e);
}

/** The address of the thread's tcache block (the first large extent of a fresh process). */
export function tcacheBlockOf(t: i32): u64 {
  return tld(t, T_TCACHE_BLOCK);
}

/** The base of the extent holding `p`, for tests that check placement. */
export function extentBaseOf(p: u64): u64 {
  const e = rtreeRead(p);
  return e == 0 ? 0 : eBase(e);
}
