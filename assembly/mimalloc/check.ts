// The invariant checker: mimalloc's own invariants (the ones its debug build asserts in mi_page_is_valid and
// mi_segment_is_valid), over every live segment, page and queue of the model.
//
//   page:     used + |free| + |local_free| = capacity ≤ reserved (blocks on thread_free or on a heap's delayed
//             list still count as used until collected); every listed block lies on a block
//             boundary of the page, below its capacity, and on one list only
//   queues:   a page sits in the queue of its block size (or in the full queue exactly when flagged in_full), its
//             heap owns it, prev/next agree
//   segments: spans tile the slice records; a free span is in the span queue of its size; `used` counts the pages
//   totals:   the running totals of the footprint's decomposition (totals.ts) equal a walk's

import { ScratchBytes } from "../common/scratch";
import { raise } from "../common/ops";
import {
  violationsBegin, violation, violationCount, firstViolationCode, firstViolationAddress, checkDue,
  checkFailureMessage, CHECK_FAILED,
} from "../common/debug";
import { binOf, BIN_FULL } from "./bins";
import {
  sliceCount, sliceOffset, xblockSize, freeList, localFree, threadFree, capacity, reserved, used, blockSize,
  blockNext, pageStart, pageHeap, isInFull, pageNext, pagePrev,
} from "./page";
import { slice, segmentUsed, segmentKind, KIND_HUGE, sliceIsFree, segmentThread, isAbandoned } from "./segment";
import { sliceBin } from "./bins";
import { queue, queueFirst, queueLast, spanQueue, heapOf } from "./heap";
import { sortedSegments, sortedSegment, spanEnd, nextSpan } from "./walk";
import { totalsMatchWalk } from "./decompose";

export { setCheckEvery, debugLoad64, debugStore64 } from "../common/debug";

export const PAGE_COUNTS: i32 = 1;
export const PAGE_CAPACITY: i32 = 2;
export const LIST_BLOCK: i32 = 3;
export const PAGE_QUEUE: i32 = 4;
export const PAGE_HEAP: i32 = 5;
export const QUEUE_LINKS: i32 = 6;
export const SPAN_TILING: i32 = 7;
export const SPAN_QUEUE: i32 = 8;
export const SEGMENT_USED: i32 = 9;
export const TOTALS_DRIFT: i32 = 10;

/** The message of violation `code`. */
export function checkMessage(code: i32): string {
  switch (code) {
    case PAGE_COUNTS: return "used + |free| + |local_free| != capacity";
    case PAGE_CAPACITY: return "page capacity above its reserved blocks";
    case LIST_BLOCK: return "free-list block outside the page's capacity, misaligned, or listed twice";
    case PAGE_QUEUE: return "page not in the queue of its block size (or in_full disagrees with the full queue)";
    case PAGE_HEAP: return "page not owned by the heap of its segment's thread";
    case QUEUE_LINKS: return "page queue links inconsistent";
    case SPAN_TILING: return "span records do not tile the segment";
    case SPAN_QUEUE: return "free span missing from the span queue of its size";
    case SEGMENT_USED: return "segment's used count differs from its pages";
    case TOTALS_DRIFT: return "the footprint's running totals differ from a walk of the heap";
  }
  return "unknown violation";
}

/** Length of a list (stops past `limit`). */
function listLength(head: u64, limit: u64): u64 {
  let n: u64 = 0;
  for (let b = head; b != 0 && n <= limit; b = blockNext(b)) n++;
  return n;
}

/** True when `page` is linked into queue `q`. */
function inQueue(q: u64, page: u64): bool {
  for (let p = queueFirst(q); p != 0; p = pageNext(p)) if (p == page) return true;
  return false;
}

// listed[index] = 1 once a block index was seen on a list of the page being checked
const listedTable = new ScratchBytes();
let listed: usize = 0;

/** One free list of `page`: blocks on boundaries, below the capacity, listed once over all three lists. */
function checkList(page: u64, head: u64): void {
  const start = pageStart(page, xblockSize(page));
  const bsize = blockSize(page);
  let n: u64 = 0;
  for (let b = head; b != 0 && n <= capacity(page); b = blockNext(b)) {
    n++;
    const index = (b - start) / bsize;
    if (b < start || (b - start) % bsize != 0 || index >= capacity(page) || load<u8>(listed + <usize>index) != 0) {
      violation(LIST_BLOCK, page);
      return;
    }
    store<u8>(listed + <usize>index, 1);
  }
}

/** A page of segment `s`: its counts, lists, owner and queue. */
function checkPage(s: u64, page: u64): void {
  const cap = capacity(page);
  if (cap > reserved(page)) violation(PAGE_CAPACITY, page);
  const free = listLength(freeList(page), cap);
  const local = listLength(localFree(page), cap);
  if (used(page) + free + local != cap) violation(PAGE_COUNTS, page);
  listed = listedTable.reserve(<usize>reserved(page));
  memory.fill(listed, 0, <usize>reserved(page));
  checkList(page, freeList(page));
  checkList(page, localFree(page));
  checkList(page, threadFree(page));
  if (isAbandoned(s)) {
    if (pageHeap(page) != 0) violation(PAGE_HEAP, page); // an abandoned page is in no heap and no queue
    return;
  }
  const heap = heapOf(<i32>(segmentThread(s) - 1));
  if (pageHeap(page) != heap) violation(PAGE_HEAP, page);
  const bin = isInFull(page) ? BIN_FULL : binOf(xblockSize(page));
  if (!inQueue(queue(heap, bin), page)) violation(PAGE_QUEUE, page);
  const prev = pagePrev(page);
  const next = pageNext(page);
  if ((prev != 0 && pageNext(prev) != page) || (next != 0 && pagePrev(next) != page)) violation(QUEUE_LINKS, page);
  const q = queue(heap, bin);
  if ((prev == 0) != (queueFirst(q) == page) || (next == 0) != (queueLast(q) == page)) violation(QUEUE_LINKS, page);
}

/** Segment `s`: its spans tile it, free ones are queued, and `used` counts its pages. */
function checkSegment(s: u64): void {
  const end = spanEnd(s);
  let pages: u64 = 0;
  let sl = slice(s, 0);
  const tld = heapOf(<i32>(segmentThread(s) - 1));
  while (sl < end) {
    if (sliceCount(sl) == 0 || sliceOffset(sl) != 0) {
      violation(SPAN_TILING, sl);
      return;
    }
    if (sl != slice(s, 0)) {
      if (sliceIsFree(sl)) {
        if (segmentKind(s) != KIND_HUGE && !isAbandoned(s) && !inQueue(spanQueue(tld, sliceBin(sliceCount(sl))), sl)) {
          violation(SPAN_QUEUE, sl);
        }
      } else {
        pages++;
        checkPage(s, sl);
      }
    }
    if (segmentKind(s) == KIND_HUGE && sl != slice(s, 0)) break;
    sl = nextSpan(sl);
  }
  if (segmentKind(s) != KIND_HUGE && sl != end) violation(SPAN_TILING, s);
  if (pages != segmentUsed(s)) violation(SEGMENT_USED, s);
}

/** Checks every invariant; writes violation records to `buffer` (up to `capacity`); returns how many it found. */
export function check(buffer: usize, capacity: i32): i32 {
  violationsBegin(buffer, capacity);
  const n = sortedSegments();
  for (let i: u64 = 0; i < n; i++) checkSegment(sortedSegment(i));
  // a heap broken otherwise walks to other parts too: the first violation stays the one that says why
  if (violationCount() == 0 && !totalsMatchWalk()) violation(TOTALS_DRIFT, 0);
  return violationCount();
}

/** The per-operation check of the replay loop (setCheckEvery); false after raising the first violation. */
export function checkAfterOp(): bool {
  if (!checkDue() || check(0, 0) == 0) return true;
  raise(CHECK_FAILED, checkFailureMessage(checkMessage(firstViolationCode()), firstViolationAddress()));
  return false;
}
