// _int_realloc: in place (shrink, into the top, into a free next chunk), or move; the tail goes to _int_free.
//
//   old ─┬─ oldsize ≥ nb ──────────────────────────────┐
//        ├─ next is top, old + top ≥ nb + MINSIZE ─► grow into top (no split)
//        ├─ next is a real free chunk, fits ─► absorb ──┤
//        └─ _int_malloc(nb − 15) ─┬─ == next ─► merge ──┼─► split: remainder ≥ MINSIZE to _int_free
//                                 └─ elsewhere ─► free old, return new

import { raise, failed } from "../common/ops";
import { ABORT } from "./check";
import {
  chunkSize, sizeField, setHead, setHeadSize, setInuseBitAt, inuseBitAt, chunk2mem, mem2chunk, MINSIZE,
  CHUNK_HDR_SZ, PREV_INUSE, NON_MAIN_ARENA, MALLOC_ALIGN_MASK,
} from "./chunk";
import { top, setTop, systemMem } from "./mstate";
import { unlinkChunk } from "./bins";
import { intMalloc } from "./malloc";
import { intFree } from "./free";
import { isMainArena } from "./arena";

/** _int_realloc(av, oldp, oldsize, nb): returns mem, 0 on ENOMEM or abort. */
export function intRealloc(av: u64, oldp: u64, oldsize: u64, nb: u64): u64 {
  const arenaBit = isMainArena(av) ? 0 : NON_MAIN_ARENA;
  if (sizeField(oldp) <= CHUNK_HDR_SZ || oldsize >= systemMem(av)) {
    raise(ABORT, "realloc(): invalid old size");
    return 0;
  }
  const next = oldp + oldsize;
  const nextsize = chunkSize(next);
  if (sizeField(next) <= CHUNK_HDR_SZ || nextsize >= systemMem(av)) {
    raise(ABORT, "realloc(): invalid next size");
    return 0;
  }
  let newp = oldp;
  let newsize = oldsize;
  if (oldsize < nb) {
    const t = top(av);
    if (next == t && oldsize + nextsize >= nb + MINSIZE) {
      newsize = oldsize + nextsize;
      setHeadSize(oldp, nb | arenaBit);
      setTop(av, oldp + nb);
      setHead(oldp + nb, (newsize - nb) | PREV_INUSE);
      return chunk2mem(oldp);
    }
    if (next != t && !inuseBitAt(next, nextsize) && oldsize + nextsize >= nb) {
      newsize = oldsize + nextsize;
      if (!unlinkChunk(av, next)) return 0;
    } else {
      const newmem = intMalloc(av, nb - MALLOC_ALIGN_MASK);
      if (newmem == 0) return 0;
      const np = mem2chunk(newmem);
      if (np != next) {
        if (!intFree(av, oldp, true)) return 0;
        return newmem;
      }
      newsize = chunkSize(np) + oldsize;
    }
  }
  const remainderSize = newsize - nb;
  if (remainderSize < MINSIZE) {
    setHeadSize(newp, newsize | arenaBit);
    setInuseBitAt(newp, newsize);
  } else {
    const remainder = newp + nb;
    setHeadSize(newp, nb | arenaBit);
    setHead(remainder, remainderSize | PREV_INUSE | arenaBit);
    setInuseBitAt(remainder, remainderSize);
    if (!intFree(av, remainder, true)) return 0;
  }
  return failed() ? 0 : chunk2mem(newp);
}
