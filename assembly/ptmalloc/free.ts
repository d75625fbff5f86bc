// _int_free and malloc_consolidate: tcache first, then fastbins, then coalescing into the unsorted bin or the
// top, with the consolidation and trim that a large merged chunk triggers.
//
//   free(p) ─► tcache (room?) ─► fastbin (≤ global_max_fast) ─► merge prev ─► merge next / top ─► unsorted head
//                                                                             └─ ≥ 64 KiB: consolidate, trim

import { ld64, st64, vmFill } from "../common/vmem";
import { raise, failed } from "../common/ops";
import { count, LOCK_ARENA } from "../common/counters";
import { ABORT } from "./check";
import {
  chunkSize, sizeField, setHead, prevSize, prevInuse, fd, bk, setFoot, inuseBitAt, clearInuseBitAt, chunk2mem,
  misaligned, protectPtr, tcacheIndex, fastbinIndex, inSmallbinRange, setFd, setBk, setFdNextsize, setBkNextsize,
  isMmapped, MINSIZE, CHUNK_HDR_SZ, PREV_INUSE, MALLOC_ALIGN_MASK, FASTBIN_CONSOLIDATION_THRESHOLD,
} from "./chunk";
import {
  fastbinSlot, top, setTop, unsortedChunks, systemMem, setHaveFastchunks, haveFastchunks, contiguous, NFASTBINS,
} from "./mstate";
import {
  tcacheKey, tcacheBins, globalMaxFast, topPad, threadTcache, param, setParam, P_TRIM_THRESHOLD,
  P_CONSOLIDATIONS, singleThread, perturbByte,
} from "./params";
import { tcachePut, tcacheHasRoom, tcacheDoubleFreeCheck } from "./tcache";
import { unlinkChunk, linkUnsortedHead } from "./bins";
import { systrim, munmapChunk } from "./system";
import { listed, delisted, listedUnsorted, LIST_FASTBINS } from "./ledger";
import { isMainArena, heapTrimFor } from "./arena";

/** _int_free(av, p, have_lock). Returns false after an abort. */
export function intFree(av: u64, p: u64, haveLock: bool): bool {
  const size = chunkSize(p);
  if (p > 0 - size || misaligned(p)) {
    raise(ABORT, "free(): invalid pointer");
    return false;
  }
  if (size < MINSIZE || (size & MALLOC_ALIGN_MASK) != 0) {
    raise(ABORT, "free(): invalid size");
    return false;
  }

  const tc = threadTcache();
  const tcIdx = tcacheIndex(size);
  if (tc != 0 && tcIdx < tcacheBins) {
    const e = chunk2mem(p);
    if (ld64(e + 8) == tcacheKey && !tcacheDoubleFreeCheck(tc, e, tcIdx)) return false;
    if (tcacheHasRoom(tc, tcIdx)) {
      tcachePut(tc, p, tcIdx);
      return true;
    }
  }

  if (size <= globalMaxFast) return freeToFastbin(av, p, size, haveLock);
  if (isMmapped(p)) return munmapChunk(p);

  if (singleThread()) haveLock = true;
  if (!haveLock) count(LOCK_ARENA, 0);
  return freeMerging(av, p, size);
}

/** free_perturb: with glibc.malloc.perturb, the freed chunk's payload is filled with the perturb byte. */
// @ts-ignore: decorator
@inline function freePerturb(p: u64, size: u64): void {
  if (perturbByte != 0) vmFill(chunk2mem(p), size - CHUNK_HDR_SZ, <u8>perturbByte);
}

/** The fastbin half of _int_free. */
function freeToFastbin(av: u64, p: u64, size: u64, haveLock: bool): bool {
  const next = p + size;
  if (sizeField(next) <= CHUNK_HDR_SZ || chunkSize(next) >= systemMem(av)) {
    raise(ABORT, "free(): invalid next size (fast)");
    return false;
  }
  freePerturb(p, size);
  setHaveFastchunks(av, true);
  const idx = fastbinIndex(size);
  const fb = fastbinSlot(av, idx);
  const old = ld64(fb);
  if (old == p) {
    raise(ABORT, "double free or corruption (fasttop)");
    return false;
  }
  st64(p + 16, protectPtr(p + 16, old));
  st64(fb, p);
  listed(LIST_FASTBINS, size);
  if (haveLock && old != 0 && fastbinIndex(chunkSize(old)) != idx) {
    raise(ABORT, "invalid fastbin entry (free)");
    return false;
  }
  return true;
}

/** The coalescing half of _int_free: merge with free neighbours, bin at the unsorted head or grow the top. */
function freeMerging(av: u64, p: u64, size: u64): bool {
  const nextchunk = p + size;
  const t = top(av);
  if (p == t) {
    raise(ABORT, "double free or corruption (top)");
    return false;
  }
  if (contiguous(av) && nextchunk >= t + chunkSize(t)) {
    raise(ABORT, "double free or corruption (out)");
    return false;
  }
  if (!prevInuse(nextchunk)) {
    raise(ABORT, "double free or corruption (!prev)");
    return false;
  }
  const nextsize = chunkSize(nextchunk);
  if (sizeField(nextchunk) <= CHUNK_HDR_SZ || nextsize >= systemMem(av)) {
    raise(ABORT, "free(): invalid next size (normal)");
    return false;
  }
  freePerturb(p, size);
  if (!prevInuse(p)) {
    const prevsize = prevSize(p);
    size += prevsize;
    p -= prevsize;
    if (chunkSize(p) != prevsize) {
      raise(ABORT, "corrupted size vs. prev_size while consolidating");
      return false;
    }
    if (!unlinkChunk(av, p)) return false;
  }
  if (nextchunk != top(av)) {
    if (!inuseBitAt(nextchunk, nextsize)) {
      if (!unlinkChunk(av, nextchunk)) return false;
      size += nextsize;
    } else {
      clearInuseBitAt(nextchunk, 0);
    }
    const bck = unsortedChunks(av);
    if (bk(fd(bck)) != bck) {
      raise(ABORT, "free(): corrupted unsorted chunks");
      return false;
    }
    linkUnsortedHead(av, p, size);
    setHead(p, size | PREV_INUSE);
    setFoot(p, size);
  } else {
    size += nextsize;
    setHead(p, size | PREV_INUSE);
    setTop(av, p);
  }
  if (size >= FASTBIN_CONSOLIDATION_THRESHOLD) {
    if (haveFastchunks(av)) {
      mallocConsolidate(av);
      if (failed()) return false;
    }
    if (isMainArena(av)) {
      if (chunkSize(top(av)) >= param(P_TRIM_THRESHOLD)) systrim(topPad, av);
    } else {
      heapTrimFor(av);
    }
  }
  return true;
}

/** malloc_consolidate: empties every fastbin into the unsorted bin (or the top), merging neighbours. */
export function mallocConsolidate(av: u64): void {
  setHaveFastchunks(av, false);
  setParam(P_CONSOLIDATIONS, param(P_CONSOLIDATIONS) + 1);
  const unsortedBin = unsortedChunks(av);
  for (let idx: u64 = 0; idx < NFASTBINS; idx++) {
    const fb = fastbinSlot(av, idx);
    let p = ld64(fb);
    if (p == 0) continue;
    st64(fb, 0);
    do {
      if (misaligned(p)) {
        raise(ABORT, "malloc_consolidate(): unaligned fastbin chunk detected");
        return;
      }
      if (fastbinIndex(chunkSize(p)) != idx) {
        raise(ABORT, "malloc_consolidate(): invalid chunk size");
        return;
      }
      const nextp = protectPtr(p + 16, fd(p));
      let size = chunkSize(p);
      delisted(LIST_FASTBINS, size);
      const nextchunk = p + size;
      const nextsize = chunkSize(nextchunk);
      if (!prevInuse(p)) {
        const prevsize = prevSize(p);
        size += prevsize;
        p -= prevsize;
        if (chunkSize(p) != prevsize) {
          raise(ABORT, "corrupted size vs. prev_size in fastbins");
          return;
        }
        if (!unlinkChunk(av, p)) return;
      }
      if (nextchunk != top(av)) {
        if (!inuseBitAt(nextchunk, nextsize)) {
          size += nextsize;
          if (!unlinkChunk(av, nextchunk)) return;
        } else {
          clearInuseBitAt(nextchunk, 0);
        }
        const firstUnsorted = fd(unsortedBin);
        setFd(unsortedBin, p);
        setBk(firstUnsorted, p);
        if (!inSmallbinRange(size)) {
          setFdNextsize(p, 0);
          setBkNextsize(p, 0);
        }
        setHead(p, size | PREV_INUSE);
        setBk(p, unsortedBin);
        setFd(p, firstUnsorted);
        setFoot(p, size);
        listedUnsorted(p, size);
      } else {
        size += nextsize;
        setHead(p, size | PREV_INUSE);
        setTop(av, p);
      }
      p = nextp;
    } while (p != 0);
  }
}
