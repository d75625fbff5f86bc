// Freeing (alloc.c › mi_free and friends). The owning thread pushes a block on its page's `local_free` list;
// other threads push it on the page's `thread_free` list, except the first of them after the page filled up,
// which pushes it on the owning heap's `thread_delayed_free` list so that the owner notices the page again:
//
//   xthread_free low bits   0 use delayed free → the next foreign free goes to the heap's delayed list, sets 2
//                           2 no delayed free  → foreign frees go to thread_free
//   The owner takes its delayed list at its next slow-path allocation, resets the page to 0, and frees each block
//   as its own.

import { raise } from "../common/ops";
import { ld64, st64 } from "../common/vmem";
import {
  localFree, setLocalFree, used, setUsed, isInFull, hasAligned, fullAligned, setBlockNext, threadFree,
  delayedState, setXthreadFree, pageHeap, xblockSize, blockSize, segmentOf, pageStart, USE_DELAYED_FREE,
  NO_DELAYED_FREE,
} from "./page";
import { pageOf, segmentThread, sliceEntries, SLICE_SHIFT, segmentKind, KIND_HUGE, segmentSlices, isAbandoned } from "./segment";
import { pageRetire, pageUnfull, T_DELAYED_FREE } from "./heap";
import { vmIsMapped } from "../common/vmem";
import { pageFreeAdd } from "./totals";

/** _mi_page_ptr_unalign: the start of the block an interior (aligned) pointer points into. */
export function unalign(page: u64, p: u64): u64 {
  const diff = p - pageStart(page, xblockSize(page));
  return p - diff % blockSize(page);
}

/** _mi_free_block: local frees go to `local_free`; the page retires when empty, leaves the full queue if full. */
export function freeBlock(page: u64, local: bool, block: u64): void {
  if (!local) {
    freeBlockMt(page, block);
    return;
  }
  setBlockNext(block, localFree(page));
  setLocalFree(page, block);
  setUsed(page, used(page) - 1);
  if (used(page) == 0) pageRetire(page);
  else if (isInFull(page)) pageUnfull(page);
}

/** _mi_free_block_mt: a free from a thread that does not own the page. */
function freeBlockMt(page: u64, block: u64): void {
  if (delayedState(page) == USE_DELAYED_FREE) {
    const heap = pageHeap(page);
    if (heap != 0) {
      setBlockNext(block, ld64(heap + T_DELAYED_FREE));
      st64(heap + T_DELAYED_FREE, block);
    }
    setXthreadFree(page, threadFree(page) | NO_DELAYED_FREE);
    return;
  }
  setBlockNext(block, threadFree(page));
  setXthreadFree(page, block | delayedState(page));
  pageFreeAdd(blockSize(page));
}

/**
 * The page of a block the model handed out, or 0 after raising an error: mimalloc's release build does not check
 * and would corrupt its lists, the model refuses instead.
 */
export function ownedPage(p: u64): u64 {
  const s = segmentOf(p);
  if ((p & 7) != 0 || !vmIsMapped(s) || (segmentThread(s) == 0 && !isAbandoned(s))) {
    raise(1, "mi_free: invalid pointer (not a block of this heap)");
    return 0;
  }
  const limit = segmentKind(s) == KIND_HUGE ? segmentSlices(s) : sliceEntries(s);
  if ((p - s) >> SLICE_SHIFT >= limit) {
    raise(1, "mi_free: invalid pointer (not a block of this heap)");
    return 0;
  }
  const page = pageOf(p);
  if (xblockSize(page) <= 1 || used(page) == 0) {
    raise(1, "mi_free: invalid pointer (not a block of this heap)");
    return 0;
  }
  // inside a block: only pages that handed out aligned pointers find the block's start
  const start = pageStart(page, xblockSize(page));
  if (p < start || (!hasAligned(page) && (p - start) % blockSize(page) != 0)) {
    raise(1, "mi_free: invalid pointer (inside a block, not its start)");
    return 0;
  }
  return page;
}

/** mi_free by thread `thread`; false (with an error) for a pointer the heap does not own. */
export function miFree(thread: i32, p: u64): bool {
  if (p == 0) return true;
  const page = ownedPage(p);
  if (page == 0) return false;
  const local = segmentThread(segmentOf(p)) == <u64>thread + 1;
  if (local && fullAligned(page) == 0) {
    setBlockNext(p, localFree(page));
    setLocalFree(page, p);
    setUsed(page, used(page) - 1);
    if (used(page) == 0) pageRetire(page);
    return true;
  }
  freeBlock(page, local, hasAligned(page) ? unalign(page, p) : p);
  return true;
}

/** The start of the block holding `p` (an aligned pointer may point inside it). */
export function blockStart(p: u64): u64 {
  const page = pageOf(p);
  return hasAligned(page) ? unalign(page, p) : p;
}

/** Bytes of the block holding `p` (its page's block size). */
export function blockBytes(p: u64): u64 {
  return blockSize(pageOf(p));
}

/** mi_usable_size: the block's size, less the offset of an aligned pointer into it. */
export function usableSize(p: u64): u64 {
  if (p == 0) return 0;
  const page = pageOf(p);
  if (!hasAligned(page)) return blockSize(page);
  const block = unalign(page, p);
  return blockSize(page) - (p - block);
}
