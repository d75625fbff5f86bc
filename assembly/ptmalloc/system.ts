// Memory from the system: the simulated program break (sbrk), sysmalloc, mmapped chunks, systrim.
//
//   heap_base                      sbrk_base + system_mem = brk                       mmap_base
//   ├──── main arena heap (brk) ────┤ ··· free address space ··· ├── mappings (grow down) ──┤ libc data
//
// The break moves only in whole pages here, because the initial break is page aligned and every increment is a
// page multiple; so the front and end corrections of sysmalloc are always zero.
//
// When the break cannot move (brk_blocked_at, overcommit, hugetlb=2), the main arena goes on in mappings
// (MAP_MAIN records, mmap as morecore) and is non-contiguous for good; each old top is closed with fenceposts:
//
//   old top ─► ┌──────────── freed ────────────┬──────────┬──────────┐ old end   new top ─► ┌─ mapping ─ ··· ┐
//              │ old_size − 32 (if ≥ MINSIZE)  │ 16 | P   │ 16 | P   │                      │                │

import { ledgerCover } from "./ledger";
import { st64, vmMap, vmUnmap } from "../common/vmem";
import { raise, failed } from "../common/ops";
import { count, SYS_BRK, SYS_MMAP, SYS_MUNMAP, SYS_MREMAP, SYS_MADVISE } from "../common/counters";
import { metricsRelease } from "../common/metrics";
import { overcommitRefuses } from "../common/kernel";
import { ABORT } from "./check";
import {
  chunkSize, setHead, prevSize, setPrevSize, prevInuse, chunk2mem, MINSIZE, SIZE_SZ, PREV_INUSE,
  IS_MMAPPED, NON_MAIN_ARENA, CHUNK_HDR_SZ, MALLOC_ALIGN_MASK,
} from "./chunk";
import {
  top, setTop, unsortedChunks, systemMem, setSystemMem, maxSystemMem, setMaxSystemMem, contiguous, flags, setFlags,
  NONCONTIGUOUS_BIT,
} from "./mstate";
import {
  PAGE, P_BRK, P_SBRK_BASE, P_MMAP_THRESHOLD, P_N_MMAPS, P_MAX_N_MMAPS, P_MMAPPED_MEM, P_MAX_MMAPPED_MEM, P_TRIMS,
  param, setParam, alignUp, topPad, nMmapsMax, heapBaseAddress, thpPageSize, hpPageSize, brkBlockedAt,
  MMAP_AS_MORECORE_SIZE,
} from "./params";
import {
  findGap, mapInsert, mapIndexOf, mapRemove, setMapLength, setMapChunk, mapChunk, mapKind,
  roomAbove, lowestMapping, MAP_CHUNK, MAP_MAIN, mapRequested, mapObject, setMapNotes, mapCount, mapStart,
  mapLength, setMapStart,
} from "./mmap";
import { isMainArena, growArenaHeap } from "./arena";
import { intFree } from "./free";

const MORECORE_FAILURE: u64 = u64.MAX_VALUE;

const SYSMALLOC_ASSERT: string = "Fatal glibc error: malloc assertion failure in sysmalloc: (old_top == initial_top (av) && old_size == 0) || ((unsigned long) (old_size) >= MINSIZE && prev_inuse (old_top) && ((unsigned long) old_end & (pagesize - 1)) == 0)";

/** True when a break at `moved` would come within a page of the mapping above the heap (the kernel's guard). */
// @ts-ignore: decorator
@inline function brkBlocked(moved: u64): bool {
  return brkBlockedAt != 0 && moved + PAGE > brkBlockedAt;
}

/**
 * sbrk(increment): the old break, or MORECORE_FAILURE when the break would leave [heap_base, lowest mapping], come
 * within a page of brk_blocked_at, or the kernel's overcommit heuristic refuses the increment. With
 * glibc.malloc.hugetlb=2 glibc's morecore always fails, sbrk(0) included.
 * SYS_BRK counts only the calls that move the break: glibc's sbrk(0) queries are answered from its cached break
 * without a system call.
 */
export function sbrk(increment: i64): u64 {
  if (hpPageSize != 0) return MORECORE_FAILURE;
  const old = param(P_BRK);
  if (increment == 0) return old;
  const moved = old + <u64>increment;
  if (increment > 0
    ? (moved < old || moved > lowestMapping() || overcommitRefuses(<u64>increment) || brkBlocked(moved))
    : (moved > old || moved < heapBaseAddress)) {
    return MORECORE_FAILURE;
  }
  setParam(P_BRK, moved);
  if (increment > 0) ledgerCover(old, <u64>increment);
  count(SYS_BRK, <u64>(increment > 0 ? increment : -increment));
  if (increment < 0) metricsRelease(moved, <u64>-increment);
  return old;
}

/** madvise_thp: asks for transparent huge pages on a region of at least one (glibc.malloc.hugetlb=1). */
export function madviseThp(p: u64, size: u64): void {
  if (thpPageSize == 0 || size < thpPageSize) return;
  count(SYS_MADVISE, size + (p & (PAGE - 1)));
}

/** Carves `nb` from the low end of the top chunk of `av` (use_top's split). */
export function splitTop(av: u64, nb: u64): u64 {
  const victim = top(av);
  const size = chunkSize(victim);
  const remainder = victim + nb;
  setTop(av, remainder);
  setHead(victim, nb | PREV_INUSE | (isMainArena(av) ? 0 : NON_MAIN_ARENA));
  setHead(remainder, (size - nb) | PREV_INUSE);
  return chunk2mem(victim);
}

/** sysmalloc_mmap: a dedicated mapping for `nb`; returns mem, or 0 when no gap is left or the kernel refuses. */
export function sysmallocMmap(nb: u64): u64 {
  const size = alignUp(nb + SIZE_SZ, PAGE);
  if (size <= nb || overcommitRefuses(size)) return 0;
  const mm = findGap(size);
  if (mm == 0) return 0;
  mapInsert(mm, size, mm, MAP_CHUNK);
  count(SYS_MMAP, size);
  madviseThp(mm, size);
  setPrevSize(mm, 0);
  setHead(mm, size | IS_MMAPPED);
  const n = param(P_N_MMAPS) + 1;
  setParam(P_N_MMAPS, n);
  if (n > param(P_MAX_N_MMAPS)) setParam(P_MAX_N_MMAPS, n);
  const sum = param(P_MMAPPED_MEM) + size;
  setParam(P_MMAPPED_MEM, sum);
  if (sum > param(P_MAX_MMAPPED_MEM)) setParam(P_MAX_MMAPPED_MEM, sum);
  return chunk2mem(mm);
}

/** sysmalloc: grows the arena (or maps a chunk) when neither the bins nor the top can serve `nb`. 0 = ENOMEM. */
export function sysmalloc(nb: u64, av: u64): u64 {
  let triedMmap = false;
  if (nb >= param(P_MMAP_THRESHOLD) && param(P_N_MMAPS) < nMmapsMax) {
    const mm = sysmallocMmap(nb);
    if (mm != 0) return mm;
    triedMmap = true;
  }
  const oldTop = top(av);
  const oldSize = chunkSize(oldTop);
  const oldEnd = oldTop + oldSize;
  if (!((oldTop == unsortedChunks(av) && oldSize == 0)
    || (oldSize >= MINSIZE && prevInuse(oldTop) && (oldEnd & (PAGE - 1)) == 0))) {
    raise(ABORT, SYSMALLOC_ASSERT);
    return 0;
  }
  if (!isMainArena(av)) {
    if (!growArenaHeap(av, nb)) {
      if (triedMmap) return 0;
      return sysmallocMmap(nb);
    }
    if (systemMem(av) > maxSystemMem(av)) setMaxSystemMem(av, systemMem(av));
  } else if (!growMainHeap(av, nb, oldTop, oldSize, oldEnd)) {
    return 0;
  }
  if (failed()) return 0;
  const p = top(av);
  if (chunkSize(p) >= nb + MINSIZE) return splitTop(av, nb);
  return 0;
}

/**
 * The main-arena half of sysmalloc: move the break, or, when the kernel refuses (a mapping in the way, the
 * overcommit limit, or glibc.malloc.hugetlb=2, which never uses the break), map the space instead and carry on
 * non-contiguous. False when neither gives memory.
 */
function growMainHeap(av: u64, nb: u64, oldTop: u64, oldSize: u64, oldEnd: u64): bool {
  let size = nb + topPad + MINSIZE;
  if (contiguous(av)) size -= oldSize;
  // With transparent huge pages the new break ends on a huge-page boundary: where depends on the break itself.
  if (thpPageSize != 0) size = alignUp(param(P_BRK) + size, thpPageSize) - param(P_BRK);
  else size = alignUp(size, PAGE);
  let brk = MORECORE_FAILURE;
  let sndBrk = MORECORE_FAILURE;
  if (<i64>size > 0) {
    brk = sbrk(<i64>size);
    if (brk != MORECORE_FAILURE) madviseThp(brk, size);
  }
  if (brk == MORECORE_FAILURE) {
    brk = mmapAsMorecore(av, size, nb, oldSize);
    if (brk == MORECORE_FAILURE) return false;
    size = morecoreSize;
    sndBrk = brk + size;
  }
  if (param(P_SBRK_BASE) == 0) setParam(P_SBRK_BASE, brk);
  setSystemMem(av, systemMem(av) + size);
  if (brk == oldEnd && sndBrk == MORECORE_FAILURE) {
    setHead(oldTop, (size + oldSize) | PREV_INUSE);
  } else if (contiguous(av) && oldSize != 0 && brk < oldEnd) {
    raise(ABORT, "break adjusted to free malloc space");
    return true;
  } else {
    // A new start: the first growth, or space that does not continue the old top. The break and every mapping
    // are page aligned, so no chunk needs a front correction.
    let correction: u64 = 0;
    if (contiguous(av)) {
      // Only the first growth gets here (nothing else moves the break), with nothing to make up: sbrk(0).
      if (oldSize != 0) setSystemMem(av, systemMem(av) + brk - oldEnd);
      correction = oldSize;
      const end = brk + size + correction;
      correction += alignUp(end, PAGE) - end;
      sndBrk = sbrk(<i64>correction);
      if (sndBrk == MORECORE_FAILURE) {
        correction = 0;
        sndBrk = sbrk(0);
      } else if (correction != 0) {
        madviseThp(sndBrk, correction);
      }
    } else if (sndBrk == MORECORE_FAILURE) {
      sndBrk = sbrk(0);
    }
    if (sndBrk != MORECORE_FAILURE) {
      setTop(av, brk);
      setHead(brk, (sndBrk - brk + correction) | PREV_INUSE);
      setSystemMem(av, systemMem(av) + correction);
      if (oldSize != 0) fencepostOldTop(av, oldTop, oldSize);
    }
  }
  if (systemMem(av) > maxSystemMem(av)) setMaxSystemMem(av, systemMem(av));
  return true;
}

/** The size of the last mapping mmapAsMorecore made (sysmalloc's `size`, which the fallback updates). */
let morecoreSize: u64 = 0;

/**
 * sysmalloc_mmap_fallback: maps main-arena space when the break cannot move; its start, or MORECORE_FAILURE.
 * glibc 2.36 passes MMAP_AS_MORECORE_SIZE as the rounding unit and the page size as the minimum: a contiguous arena's
 * first mapping (its old top added back in) is rounded up to whole MiB, later ones only to pages. hugetlb=2 asks
 * for huge pages first, which a kernel without reserved huge pages refuses.
 */
function mmapAsMorecore(av: u64, requested: u64, nb: u64, oldSize: u64): u64 {
  let size = requested;
  if (contiguous(av)) size = alignUp(size + oldSize, MMAP_AS_MORECORE_SIZE);
  if (size < PAGE) size = PAGE;
  if (size <= nb || overcommitRefuses(size)) return MORECORE_FAILURE;
  const at = findGap(size);
  if (at == 0) return MORECORE_FAILURE;
  mapInsert(at, size, 0, MAP_MAIN);
  ledgerCover(at, size);
  count(SYS_MMAP, size);
  madviseThp(at, size);
  setFlags(av, flags(av) | NONCONTIGUOUS_BIT);
  morecoreSize = size;
  return at;
}

/**
 * Closes the top a main arena moved away from: two fenceposts at its end keep it from merging with space the
 * arena does not own, and the rest, if a chunk is left, is freed (into the tcache, a bin or a fastbin).
 */
function fencepostOldTop(av: u64, oldTop: u64, oldSize: u64): void {
  const size = (oldSize - 2 * CHUNK_HDR_SZ) & ~MALLOC_ALIGN_MASK;
  setHead(oldTop, size | PREV_INUSE);
  setHead(oldTop + size, CHUNK_HDR_SZ | PREV_INUSE);
  setHead(oldTop + size + CHUNK_HDR_SZ, CHUNK_HDR_SZ | PREV_INUSE);
  if (size >= MINSIZE) intFree(av, oldTop, true);
}

/** systrim: gives back whole pages at the top of the main heap, keeping `pad` bytes. True if the break moved. */
export function systrim(pad: u64, av: u64): bool {
  const topSize = chunkSize(top(av));
  const topArea = topSize - MINSIZE - 1;
  if (topArea <= pad) return false;
  const extra = <i64>((topArea - pad) & ~((thpPageSize != 0 ? thpPageSize : PAGE) - 1));
  if (extra == 0) return false;
  const currentBrk = sbrk(0);
  if (currentBrk != top(av) + topSize) return false;
  sbrk(-extra);
  const newBrk = sbrk(0);
  const released = currentBrk - newBrk;
  if (released == 0) return false;
  setSystemMem(av, systemMem(av) - released);
  setHead(top(av), (topSize - released) | PREV_INUSE);
  setParam(P_TRIMS, param(P_TRIMS) + 1);
  return true;
}

/** The munmap_chunk validity test shared with mremap_chunk. */
// @ts-ignore: decorator
@inline function mmappedChunkValid(p: u64): bool {
  const block = p - prevSize(p);
  const total = prevSize(p) + chunkSize(p);
  const mem = chunk2mem(p) & (PAGE - 1);
  return ((block | total) & (PAGE - 1)) == 0 && (mem & (mem - 1)) == 0;
}

/**
 * munmap(block, total): every mmapped chunk's mapping inside the range goes, whole or in part, as the kernel
 * unmaps whatever lies there, so a forged chunk header whose size spans its neighbours unmaps them too. The
 * arena heaps and the break, which the model still uses for a heap, are left alone.
 */
function unmapRange(block: u64, total: u64): void {
  count(SYS_MUNMAP, total);
  const end = block + total;
  for (let i = <i64>mapCount() - 1; i >= 0; i--) {
    const at = <u64>i;
    const start = mapStart(at);
    const stop = start + mapLength(at);
    if (stop <= block || start >= end || mapKind(at) != MAP_CHUNK) continue;
    const p = mapChunk(at);
    if (p >= block && p < end) {
      // Frames the range shares with a neighbour stay backed: the header must not survive there.
      st64(p, 0);
      st64(p + 8, 0);
    }
    const cutFrom = max(start, block);
    const cutTo = min(stop, end);
    if (start >= block && stop <= end) {
      mapRemove(at);
    } else if (start < block && stop > end) {
      setMapLength(at, block - start);
      mapInsert(end, stop - end, p, MAP_CHUNK);
    } else if (start < block) {
      setMapLength(at, block - start);
    } else {
      setMapStart(at, end);
      setMapLength(at, stop - end);
    }
    metricsRelease(cutFrom, cutTo - cutFrom);
    vmUnmap(cutFrom, cutTo - cutFrom);
  }
}

/** munmap_chunk. False after an abort. */
export function munmapChunk(p: u64): bool {
  if (!mmappedChunkValid(p)) {
    raise(ABORT, "munmap_chunk(): invalid pointer");
    return false;
  }
  const block = p - prevSize(p);
  const total = prevSize(p) + chunkSize(p);
  setParam(P_N_MMAPS, param(P_N_MMAPS) - 1);
  setParam(P_MMAPPED_MEM, param(P_MMAPPED_MEM) - total);
  unmapRange(block, total);
  return true;
}

/** mremap_chunk: resizes the mapping of `p` for `nb`. Returns the chunk, 0 when mremap fails or on abort. */
export function mremapChunk(p: u64, nb: u64): u64 {
  if (!mmappedChunkValid(p)) {
    raise(ABORT, "mremap_chunk(): invalid pointer");
    return 0;
  }
  const offset = prevSize(p);
  const size = chunkSize(p);
  const block = p - offset;
  const total = offset + size;
  const newSize = alignUp(nb + offset + SIZE_SZ, PAGE);
  if (newSize == total) return p;
  if (newSize > total && overcommitRefuses(newSize - total)) return 0;
  const i = mapIndexOf(block);
  if (i < 0) return 0;
  let at = block;
  if (newSize <= total || roomAbove(<u64>i) >= newSize - total) {
    setMapLength(<u64>i, newSize);
    if (newSize < total) vmUnmap(block + newSize, total - newSize);
    if (newSize < total) metricsRelease(block + newSize, total - newSize);
  } else {
    at = findGap(newSize);
    if (at == 0) return 0;
    const requested = mapRequested(<u64>i);
    const object = mapObject(<u64>i);
    const j = mapInsert(at, newSize, at + offset, MAP_CHUNK);
    setMapNotes(j, requested, object);
    vmMap(at + offset, 64);
    setPrevSize(at + offset, offset);
    const k = mapIndexOf(block);
    st64(p, 0);
    st64(p + 8, 0);
    mapRemove(<u64>k);
    metricsRelease(block, total);
    vmUnmap(block, total);
  }
  count(SYS_MREMAP, newSize);
  const np = at + offset;
  setHead(np, (newSize - offset) | IS_MMAPPED);
  const sum = param(P_MMAPPED_MEM) + newSize - total;
  setParam(P_MMAPPED_MEM, sum);
  if (sum > param(P_MAX_MMAPPED_MEM)) setParam(P_MAX_MMAPPED_MEM, sum);
  return np;
}

/** Moves the chunk recorded for the mapping at `block` to `chunk` (memalign's lead on a mmapped chunk). */
export function moveMappedChunk(block: u64, chunk: u64): void {
  const i = mapIndexOf(block);
  if (i >= 0) setMapChunk(<u64>i, chunk);
  vmMap(chunk, 64);
}

