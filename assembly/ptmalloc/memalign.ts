// _int_memalign: over-allocate by alignment + MINSIZE, free the leader in front of the aligned chunk and the
// tail behind it (both through _int_free, so they may land in tcache).
//
//   m = _int_malloc(nb + al + MINSIZE)
//   ├── lead (≥ MINSIZE) ──┼── aligned chunk (nb) ──┼── tail (> MINSIZE, else kept) ──┤

import {
  chunkSize, setHead, setHeadSize, prevSize, setPrevSize, setInuseBitAt, isMmapped, chunk2mem, mem2chunk,
  request2size, MINSIZE, PREV_INUSE, IS_MMAPPED, NON_MAIN_ARENA, PTRDIFF_MAX,
} from "./chunk";
import { intMalloc } from "./malloc";
import { intFree } from "./free";
import { moveMappedChunk } from "./system";
import { isMainArena } from "./arena";

/** _int_memalign(av, alignment, bytes); `alignment` is a power of two ≥ 32. Returns mem, 0 on failure. */
export function intMemalign(av: u64, alignment: u64, bytes: u64): u64 {
  if (bytes > PTRDIFF_MAX || alignment > PTRDIFF_MAX) return 0;
  const nb = request2size(bytes);
  if (nb > u64.MAX_VALUE - alignment - MINSIZE) return 0;
  const m = intMalloc(av, nb + alignment + MINSIZE);
  if (m == 0) return 0;
  const arenaBit = isMainArena(av) ? 0 : NON_MAIN_ARENA;
  let p = mem2chunk(m);
  if (m % alignment != 0) {
    let brk = mem2chunk((m + alignment - 1) & (0 - alignment));
    if (brk - p < MINSIZE) brk += alignment;
    const newp = brk;
    const leadsize = brk - p;
    const newsize = chunkSize(p) - leadsize;
    if (isMmapped(p)) {
      moveMappedChunk(p - prevSize(p), newp);
      setPrevSize(newp, prevSize(p) + leadsize);
      setHead(newp, newsize | IS_MMAPPED);
      return chunk2mem(newp);
    }
    setHead(newp, newsize | PREV_INUSE | arenaBit);
    setInuseBitAt(newp, newsize);
    setHeadSize(p, leadsize | arenaBit);
    if (!intFree(av, p, true)) return 0;
    p = newp;
  }
  if (!isMmapped(p)) {
    const size = chunkSize(p);
    if (size > nb + MINSIZE) {
      const remainder = p + nb;
      setHead(remainder, (size - nb) | PREV_INUSE | arenaBit);
      setHeadSize(p, nb);
      if (!intFree(av, remainder, true)) return 0;
    }
  }
  return chunk2mem(p);
}
