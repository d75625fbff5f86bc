// The invariant checker of the TCMalloc model: after any operation, every structure must agree with every other.
//
//   pagemap     every span's first and last page map to it; every page of a small-object span does
//   page heap   spans tile what the heap obtained; free lists are doubly linked, hold spans of their own length
//               and state (large sets: longer than 128 pages, sorted by length then address); every free span
//               is on exactly one list; no two adjacent free spans of the same state are left uncoalesced
//   central     the lists of class c hold in-use spans of class c, "nonempty" ones with free objects and
//               "empty" ones without; num_spans counts them
//   objects     every object of every small-object span is in exactly one place: allocated, a thread cache,
//               the transfer cache or its span's free list; span refcounts and central counters agree
//   stats       free, unmapped and system bytes add up to the spans; thread cache sizes to their lists
//
//   small-object spans found by the walk (scratch, linear memory)
//   ╒══════════╤══════════╤══════════╕
//   │ span u64 │ span u64 │ …        │
//   ╘══════════╧══════════╧══════════╛

import { runningTotalsHold } from "./stats";
import { ld64 } from "../common/vmem";
import { Scratch } from "../common/scratch";
import { raise } from "../common/ops";
import {
  CHECK_FAILED, violationsBegin, violation, violationCount, firstViolationCode, firstViolationAddress, checkDue,
  checkFailureMessage, marksBegin, markable, mark, marked,
} from "../common/debug";
import {
  gld, G_BRK, G_HEAP_START, G_THREAD_HEAPS, G_HEAP_COUNT, G_FREE_BYTES, G_UNMAPPED_BYTES,
  G_SYSTEM_BYTES,
} from "./globals";
import { PAGE_SHIFT, MAX_PAGES, numClasses, classToSize, batchSize } from "./sizemap";
import {
  IN_USE, ON_NORMAL_FREELIST, ON_RETURNED_FREELIST, spanStart, spanLength, spanNext, spanPrev, spanObjects,
  spanRefcount, spanClass, spanLocation,
} from "./span";
import { pagemapGet } from "./pagemap";
import { smallNormalList, smallReturnedList, largeNormal, largeReturned } from "./pageheap";
import { central, emptyList, nonemptyList, centralCounter, centralSpans } from "./central";
import { transferUsed, transferCapacity, transferSlotHead } from "./transfer";
import { freeList, listHead, listLength, cacheSize, nextCache } from "./threadcache";
import { isAllocated } from "./notes";

export { setCheckEvery, debugLoad64, debugStore64 } from "../common/debug";

// ── violation codes ──────────────────────────────────────────────────────────────────────────────────────

export const PAGEMAP_FIRST: i32 = 1;
export const PAGEMAP_LAST: i32 = 2;
export const PAGEMAP_INTERIOR: i32 = 3;
export const SPAN_BAD_LENGTH: i32 = 4;
export const SPAN_BAD_LOCATION: i32 = 5;
export const SPAN_LINKS: i32 = 6;
export const LIST_CYCLE: i32 = 7;
export const FREE_LIST_LENGTH: i32 = 8;
export const FREE_LIST_STATE: i32 = 9;
export const LARGE_SET_ORDER: i32 = 10;
export const FREE_SPAN_UNLISTED: i32 = 11;
export const UNCOALESCED: i32 = 12;
export const CENTRAL_SPAN_STATE: i32 = 13;
export const CENTRAL_LIST_WRONG: i32 = 14;
export const CENTRAL_SPAN_COUNT: i32 = 15;
export const OBJECT_MISPLACED: i32 = 16;
export const OBJECT_TWICE: i32 = 17;
export const OBJECT_ALLOCATED_AND_FREE: i32 = 18;
export const OBJECT_LOST: i32 = 19;
export const SPAN_REFCOUNT: i32 = 20;
export const CENTRAL_COUNTER: i32 = 21;
export const THREAD_LIST_LENGTH: i32 = 22;
export const THREAD_CACHE_SIZE: i32 = 23;
export const THREAD_HEAP_COUNT: i32 = 24;
export const TRANSFER_SLOTS: i32 = 25;
export const TRANSFER_BATCH: i32 = 26;
export const STATS_FREE: i32 = 27;
export const STATS_UNMAPPED: i32 = 28;
export const STATS_SYSTEM: i32 = 29;
export const LARGE_SPAN_UNOWNED: i32 = 30;
export const RUNNING_TOTALS: i32 = 31;

/** What violation `code` means. */
export function checkMessage(code: i32): string {
  switch (code) {
    case PAGEMAP_FIRST: return "the pagemap does not map the span's first page to it";
    case PAGEMAP_LAST: return "the pagemap does not map the span's last page to it";
    case PAGEMAP_INTERIOR: return "the pagemap does not map an interior page of a small-object span to it";
    case SPAN_BAD_LENGTH: return "span of length 0 or reaching past the program break";
    case SPAN_BAD_LOCATION: return "span with an unknown location";
    case SPAN_LINKS: return "span list links disagree (next->prev != span)";
    case LIST_CYCLE: return "list longer than anything it could hold (a cycle)";
    case FREE_LIST_LENGTH: return "page heap free list holds a span of the wrong length";
    case FREE_LIST_STATE: return "page heap free list holds a span of the wrong state";
    case LARGE_SET_ORDER: return "large span set not sorted by (length, start)";
    case FREE_SPAN_UNLISTED: return "free spans and page heap list members differ";
    case UNCOALESCED: return "two adjacent free spans of the same state";
    case CENTRAL_SPAN_STATE: return "central list holds a span that is not an in-use span of its class";
    case CENTRAL_LIST_WRONG: return "span on the nonempty list without free objects, or on the empty list with some";
    case CENTRAL_SPAN_COUNT: return "central num_spans disagrees with the spans of the class";
    case OBJECT_MISPLACED: return "free object outside an object slot of a span of its class";
    case OBJECT_TWICE: return "object in two free lists";
    case OBJECT_ALLOCATED_AND_FREE: return "allocated object also on a free list";
    case OBJECT_LOST: return "object neither allocated nor on any free list";
    case SPAN_REFCOUNT: return "span refcount differs from the objects handed out of it";
    case CENTRAL_COUNTER: return "central free-object counter differs from the objects on its spans";
    case THREAD_LIST_LENGTH: return "thread cache list length differs from its objects";
    case THREAD_CACHE_SIZE: return "thread cache size differs from the bytes on its lists";
    case THREAD_HEAP_COUNT: return "thread heap count differs from the thread heap list";
    case TRANSFER_SLOTS: return "transfer cache uses more slots than its capacity";
    case TRANSFER_BATCH: return "transfer cache slot is not one full batch from head to tail";
    case STATS_FREE: return "pageheap_free_bytes differs from the normal free spans";
    case STATS_UNMAPPED: return "pageheap_unmapped_bytes differs from the returned free spans";
    case STATS_SYSTEM: return "heap size differs from the spans";
    case LARGE_SPAN_UNOWNED: return "in-use large span that no allocation owns";
    case RUNNING_TOTALS: return "a running total of free bytes (thread, transfer, central, span tails) differs from its sum";
    default: return "unknown violation";
  }
}

// ── scratch: the small-object spans of the walk ──────────────────────────────────────────────────────────

const spans = new Scratch(8, 1024);

function keepSpan(s: u64): void {
  store<u64>(spans.push(), s);
}

// @ts-ignore: decorator
@inline function keptSpan(i: i32): u64 { return load<u64>(spans.at(i)); }

// Per-class tallies of one check.
const classSpans = new StaticArray<i64>(128);
const classFreeInSpans = new StaticArray<i64>(128);

// What the span walk found.
let normalSpans: i64 = 0;
let returnedSpans: i64 = 0;
let normalBytes: u64 = 0;
let returnedBytes: u64 = 0;
let spanBytes: u64 = 0;

// ── the page heap's spans ────────────────────────────────────────────────────────────────────────────────

/** Walks the heap's spans by the pagemap, in address order, checking each and tallying what it finds. */
function walkSpans(): void {
  spans.clear();
  normalSpans = 0;
  returnedSpans = 0;
  normalBytes = 0;
  returnedBytes = 0;
  spanBytes = 0;
  for (let cl = 0; cl < 128; cl++) unchecked(classSpans[cl] = 0);
  const end = gld(G_BRK) >> PAGE_SHIFT;
  let p = gld(G_HEAP_START) >> PAGE_SHIFT;
  let previousEnd: u64 = 0;
  let previousLocation: i32 = -1;
  while (p < end) {
    const s = pagemapGet(p);
    if (s == 0 || spanStart(s) != p) {
      p++;
      continue;
    }
    const length = spanLength(s);
    if (length == 0 || p + length > end) {
      violation(SPAN_BAD_LENGTH, p << PAGE_SHIFT);
      p++;
      continue;
    }
    if (pagemapGet(p + length - 1) != s) violation(PAGEMAP_LAST, p << PAGE_SHIFT);
    spanBytes += length << PAGE_SHIFT;
    const location = <i32>spanLocation(s);
    if (location == IN_USE) {
      checkInUseSpan(s, p, length);
    } else if (location == ON_NORMAL_FREELIST || location == ON_RETURNED_FREELIST) {
      if (previousEnd == p && previousLocation == location) violation(UNCOALESCED, p << PAGE_SHIFT);
      if (location == ON_NORMAL_FREELIST) {
        normalSpans++;
        normalBytes += length << PAGE_SHIFT;
      } else {
        returnedSpans++;
        returnedBytes += length << PAGE_SHIFT;
      }
    } else {
      violation(SPAN_BAD_LOCATION, p << PAGE_SHIFT);
    }
    previousEnd = p + length;
    previousLocation = location;
    p += length;
  }
}

function checkInUseSpan(s: u64, p: u64, length: u64): void {
  const cl = spanClass(s);
  if (cl == 0) {
    if (!isAllocated(p << PAGE_SHIFT)) violation(LARGE_SPAN_UNOWNED, p << PAGE_SHIFT);
    return;
  }
  if (cl >= numClasses()) {
    violation(SPAN_BAD_LOCATION, p << PAGE_SHIFT);
    return;
  }
  for (let i: u64 = 1; i + 1 < length; i++) {
    if (pagemapGet(p + i) != s) {
      violation(PAGEMAP_INTERIOR, (p + i) << PAGE_SHIFT);
      break;
    }
  }
  unchecked(classSpans[cl]++);
  keepSpan(s);
}

/**
 * Follows the doubly linked span list at sentinel `list` for at most `limit` spans, checking the links; calls
 * `each(span)` per member. Returns how many members it saw.
 */
function walkList(list: u64, limit: i64, each: (s: u64, list: u64) => void): i64 {
  let n: i64 = 0;
  let s = list;
  do {
    const next = spanNext(s);
    if (spanPrev(next) != s) {
      violation(SPAN_LINKS, s == list ? 0 : spanStart(s) << PAGE_SHIFT);
      return n;
    }
    s = next;
    if (s == list) return n;
    if (++n > limit) {
      violation(LIST_CYCLE, spanStart(s) << PAGE_SHIFT);
      return n;
    }
    each(s, list);
  } while (true);
}

let listedNormal: i64 = 0;
let listedReturned: i64 = 0;
let lastLength: u64 = 0;
let lastStart: u64 = 0;

function checkFreeListMember(s: u64, list: u64): void {
  const length = spanLength(s);
  const location = spanLocation(s);
  const index = (list - smallNormalList(1)) / 48; // normal and returned lists alternate, large sets last
  const normal = index % 2 == 0;
  if (pagemapGet(spanStart(s)) != s) violation(PAGEMAP_FIRST, spanStart(s) << PAGE_SHIFT);
  if (location != (normal ? ON_NORMAL_FREELIST : ON_RETURNED_FREELIST)) {
    violation(FREE_LIST_STATE, spanStart(s) << PAGE_SHIFT);
  }
  if (normal) listedNormal++; else listedReturned++;
  if (list == largeNormal() || list == largeReturned()) {
    if (length <= MAX_PAGES) violation(FREE_LIST_LENGTH, spanStart(s) << PAGE_SHIFT);
    if (length < lastLength || (length == lastLength && spanStart(s) <= lastStart)) {
      violation(LARGE_SET_ORDER, spanStart(s) << PAGE_SHIFT);
    }
    lastLength = length;
    lastStart = spanStart(s);
  } else if (length != index / 2 + 1) {
    violation(FREE_LIST_LENGTH, spanStart(s) << PAGE_SHIFT);
  }
}

/** The page heap's lists: every free span on exactly one, the right one. */
function checkFreeLists(): void {
  listedNormal = 0;
  listedReturned = 0;
  const limit = normalSpans + returnedSpans;
  for (let length: u64 = 1; length <= MAX_PAGES; length++) {
    walkList(smallNormalList(length), limit, checkFreeListMember);
    walkList(smallReturnedList(length), limit, checkFreeListMember);
  }
  lastLength = 0;
  lastStart = 0;
  walkList(largeNormal(), limit, checkFreeListMember);
  lastLength = 0;
  lastStart = 0;
  walkList(largeReturned(), limit, checkFreeListMember);
  if (listedNormal != normalSpans || listedReturned != returnedSpans) violation(FREE_SPAN_UNLISTED, 0);
  if (gld(G_FREE_BYTES) != normalBytes) violation(STATS_FREE, 0);
  if (gld(G_UNMAPPED_BYTES) != returnedBytes) violation(STATS_UNMAPPED, 0);
  if (gld(G_SYSTEM_BYTES) != spanBytes) violation(STATS_SYSTEM, 0);
}

// ── central lists ────────────────────────────────────────────────────────────────────────────────────────

let centralClass: i32 = 0;

function checkCentralMember(s: u64, list: u64): void {
  if (pagemapGet(spanStart(s)) != s) violation(PAGEMAP_FIRST, spanStart(s) << PAGE_SHIFT);
  if (spanLocation(s) != IN_USE || spanClass(s) != centralClass) {
    violation(CENTRAL_SPAN_STATE, spanStart(s) << PAGE_SHIFT);
  }
  const hasFree = spanObjects(s) != 0;
  if (hasFree != (list == nonemptyList(central(centralClass)))) {
    violation(CENTRAL_LIST_WRONG, spanStart(s) << PAGE_SHIFT);
  }
}

function checkCentralLists(): void {
  const n = numClasses();
  for (let cl = 1; cl < n; cl++) {
    centralClass = cl;
    const c = central(cl);
    const limit = <i64>spans.count;
    const listed = walkList(emptyList(c), limit, checkCentralMember) + walkList(nonemptyList(c), limit, checkCentralMember);
    if (listed != <i64>centralSpans(c) || listed != unchecked(classSpans[cl])) violation(CENTRAL_SPAN_COUNT, c);
  }
}

// ── objects ──────────────────────────────────────────────────────────────────────────────────────────────

/** Marks free object `o` of class `cl`; false when it is not a slot of such a span (the caller stops there). */
function markFree(o: u64, cl: i32): bool {
  const s = markable(o) ? pagemapGet(o >> PAGE_SHIFT) : 0;
  if (s == 0 || spanLocation(s) != IN_USE || spanClass(s) != cl) {
    violation(OBJECT_MISPLACED, o);
    return false;
  }
  const base = spanStart(s) << PAGE_SHIFT;
  const size = classToSize(cl);
  if ((o - base) % size != 0 || (o - base) / size >= (spanLength(s) << PAGE_SHIFT) / size) {
    violation(OBJECT_MISPLACED, o);
    return false;
  }
  if (!mark(o)) violation(OBJECT_TWICE, o);
  return true;
}

/** The free objects of each small-object span: linked to the span, counted by its refcount and the central counter. */
function checkSpanObjects(): void {
  for (let cl = 0; cl < 128; cl++) unchecked(classFreeInSpans[cl] = 0);
  for (let i = 0; i < spans.count; i++) {
    const s = keptSpan(i);
    const cl = spanClass(s);
    const size = classToSize(cl);
    const objects = <i64>((spanLength(s) << PAGE_SHIFT) / size);
    const base = spanStart(s) << PAGE_SHIFT;
    const limit = base + <u64>objects * size;
    let free: i64 = 0;
    for (let o = spanObjects(s); o != 0; o = ld64(o)) {
      if (++free > objects) {
        violation(LIST_CYCLE, base);
        break;
      }
      if (o < base || o >= limit || (o - base) % size != 0) {
        violation(OBJECT_MISPLACED, o);
        break;
      }
      if (!mark(o)) violation(OBJECT_TWICE, o);
    }
    if (<i64>spanRefcount(s) != objects - free) violation(SPAN_REFCOUNT, spanStart(s) << PAGE_SHIFT);
    unchecked(classFreeInSpans[cl] += free);
  }
  const n = numClasses();
  for (let cl = 1; cl < n; cl++) {
    if (<i64>centralCounter(central(cl)) != unchecked(classFreeInSpans[cl])) violation(CENTRAL_COUNTER, central(cl));
  }
}

/** Every thread cache: lists as long as they say, sizes as large as their lists. */
function checkThreadCaches(): void {
  const n = numClasses();
  const heaps = <i64>gld(G_HEAP_COUNT);
  let count: i64 = 0;
  for (let tc = gld(G_THREAD_HEAPS); tc != 0; tc = nextCache(tc)) {
    if (++count > heaps) break;
    let bytes: u64 = 0;
    for (let cl = 1; cl < n; cl++) {
      const l = freeList(tc, cl);
      const length = <i64>listLength(l);
      let seen: i64 = 0;
      for (let o = listHead(l); o != 0; o = ld64(o)) {
        if (++seen > length) break;
        if (!markFree(o, cl)) break;
      }
      if (seen != length) violation(THREAD_LIST_LENGTH, l);
      bytes += <u64>seen * classToSize(cl);
    }
    if (cacheSize(tc) != bytes) violation(THREAD_CACHE_SIZE, tc);
  }
  if (count != heaps) violation(THREAD_HEAP_COUNT, gld(G_THREAD_HEAPS));
}

/** The transfer caches: each used slot one full batch, linked from its head to its tail. */
function checkTransferCaches(): void {
  const n = numClasses();
  for (let cl = 1; cl < n; cl++) {
    const used = transferUsed(cl);
    if (used < 0 || used > transferCapacity(cl) || used > 64) {
      violation(TRANSFER_SLOTS, central(cl));
      continue;
    }
    const batch = batchSize(cl);
    for (let slot: i64 = 0; slot < used; slot++) {
      const tail = ld64(central(cl) + 136 + (<u64>slot << 4) + 8);
      let o = transferSlotHead(cl, slot);
      let k = 0;
      let last: u64 = 0;
      while (o != 0 && k < batch) {
        if (!markFree(o, cl)) break;
        last = o;
        o = ld64(o);
        k++;
      }
      if (k != batch || last != tail || o != 0) violation(TRANSFER_BATCH, central(cl) + 136 + (<u64>slot << 4));
    }
  }
}

/** Every slot of every small-object span is allocated or was reached on exactly one free list. */
function checkNothingLost(): void {
  for (let i = 0; i < spans.count; i++) {
    const s = keptSpan(i);
    const size = classToSize(spanClass(s));
    const base = spanStart(s) << PAGE_SHIFT;
    const limit = base + ((spanLength(s) << PAGE_SHIFT) / size) * size;
    for (let o = base; o < limit; o += size) {
      const free = marked(o);
      if (isAllocated(o) == free) violation(free ? OBJECT_ALLOCATED_AND_FREE : OBJECT_LOST, o);
    }
  }
}

// ── entry points ─────────────────────────────────────────────────────────────────────────────────────────

/** Checks every invariant; writes up to `capacity` violation records to `buffer`; returns how many it found. */
export function check(buffer: usize, capacity: i32): i32 {
  violationsBegin(buffer, capacity);
  const heapStart = gld(G_HEAP_START);
  walkSpans();
  checkFreeLists();
  checkCentralLists();
  marksBegin(heapStart, gld(G_BRK) - heapStart, 3);
  checkSpanObjects();
  checkThreadCaches();
  checkTransferCaches();
  checkNothingLost();
  if (!runningTotalsHold()) violation(RUNNING_TOTALS, 0);
  return violationCount();
}

/** Runs the check when one is due (see setCheckEvery); false, with the error raised, when the heap is broken. */
export function checkAfterOp(): bool {
  if (!checkDue() || check(0, 0) == 0) return true;
  raise(CHECK_FAILED, checkFailureMessage(checkMessage(firstViolationCode()), firstViolationAddress()));
  return false;
}
