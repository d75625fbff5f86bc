// _int_malloc: fastbins, small bins, the unsorted scan with tcache stashing, large bins, the binmap, the top.
//
//   request ─► fastbin ─► small bin ─► (large: consolidate) ─► unsorted scan ─► own large bin ─► binmap ─► top
//                                                                 ▲                                        │
//                                                                 └──── malloc_consolidate, rescan ◄───────┘
//                                                                                          (else sysmalloc)

import { ld64, st64, vmFill } from "../common/vmem";
import { raise, failed } from "../common/ops";
import { ABORT } from "./check";
import {
  chunkSize, sizeField, setHead, prevSize, prevInuse, fd, bk, setFd, setBk, setFdNextsize, setBkNextsize,
  bkNextsize, setFoot, setInuseBitAt, chunk2mem, misaligned, protectPtr, request2size, inSmallbinRange,
  tcacheIndex, fastbinIndex, largebinIndex, MINSIZE, CHUNK_HDR_SZ, PREV_INUSE, NON_MAIN_ARENA, PTRDIFF_MAX,
} from "./chunk";
import {
  fastbinSlot, top, binAt, unsortedChunks, lastRemainder, setLastRemainder, haveFastchunks, systemMem,
  binmapWord, setBinmapWord, BINMAPSIZE,
} from "./mstate";
import { globalMaxFast, tcacheBins, tcacheUnsortedLimit, threadTcache, perturbByte } from "./params";
import { tcachePut, tcacheGet, tcacheHasRoom } from "./tcache";
import { unlinkChunk, placeInBin } from "./bins";
import { mallocConsolidate } from "./free";
import { sysmalloc, splitTop } from "./system";
import { delisted, listedUnsorted, delistedUnsorted, LIST_FASTBINS, LIST_SMALL } from "./ledger";
import { isMainArena } from "./arena";

const MAX_ITERS: i32 = 10000;

// @ts-ignore: decorator
@inline function arenaBit(av: u64): u64 { return isMainArena(av) ? 0 : NON_MAIN_ARENA; }

/** True when the last _int_malloc handed out a chunk it had just stashed in the tcache (return_cached). */
let fromTcache = false;

/**
 * _int_malloc(av, bytes): returns mem, or 0 (ENOMEM or abort; `failed()` tells them apart). With
 * glibc.malloc.perturb the first `bytes` bytes are filled with the perturb byte ^ 0xff, except on the
 * return_cached path, which glibc takes through tcache_get alone.
 */
export function intMalloc(av: u64, bytes: u64): u64 {
  fromTcache = false;
  const mem = intMallocChunk(av, bytes);
  if (perturbByte != 0 && mem != 0 && !fromTcache && !failed()) vmFill(mem, bytes, <u8>(perturbByte ^ 0xff));
  return mem;
}

/** Hands out the last chunk stashed in the tcache's bin `tcIdx` (_int_malloc's return_cached). */
function cachedChunk(tc: u64, tcIdx: u64): u64 {
  fromTcache = true;
  return tcacheGet(tc, tcIdx);
}

/** The body of _int_malloc (see intMalloc). */
function intMallocChunk(av: u64, bytes: u64): u64 {
  if (bytes > PTRDIFF_MAX) return 0;
  const nb = request2size(bytes);
  const tc = threadTcache();
  const tcIdx = tcacheIndex(nb);
  const tcacheEligible = tc != 0 && tcIdx < tcacheBins;

  if (nb <= globalMaxFast) {
    const victim = fromFastbin(av, nb, tc, tcIdx, tcacheEligible);
    if (victim != 0 || failed()) return victim;
  }

  let idx: u64;
  if (inSmallbinRange(nb)) {
    idx = nb >> 4;
    const bin = binAt(av, idx);
    const victim = bk(bin);
    if (victim != bin) return fromSmallbin(av, bin, victim, nb, tc, tcIdx, tcacheEligible);
  } else {
    idx = largebinIndex(nb);
    if (haveFastchunks(av)) {
      mallocConsolidate(av);
      if (failed()) return 0;
    }
  }

  const tcacheNb = tcacheEligible ? nb : 0;
  let returnCached = false;
  let tcacheUnsortedCount: u64 = 0;
  const unsorted = unsortedChunks(av);

  for (;;) {
    let iters: i32 = 0;
    let victim: u64;
    while ((victim = bk(unsorted)) != unsorted) {
      const bck = bk(victim);
      const size = chunkSize(victim);
      const next = victim + size;
      if (size <= CHUNK_HDR_SZ || size > systemMem(av)) {
        raise(ABORT, "malloc(): invalid size (unsorted)");
        return 0;
      }
      if (sizeField(next) < CHUNK_HDR_SZ || sizeField(next) > systemMem(av)) {
        raise(ABORT, "malloc(): invalid next size (unsorted)");
        return 0;
      }
      if ((prevSize(next) & ~(<u64>7)) != size) {
        raise(ABORT, "malloc(): mismatching next->prev_size (unsorted)");
        return 0;
      }
      if (fd(bck) != victim || fd(victim) != unsorted) {
        raise(ABORT, "malloc(): unsorted double linked list corrupted");
        return 0;
      }
      if (prevInuse(next)) {
        raise(ABORT, "malloc(): invalid next->prev_inuse (unsorted)");
        return 0;
      }

      if (inSmallbinRange(nb) && bck == unsorted && victim == lastRemainder(av) && size > nb + MINSIZE) {
        // The last remainder is the sole unsorted chunk: take it out, split, and its remainder is the sole one.
        setBk(unsorted, unsorted);
        setFd(unsorted, unsorted);
        delistedUnsorted(victim, size);
        return splitToUnsorted(av, victim, size, nb, "malloc(): corrupted unsorted chunks", true);
      }

      if (fd(bck) != victim) {
        raise(ABORT, "malloc(): corrupted unsorted chunks 3");
        return 0;
      }
      setBk(unsorted, bck);
      setFd(bck, unsorted);
      delistedUnsorted(victim, size);

      if (size == nb) {
        setInuseBitAt(victim, size);
        if (!isMainArena(av)) setHead(victim, sizeField(victim) | NON_MAIN_ARENA);
        if (tcacheNb != 0 && tcacheHasRoom(tc, tcIdx)) {
          tcachePut(tc, victim, tcIdx);
          returnCached = true;
          continue;
        }
        return chunk2mem(victim);
      }

      if (!placeInBin(av, victim, size)) return 0;

      ++tcacheUnsortedCount;
      if (returnCached && tcacheUnsortedLimit > 0 && tcacheUnsortedCount > tcacheUnsortedLimit) {
        return cachedChunk(tc, tcIdx);
      }
      if (++iters >= MAX_ITERS) break;
    }

    if (returnCached) return cachedChunk(tc, tcIdx);

    if (!inSmallbinRange(nb)) {
      const victim = fromOwnLargebin(av, idx, nb);
      if (victim != 0 || failed()) return victim;
    }

    const fromMap = fromBinmap(av, idx + 1, nb);
    if (fromMap != 0 || failed()) return fromMap;

    const t = top(av);
    const size = chunkSize(t);
    if (size > systemMem(av)) {
      raise(ABORT, "malloc(): corrupted top size");
      return 0;
    }
    if (size >= nb + MINSIZE) return splitTop(av, nb);
    if (haveFastchunks(av)) {
      mallocConsolidate(av);
      if (failed()) return 0;
      idx = inSmallbinRange(nb) ? nb >> 4 : largebinIndex(nb);
    } else {
      return sysmalloc(nb, av);
    }
  }
  return 0;
}

/** The fastbin path, with the stash of further chunks of the same bin into tcache. 0 when the bin is empty. */
function fromFastbin(av: u64, nb: u64, tc: u64, tcIdx: u64, tcacheEligible: bool): u64 {
  const idx = fastbinIndex(nb);
  const fb = fastbinSlot(av, idx);
  const victim = ld64(fb);
  if (victim == 0) return 0;
  if (misaligned(victim)) {
    raise(ABORT, "malloc(): unaligned fastbin chunk detected 2");
    return 0;
  }
  st64(fb, protectPtr(victim + 16, fd(victim)));
  if (fastbinIndex(chunkSize(victim)) != idx) {
    raise(ABORT, "malloc(): memory corruption (fast)");
    return 0;
  }
  delisted(LIST_FASTBINS, chunkSize(victim));
  if (tcacheEligible) {
    let tcVictim: u64;
    while (tcacheHasRoom(tc, tcIdx) && (tcVictim = ld64(fb)) != 0) {
      if (misaligned(tcVictim)) {
        raise(ABORT, "malloc(): unaligned fastbin chunk detected 3");
        return 0;
      }
      st64(fb, protectPtr(tcVictim + 16, fd(tcVictim)));
      delisted(LIST_FASTBINS, chunkSize(tcVictim));
      tcachePut(tc, tcVictim, tcIdx);
    }
  }
  return chunk2mem(victim);
}

/** The small-bin path: the oldest chunk, then stash the following ones into tcache. */
function fromSmallbin(av: u64, bin: u64, victim: u64, nb: u64, tc: u64, tcIdx: u64, tcacheEligible: bool): u64 {
  let bck = bk(victim);
  if (fd(bck) != victim) {
    raise(ABORT, "malloc(): smallbin double linked list corrupted");
    return 0;
  }
  setInuseBitAt(victim, nb);
  setBk(bin, bck);
  setFd(bck, bin);
  delisted(LIST_SMALL, nb);
  if (!isMainArena(av)) setHead(victim, sizeField(victim) | NON_MAIN_ARENA);
  if (tcacheEligible) {
    let tcVictim: u64;
    while (tcacheHasRoom(tc, tcIdx) && (tcVictim = bk(bin)) != bin) {
      bck = bk(tcVictim);
      setInuseBitAt(tcVictim, nb);
      if (!isMainArena(av)) setHead(tcVictim, sizeField(tcVictim) | NON_MAIN_ARENA);
      setBk(bin, bck);
      setFd(bck, bin);
      delisted(LIST_SMALL, nb);
      tcachePut(tc, tcVictim, tcIdx);
    }
  }
  return chunk2mem(victim);
}

/** Hands out `victim` (size `size`, unlinked) for `nb`: whole, or split with the remainder at the unsorted head. */
function splitToUnsorted(av: u64, victim: u64, size: u64, nb: u64, message: string, setsLastRemainder: bool): u64 {
  const remainderSize = size - nb;
  if (remainderSize < MINSIZE) {
    setInuseBitAt(victim, size);
    if (!isMainArena(av)) setHead(victim, sizeField(victim) | NON_MAIN_ARENA);
    return chunk2mem(victim);
  }
  const remainder = victim + nb;
  const bck = unsortedChunks(av);
  const fwd = fd(bck);
  if (bk(fwd) != bck) {
    raise(ABORT, message);
    return 0;
  }
  setBk(remainder, bck);
  setFd(remainder, fwd);
  setFd(bck, remainder);
  setBk(fwd, remainder);
  if (setsLastRemainder) setLastRemainder(av, remainder);
  if (!inSmallbinRange(remainderSize)) {
    setFdNextsize(remainder, 0);
    setBkNextsize(remainder, 0);
  }
  setHead(victim, nb | PREV_INUSE | arenaBit(av));
  setHead(remainder, remainderSize | PREV_INUSE);
  setFoot(remainder, remainderSize);
  listedUnsorted(remainder, remainderSize);
  return chunk2mem(victim);
}

/** A large request served from its own bin: the smallest fitting size, its second chunk if there is one. */
function fromOwnLargebin(av: u64, idx: u64, nb: u64): u64 {
  const bin = binAt(av, idx);
  let victim = fd(bin);
  if (victim == bin || sizeField(victim) < nb) return 0;
  victim = bkNextsize(victim);
  let size: u64;
  while ((size = chunkSize(victim)) < nb) victim = bkNextsize(victim);
  if (victim != bk(bin) && sizeField(victim) == sizeField(fd(victim))) victim = fd(victim);
  if (!unlinkChunk(av, victim)) return 0;
  return splitToUnsorted(av, victim, size, nb, "malloc(): corrupted unsorted chunks", false);
}

/** The binmap scan from bin `idx` upward: the last chunk of the first non-empty bin. 0 when all are empty. */
function fromBinmap(av: u64, idx: u64, nb: u64): u64 {
  let bin = binAt(av, idx);
  let block = idx >> 5;
  let map = binmapWord(av, block);
  let bit: u32 = <u32>1 << <u32>(idx & 31);
  for (;;) {
    if (bit > map || bit == 0) {
      do {
        if (++block >= BINMAPSIZE) return 0;
      } while ((map = binmapWord(av, block)) == 0);
      bin = binAt(av, block << 5);
      bit = 1;
    }
    while ((bit & map) == 0) {
      bin += 16;
      bit <<= 1;
    }
    const victim = bk(bin);
    if (victim == bin) {
      map &= ~bit;
      setBinmapWord(av, block, map);
      bin += 16;
      bit <<= 1;
    } else {
      const size = chunkSize(victim);
      if (!unlinkChunk(av, victim)) return 0;
      return splitToUnsorted(av, victim, size, nb, "malloc(): corrupted unsorted chunks 2", inSmallbinRange(nb));
    }
  }
  return 0;
}

