// Memory from the system: the simulated program break (sbrk), sysmalloc, mmapped chunks, systrim.
//
//   heap_base                      sbrk_base + system_mem = brk                       mmap_base
//   ├──── main arena heap (brk) ────┤ ··· free address space ··· ├── mappings (grow down) ──┤ libc data
//
// The break moves only in whole pages here, because the initial break is page aligned and every increment is a
// page multiple; so the front and end corrections of sysmalloc are always zero.

import { ledgerCover } from "./ledger";
import { st64, vmMap, vmUnmap } from "../common/vmem";
import { raise, failed } from "../common/ops";
import { count, SYS_BRK, SYS_MMAP, SYS_MUNMAP, SYS_MREMAP, SYS_MADVISE } from "../common/counters";
import { metricsRelease } from "../common/metrics";
import { overcommitRefuses } from "../common/kernel";
import { ABORT } from "./check";
import {
  chunkSize, setHead, prevSize, setPrevSize, prevInuse, chunk2mem, MINSIZE, SIZE_SZ, PREV_INUSE,
  IS_MMAPPED, NON_MAIN_ARENA,
} from "./chunk";
import {
  top, setTop, unsortedChunks, systemMem, setSystemMem, maxSystemMem, setMaxSystemMem, contiguous,
} from "./mstate";
import {
  PAGE, P_BRK, P_SBRK_BASE, P_MMAP_THRESHOLD, P_N_MMAPS, P_MAX_N_MMAPS, P_MMAPPED_MEM, P_MAX_MMAPPED_MEM, P_TRIMS,
  param, setParam, alignUp, topPad, nMmapsMax, heapBaseAddress, thpPageSize,
} from "./params";
import {
  findGap, mapInsert, mapIndexOf, mapRemove, setMapLength, setMapChunk, mapChunk, mapKind,
  roomAbove, lowestMapping, MAP_CHUNK, mapRequested, mapObject, setMapNotes,
} from "./mmap";
import { isMainArena, growArenaHeap } from "./arena";

const MORECORE_FAILURE: u64 = u64.MAX_VALUE;

const SYSMALLOC_ASSERT: string = "Fatal glibc error: malloc assertion failure in sysmalloc: (old_top == initial_top (av) && old_size == 0) || ((unsigned long) (old_size) >= MINSIZE && prev_inuse (old_top) && ((unsigned long) old_end & (pagesize - 1)) == 0)";

/**
 * sbrk(increment): the old break, or MORECORE_FAILURE when the break would leave [heap_base, lowest mapping] or
 * the kernel's overcommit heuristic refuses the increment.
 * SYS_BRK counts only the calls that move the break: glibc's sbrk(0) queries are answered from its cached break
 * without a system call.
 */
export function sbrk(increment: i64): u64 {
  const old = param(P_BRK);
  if (increment == 0) return old;
  const moved = old + <u64>increment;
  if (increment > 0
    ? (moved < old || moved > lowestMapping() || overcommitRefuses(<u64>increment))
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

/** The brk half of sysmalloc for the main arena. False when the break cannot move. */
function growMainHeap(av: u64, nb: u64, oldTop: u64, oldSize: u64, oldEnd: u64): bool {
  let size = nb + topPad + MINSIZE;
  if (contiguous(av)) size -= oldSize;
  // With transparent huge pages the new break ends on a huge-page boundary: where depends on the break itself.
  if (thpPageSize != 0) size = alignUp(param(P_BRK) + size, thpPageSize) - param(P_BRK);
  else size = alignUp(size, PAGE);
  if (<i64>size <= 0) return false;
  const brk = sbrk(<i64>size);
  if (brk == MORECORE_FAILURE) return false;
  madviseThp(brk, size);
  if (param(P_SBRK_BASE) == 0) setParam(P_SBRK_BASE, brk);
  setSystemMem(av, systemMem(av) + size);
  if (brk == oldEnd) {
    setHead(oldTop, (size + oldSize) | PREV_INUSE);
  } else if (oldSize != 0 && brk < oldEnd) {
    raise(ABORT, "break adjusted to free malloc space");
    return true;
  } else {
    // The first growth: the dummy top (the unsorted bin header) is replaced by the new space.
    setTop(av, brk);
    setHead(brk, size | PREV_INUSE);
  }
  if (systemMem(av) > maxSystemMem(av)) setMaxSystemMem(av, systemMem(av));
  return true;
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
 * Removes the mapping [block, block + total) from the area and releases its simulated memory. A forged chunk
 * header that names no mapped chunk costs the munmap call but releases nothing: the model never gives up memory
 * it still uses for a heap.
 */
function unmapRange(block: u64, total: u64): void {
  count(SYS_MUNMAP, total);
  const i = mapIndexOf(block);
  if (i < 0 || mapKind(<u64>i) != MAP_CHUNK) return;
  const p = mapChunk(<u64>i);
  st64(p, 0);
  st64(p + 8, 0);
  mapRemove(<u64>i);
  metricsRelease(block, total);
  vmUnmap(block, total);
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

