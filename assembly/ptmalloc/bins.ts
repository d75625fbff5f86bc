// Doubly-linked bins: unlink, the unsorted bin's head insertion, and the sorted large-bin insertion.
//
//   large bin (descending sizes from the head); fd_nextsize/bk_nextsize link the first chunk of each size
//
//   bin ⇄ [0x1400] ⇄ [0x1400] ⇄ [0x1100] ⇄ [0x1000] ⇄ bin
//            ▲  nextsize ring     ▲            ▲
//            └────────────────────┴────────────┘

import { raise } from "../common/ops";
import { ABORT } from "./check";
import {
  chunkSize, sizeField, prevSize, fd, bk, fdNextsize, bkNextsize, setFd, setBk, setFdNextsize, setBkNextsize,
  inSmallbinRange, largebinIndex as largebinIndexOf, PREV_INUSE,
} from "./chunk";
import { binAt, markBin, unsortedChunks } from "./mstate";
import { listedUnsorted, listedSorted, unlinked } from "./ledger";

/** unlink_chunk: takes `p` out of its bin. False after an abort. */
export function unlinkChunk(av: u64, p: u64): bool {
  if (chunkSize(p) != prevSize(p + chunkSize(p))) {
    raise(ABORT, "corrupted size vs. prev_size");
    return false;
  }
  const f = fd(p);
  const b = bk(p);
  if (bk(f) != p || fd(b) != p) {
    raise(ABORT, "corrupted double-linked list");
    return false;
  }
  setBk(f, b);
  setFd(b, f);
  if (!inSmallbinRange(sizeField(p)) && fdNextsize(p) != 0) {
    const fn = fdNextsize(p);
    const bn = bkNextsize(p);
    if (bkNextsize(fn) != p || fdNextsize(bn) != p) {
      raise(ABORT, "corrupted double-linked list (not small)");
      return false;
    }
    if (fdNextsize(f) == 0) {
      if (fn == p) {
        setFdNextsize(f, f);
        setBkNextsize(f, f);
      } else {
        setFdNextsize(f, fn);
        setBkNextsize(f, bn);
        setBkNextsize(fn, f);
        setFdNextsize(bn, f);
      }
    } else {
      setBkNextsize(fn, bn);
      setFdNextsize(bn, fn);
    }
  }
  unlinked(p);
  return true;
}

/** Puts free chunk `p` of `size` at the head of the unsorted bin (the caller ran the list check). */
// @ts-ignore: decorator
@inline export function linkUnsortedHead(av: u64, p: u64, size: u64): void {
  const bck = unsortedChunks(av);
  const fwd = fd(bck);
  setFd(p, fwd);
  setBk(p, bck);
  if (!inSmallbinRange(size)) {
    setFdNextsize(p, 0);
    setBkNextsize(p, 0);
  }
  setFd(bck, p);
  setBk(fwd, p);
  listedUnsorted(p, size);
}

/** The unsorted scan's binning of `victim` (size `size`, taken off the unsorted bin). False after an abort. */
export function placeInBin(av: u64, victim: u64, size: u64): bool {
  let victimIndex: u64;
  let bck: u64;
  let fwd: u64;
  if (inSmallbinRange(size)) {
    victimIndex = size >> 4;
    bck = binAt(av, victimIndex);
    fwd = fd(bck);
  } else {
    victimIndex = largebinIndexOf(size);
    bck = binAt(av, victimIndex);
    fwd = fd(bck);
    if (fwd != bck) {
      const s = size | PREV_INUSE;
      if (s < sizeField(bk(bck))) {
        fwd = bck;
        bck = bk(bck);
        setFdNextsize(victim, fd(fwd));
        setBkNextsize(victim, bkNextsize(fd(fwd)));
        setBkNextsize(fd(fwd), victim);
        setFdNextsize(bkNextsize(victim), victim);
      } else {
        while (s < sizeField(fwd)) fwd = fdNextsize(fwd);
        if (s == sizeField(fwd)) {
          fwd = fd(fwd);
        } else {
          setFdNextsize(victim, fwd);
          setBkNextsize(victim, bkNextsize(fwd));
          if (fdNextsize(bkNextsize(fwd)) != fwd) {
            raise(ABORT, "malloc(): largebin double linked list corrupted (nextsize)");
            return false;
          }
          setBkNextsize(fwd, victim);
          setFdNextsize(bkNextsize(victim), victim);
        }
        bck = bk(fwd);
        if (fd(bck) != fwd) {
          raise(ABORT, "malloc(): largebin double linked list corrupted (bk)");
          return false;
        }
      }
    } else {
      setFdNextsize(victim, victim);
      setBkNextsize(victim, victim);
    }
  }
  markBin(av, victimIndex);
  setBk(victim, bck);
  setFd(victim, fwd);
  setBk(fwd, victim);
  setFd(bck, victim);
  listedSorted(size);
  return true;
}
