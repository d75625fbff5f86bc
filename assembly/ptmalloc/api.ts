// The public entry points (__libc_malloc, __libc_free, …): tcache fast paths, arena choice, mmapped chunks.

import { st64, vmIsMapped, vmFill } from "../common/vmem";
import { raise, failed, ERR_SEGV } from "../common/ops";
import { count, LOCK_ARENA, SYS_MADVISE } from "../common/counters";
import { metricsRelease } from "../common/metrics";
import { ABORT, SEGV_MESSAGE } from "./check";
import {
  chunkSize, sizeField, isMmapped, inuseBitAt, misaligned, mem2chunk, request2size, tcacheIndex, isMainArenaChunk,
  bk, CHUNK_HDR_SZ, SIZE_SZ, MINSIZE, PTRDIFF_MAX, MALLOC_CHUNK_SIZE,
} from "./chunk";
import { binAt, nextArena, top, maxSystemMem, NBINS, MSTATE_SIZE } from "./mstate";
import {
  tcacheBins, noDynThreshold, param, setParam, P_MMAP_THRESHOLD, P_TRIM_THRESHOLD, DEFAULT_MMAP_THRESHOLD_MAX,
  singleThread, threadTcache, setThreadTcache, PAGE, P_SBRK_BASE, perturbByte,
} from "./params";
import { rangeMapped } from "./layout";
import { tcacheGet, tcacheCountOf, tcacheTakeAny, TCACHE_STRUCT_SIZE } from "./tcache";
import { intMalloc } from "./malloc";
import { intFree, mallocConsolidate } from "./free";
import { intRealloc } from "./realloc";
import { intMemalign } from "./memalign";
import { munmapChunk, mremapChunk, systrim } from "./system";
import {
  mainArena, arenaGet, arenaGetRetry, arenaForChunk, arenaIndex, heapForPtr, heapMprotectSize, isMainArena,
  arenaThreadFreeres,
} from "./arena";

/** _int_malloc in `av`, then once more in arena_get_retry's arena when `av` could not serve the request. */
function intMallocRetrying(av: u64, bytes: u64): u64 {
  const victim = intMalloc(av, bytes);
  if (victim != 0 || failed()) return victim;
  return intMalloc(arenaGetRetry(av, bytes), bytes);
}

/** The allocation path of malloc and calloc: the main arena while single-threaded, else arena_get and retry. */
function intMallocInCallArena(bytes: u64): u64 {
  if (singleThread()) return intMalloc(mainArena, bytes);
  return intMallocRetrying(arenaGet(bytes), bytes);
}

/** tcache_init: the thread's tcache_perthread_struct, allocated from its arena. */
function tcacheInit(): void {
  const victim = intMallocRetrying(arenaGet(TCACHE_STRUCT_SIZE), TCACHE_STRUCT_SIZE);
  if (victim == 0) return;
  for (let o: u64 = 0; o < TCACHE_STRUCT_SIZE; o += 8) st64(victim + o, 0);
  setThreadTcache(victim);
}

// @ts-ignore: decorator
@inline function maybeInitTcache(): void {
  if (threadTcache() == 0) tcacheInit();
}

/**
 * The arena that owns non-mmapped chunk `p` (arena_for_chunk), or 0 after raising. A NON_MAIN_ARENA bit makes glibc
 * read heap_info->ar_ptr at `p` rounded down to HEAP_MAX_SIZE: outside mapped memory that is a crash; otherwise
 * the pointer found there is the arena glibc frees into, even one forged in the program's own memory (house of
 * mind). Only an arena pointer into unmapped memory crashes, after glibc's pointer and size checks.
 */
function owningArena(p: u64, forRealloc: bool): u64 {
  if (isMainArenaChunk(p)) return mainArena;
  if (!rangeMapped(heapForPtr(p), 8)) {
    raise(ABORT, SEGV_MESSAGE);
    return 0;
  }
  const av = arenaForChunk(p);
  if (arenaIndex(av) >= 0 || rangeMapped(av, MSTATE_SIZE)) return av;
  const size = chunkSize(p);
  if (p > 0 - size || misaligned(p)) raise(ABORT, forRealloc ? "realloc(): invalid pointer" : "free(): invalid pointer");
  else if (!forRealloc && (size < MINSIZE || (size & 15) != 0)) raise(ABORT, "free(): invalid size");
  else raise(ABORT, SEGV_MESSAGE);
  return 0;
}

/** __libc_malloc */
export function libcMalloc(bytes: u64): u64 {
  if (bytes > PTRDIFF_MAX) return 0;
  const tbytes = request2size(bytes);
  const tcIdx = tcacheIndex(tbytes);
  maybeInitTcache();
  if (failed()) return 0;
  const tc = threadTcache();
  if (tcIdx < tcacheBins && tc != 0 && tcacheCountOf(tc, tcIdx) > 0) return tcacheGet(tc, tcIdx);
  return intMallocInCallArena(bytes);
}

/** __libc_free */
export function libcFree(mem: u64): void {
  if (mem == 0) return;
  const p = mem2chunk(mem);
  if (isMmapped(p)) {
    const raw = sizeField(p);
    if (!noDynThreshold && raw > param(P_MMAP_THRESHOLD) && raw <= DEFAULT_MMAP_THRESHOLD_MAX) {
      setParam(P_MMAP_THRESHOLD, chunkSize(p));
      setParam(P_TRIM_THRESHOLD, chunkSize(p) << 1);
    }
    munmapChunk(p);
    return;
  }
  maybeInitTcache();
  if (failed()) return;
  const av = owningArena(p, false);
  if (av == 0) return;
  intFree(av, p, false);
}

/** __libc_free of a chunk that is not mmapped, with the thread's tcache gone (tcache_thread_shutdown's frees). */
function freeToArena(mem: u64): bool {
  const p = mem2chunk(mem);
  const av = owningArena(p, false);
  return av != 0 && intFree(av, p, false);
}

/**
 * __malloc_arena_thread_freeres, when a thread exits: tcache_thread_shutdown hands every cached chunk, then the
 * tcache structure itself, back to its arena through free (with no tcache, straight to the bins), then the thread
 * leaves its arena, which goes onto the free list for the next new thread.
 */
export function threadExit(): void {
  const tc = threadTcache();
  if (tc != 0) {
    setThreadTcache(0);
    for (let e = tcacheTakeAny(tc); e != 0; e = tcacheTakeAny(tc)) {
      if (!freeToArena(e)) return;
    }
    if (failed() || !freeToArena(tc)) return;
  }
  arenaThreadFreeres();
}

/** __libc_realloc */
export function libcRealloc(oldmem: u64, bytes: u64): u64 {
  if (bytes == 0 && oldmem != 0) {
    libcFree(oldmem);
    return 0;
  }
  if (oldmem == 0) return libcMalloc(bytes);
  const oldp = mem2chunk(oldmem);
  const oldsize = chunkSize(oldp);
  let av: u64 = 0;
  if (!isMmapped(oldp)) {
    maybeInitTcache();
    if (failed()) return 0;
    av = owningArena(oldp, true);
    if (av == 0) return 0;
  }
  if (oldp > 0 - oldsize || misaligned(oldp)) {
    raise(ABORT, "realloc(): invalid pointer");
    return 0;
  }
  if (bytes > PTRDIFF_MAX) return 0;
  const nb = request2size(bytes);
  if (isMmapped(oldp)) {
    const newp = mremapChunk(oldp, nb);
    if (newp != 0 || failed()) return newp == 0 ? 0 : newp + CHUNK_HDR_SZ;
    if (oldsize - SIZE_SZ >= nb) return oldmem;
    const newmem = libcMalloc(bytes);
    if (newmem == 0) return 0;
    munmapChunk(oldp);
    return newmem;
  }
  if (singleThread()) return intRealloc(av, oldp, oldsize, nb);
  count(LOCK_ARENA, 0);
  const newmem = intRealloc(av, oldp, oldsize, nb);
  if (newmem != 0 || failed()) return newmem;
  // Try harder in other arenas: malloc anew, then free the old block into its own arena.
  const moved = libcMalloc(bytes);
  if (moved != 0 && !failed()) intFree(av, oldp, false);
  return failed() ? 0 : moved;
}

/**
 * __libc_calloc; the product has been checked against PTRDIFF_MAX by the caller. glibc clears only what may hold
 * old bytes: not a mmapped chunk (fresh from the kernel) unless perturb filled it, and of a chunk carved from the
 * top only the part below the highest address the arena ever had (fresh break or heap pages are zero already).
 */
export function libcCalloc(bytes: u64): u64 {
  maybeInitTcache();
  if (failed()) return 0;
  let av = singleThread() ? mainArena : arenaGet(bytes);
  const oldTop = top(av);
  let oldTopSize = chunkSize(oldTop);
  // Pointer arithmetic as glibc's: before the first break sbrk_base is 0, the difference wraps, nothing is fresh.
  const used = isMainArena(av)
    ? param(P_SBRK_BASE) + maxSystemMem(av) - oldTop
    : heapForPtr(oldTop) + heapMprotectSize(heapForPtr(oldTop)) - oldTop;
  if (oldTopSize < used) oldTopSize = used;
  let mem = intMalloc(av, bytes);
  if (mem == 0 && !failed() && !singleThread()) {
    av = arenaGetRetry(av, bytes);
    mem = intMalloc(av, bytes);
  }
  if (mem == 0 || failed()) return 0;
  const p = mem2chunk(mem);
  if (isMmapped(p)) {
    if (perturbByte != 0) vmFill(mem, bytes, 0);
    return mem;
  }
  let csz = chunkSize(p);
  if (perturbByte == 0 && p == oldTop && csz > oldTopSize) csz = oldTopSize;
  vmFill(mem, csz - SIZE_SZ, 0);
  return mem;
}

/** _mid_memalign */
export function midMemalign(alignment: u64, bytes: u64): u64 {
  if (alignment <= 16) return libcMalloc(bytes);
  if (alignment < MINSIZE) alignment = MINSIZE;
  if (alignment > (u64.MAX_VALUE >> 1) + 1) return 0;
  if ((alignment & (alignment - 1)) != 0) {
    let a: u64 = 32;
    while (a < alignment) a <<= 1;
    alignment = a;
  }
  if (singleThread()) return intMemalign(mainArena, alignment, bytes);
  const av = arenaGet(bytes + alignment + MINSIZE);
  const p = intMemalign(av, alignment, bytes);
  if (p != 0 || failed()) return p;
  return intMemalign(arenaGetRetry(av, bytes), alignment, bytes);
}

/** posix_memalign: 0 (EINVAL) unless the alignment is a power-of-two multiple of sizeof (void *). */
export function posixMemalign(alignment: u64, bytes: u64): u64 {
  if ((alignment & 7) != 0 || alignment == 0 || ((alignment >> 3) & ((alignment >> 3) - 1)) != 0) return 0;
  return midMemalign(alignment, bytes);
}

/** pvalloc: the rounding keeps bit 0, as glibc 2.36's `& -(pagesize - 1)` does. */
export function pvalloc(bytes: u64): u64 {
  if (bytes > u64.MAX_VALUE - (2 * PAGE - 1)) return 0;
  return midMemalign(PAGE, (bytes + PAGE - 1) & (0 - (PAGE - 1)));
}

/** malloc_usable_size */
export function usableSizeOf(mem: u64): u64 {
  if (mem == 0) return 0;
  const p = mem2chunk(mem);
  if (!headerReadable(mem)) return 0;
  if (isMmapped(p)) return chunkSize(p) - CHUNK_HDR_SZ;
  if (!readable(p + chunkSize(p) + SIZE_SZ)) return 0;
  if (inuseBitAt(p, chunkSize(p))) return chunkSize(p) - SIZE_SZ;
  return 0;
}

/**
 * True when the 8 bytes at `va` are mapped in the real process as far as the model knows it: the brk heap, a
 * mapping (mmapped chunk or arena heap), libc's data or the stack. glibc reads a chunk header before any check, so a pointer
 * whose header lies elsewhere faults there; the model raises that fault instead of reading zeros.
 */
export function readable(va: u64): bool {
  return rangeMapped(va, 8);
}

/** glibc's free, realloc and malloc_usable_size read the size word of `mem`'s chunk first: raises the fault. */
export function headerReadable(mem: u64): bool {
  if (readable(mem - SIZE_SZ) && mem >= CHUNK_HDR_SZ) return true;
  raise(ERR_SEGV, "Segmentation fault: the chunk header of 0x" + mem.toString(16) + " is not mapped");
  return false;
}

/** mtrim on one arena: consolidate, madvise the whole pages inside big free chunks, systrim the main arena. */
function mtrim(av: u64, pad: u64): bool {
  mallocConsolidate(av);
  if (failed()) return false;
  let result = false;
  const psindex: u64 = 99;
  for (let i: u64 = 1; i < NBINS; ++i) {
    if (i != 1 && i < psindex) continue;
    const bin = binAt(av, i);
    for (let p = bk(bin); p != bin; p = bk(p)) {
      let size = chunkSize(p);
      if (size > PAGE - 1 + MALLOC_CHUNK_SIZE) {
        const paligned = (p + MALLOC_CHUNK_SIZE + PAGE - 1) & ~(PAGE - 1);
        size -= paligned - p;
        if (size > PAGE - 1) {
          count(SYS_MADVISE, size & ~(PAGE - 1));
          metricsRelease(paligned, size & ~(PAGE - 1));
          result = true;
        }
      }
    }
  }
  if (isMainArena(av) && systrim(pad, av)) result = true;
  return result;
}

/** malloc_trim(pad): every arena, main first then in list order. */
export function mallocTrim(pad: u64): bool {
  let result = false;
  let av = mainArena;
  do {
    count(LOCK_ARENA, 0);
    if (mtrim(av, pad)) result = true;
    if (failed()) return false;
    av = nextArena(av);
  } while (av != mainArena);
  return result;
}
