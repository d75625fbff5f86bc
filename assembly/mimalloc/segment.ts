// Segments (segment.c, segment-cache.c): 32 MiB of address space, 32 MiB aligned, cut into 512 slices of 64 KiB.
// The header (mi_segment_t, 41 304 bytes: a few fields and one 80-byte page record per slice, plus one) takes the
// first slice; the rest are spans, either free (in the owning thread's span queues) or pages.
//
//   segment (normal)
//   ┌─────────────┬─────────────┬─────────────┬───────────────────────────────┬──────────────────────────────┐
//   │ header      │ small page  │ small page  │ medium page (8 slices)        │ free span (slices 11 … 511)  │
//   └─────────────┴─────────────┴─────────────┴───────────────────────────────┴──────────────────────────────┘
//   0             64 KiB        128 KiB       192 KiB                          704 KiB                      32 MiB
//
//   header fields (byte offsets)          a huge segment (one block of more than 16 MiB, or a huge alignment):
//   ╒═══════════════╤═════╕                 the header slice, then one page of every remaining slice; only its
//   │ memid         │   0 │                 first 512 slice records exist
//   │ mem_alignment │  16 │
//   │ mem_align_off │  24 │               A span's first record holds slice_count; the record of its last slice
//   │ abandoned     │ 184 │
//   │ abandon visits│ 192 │
//   │ abandoned_next│ 200 │
//   │ used (pages)  │ 208 │               (and of the next 15, for pages) holds slice_offset, the byte distance
//   │ segment_slices│ 224 │               back to the first record: any address finds its page in two steps.
//   │ info_slices   │ 232 │
//   │ kind          │ 240 │               Free spans are coalesced with free neighbours and pushed at the head of
//   │ slice_entries │ 248 │               the queue of their size bin (35 bins, slice_bin); allocation takes the
//   │ thread_id     │ 256 │               first span of at least the wanted size, searching from the best bin up,
//   │ slices[513]   │ 264 │               and splits off the rest.
//   ╘═══════════════╧═════╛
//
// A thread that exits abandons its segments that still hold blocks (thread_id 0, free spans out of every queue)
// on the process-wide abandoned stack; a thread short of spans pops up to 8 of them (the stack of segments
// visited before refills it when empty), collects their pages, and adopts one that has room (a free span or a
// page of the wanted block size with a free block), or one visited more than 3 times; others go on the visited
// stack. An adopted segment's pages join the heap's queues, its free spans the thread's span queues.
//
// A freed normal segment goes to the process-wide segment cache (1024 slots, lowest free slot first) and is the
// next segment any thread gets (lowest occupied slot); huge segments are unmapped. A forced collect (after an
// allocation failed) empties the cache.

import { ld64, st64 } from "../common/vmem";
import { raise } from "../common/ops";
import { gld, gst, gadd, gaddPeak, CACHE_BASE, CACHE_SLOTS, G_SEGMENTS, G_SEGMENTS_TOTAL, G_PAGES,
  G_PAGES_TOTAL, G_SEGMENT_CACHE_HITS, SEGMENT_LIST, MAX_SEGMENTS, G_SEGMENT_LIST_COUNT, G_ABANDONED,
  G_ABANDONED_VISITED } from "./globals";
import { sliceBin } from "./bins";
import { SEGMENT_SIZE, OS_PAGE, alignUp } from "./os";
import { arenaAllocAligned, arenaFree } from "./arena";
import {
  PAGE_STRUCT, SLICES_OFFSET, HUGE_BLOCK_SIZE, sliceCount, setSliceCount, sliceOffset, setSliceOffset,
  xblockSize, setXblockSize, pageNext, setPageNext, pagePrev, setPagePrev, pageClear, pageFreeBlocksGone, segmentOf, sliceIndex,
  pageStart, used, reserved, threadFree, freeCollect, setPageHeap, setDelayedState, USE_DELAYED_FREE,
} from "./page";
import { spanQueue, tldAdd, T_SEGMENT_COUNT, T_SEGMENT_SIZE, heapThread, pageReclaim } from "./heap";
import { pageBytesAdd, spanBytesAdd, segmentBytesAdd } from "./totals";

// @ts-ignore: decorator
@inline export const SLICE_SHIFT: u64 = 16;
// @ts-ignore: decorator
@inline export const SLICE_SIZE: u64 = 1 << 16;
// @ts-ignore: decorator
@inline export const SLICES_PER_SEGMENT: u64 = SEGMENT_SIZE >> SLICE_SHIFT;
// @ts-ignore: decorator
@inline export const SEGMENT_BIN_MAX: i32 = 35;
// @ts-ignore: decorator
@inline export const MEDIUM_PAGE_SIZE: u64 = 512 << 10;
// @ts-ignore: decorator
@inline export const ALIGNMENT_MAX: u64 = SEGMENT_SIZE >> 1;   // larger alignments get a huge segment
// @ts-ignore: decorator
@inline const MAX_SLICE_OFFSET: u64 = ALIGNMENT_MAX / SLICE_SIZE - 1;
/** sizeof(mi_segment_t) rounded up to OS pages (the header's committed part). */
// @ts-ignore: decorator
@inline const HEADER_BYTES: u64 = (SLICES_OFFSET + (SLICES_PER_SEGMENT + 1) * PAGE_STRUCT + OS_PAGE - 1) & ~(OS_PAGE - 1);
// @ts-ignore: decorator
@inline export const INFO_SLICES: u64 = (HEADER_BYTES + SLICE_SIZE - 1) >> SLICE_SHIFT;

// @ts-ignore: decorator
@inline export const KIND_NORMAL: u64 = 0;
// @ts-ignore: decorator
@inline export const KIND_HUGE: u64 = 1;

// @ts-ignore: decorator
@inline export function memAlignment(s: u64): u64 { return ld64(s + 16); }
// @ts-ignore: decorator
@inline export function memAlignOffset(s: u64): u64 { return ld64(s + 24); }
// @ts-ignore: decorator
@inline function abandonedPages(s: u64): u64 { return ld64(s + 184); }
// @ts-ignore: decorator
@inline function setAbandonedPages(s: u64, v: u64): void { st64(s + 184, v); }
// @ts-ignore: decorator
@inline function abandonVisits(s: u64): u64 { return ld64(s + 192); }
// @ts-ignore: decorator
@inline function setAbandonVisits(s: u64, v: u64): void { st64(s + 192, v); }
// @ts-ignore: decorator
@inline function abandonedNext(s: u64): u64 { return ld64(s + 200); }
// @ts-ignore: decorator
@inline function setAbandonedNext(s: u64, v: u64): void { st64(s + 200, v); }
// @ts-ignore: decorator
@inline export function segmentUsed(s: u64): u64 { return ld64(s + 208); }
// @ts-ignore: decorator
@inline function setSegmentUsed(s: u64, v: u64): void { st64(s + 208, v); }
// @ts-ignore: decorator
@inline export function segmentSlices(s: u64): u64 { return ld64(s + 224); }
// @ts-ignore: decorator
@inline export function infoSlices(s: u64): u64 { return ld64(s + 232); }
// @ts-ignore: decorator
@inline export function segmentKind(s: u64): u64 { return ld64(s + 240); }
// @ts-ignore: decorator
@inline export function sliceEntries(s: u64): u64 { return ld64(s + 248); }
// @ts-ignore: decorator
@inline export function segmentThread(s: u64): u64 { return ld64(s + 256); }
/** An abandoned segment: no thread owns it (a live segment with thread_id 0; its visit count is at least 1). */
// @ts-ignore: decorator
@inline export function isAbandoned(s: u64): bool { return segmentThread(s) == 0 && abandonVisits(s) != 0; }
/** The record of slice `i`. */
// @ts-ignore: decorator
@inline export function slice(s: u64, i: u64): u64 { return s + SLICES_OFFSET + i * PAGE_STRUCT; }
/** Bytes of the segment (huge segments are larger than 32 MiB). */
// @ts-ignore: decorator
@inline export function segmentBytes(s: u64): u64 { return segmentSlices(s) << SLICE_SHIFT; }

/** mi_slice_first: the record that describes the span holding slice record `sl`. */
// @ts-ignore: decorator
@inline export function sliceFirst(sl: u64): u64 { return sl - sliceOffset(sl); }

/** _mi_segment_page_of: the page holding address `p`. */
export function pageOf(p: u64): u64 {
  const s = segmentOf(p);
  return sliceFirst(slice(s, (p - s) >> SLICE_SHIFT));
}

/** A slice record is free when its xblock_size is 0 (pages have a block size, span interiors 1). */
// @ts-ignore: decorator
@inline export function sliceIsFree(sl: u64): bool { return xblockSize(sl) == 0; }

// ── span queues (one set per thread, `spanQueue(tld, bin)`: first, last) ──────────────────────────────────────

/** mi_span_queue_push: a free span goes to the front of its queue. */
function spanQueuePush(q: u64, sl: u64): void {
  setPagePrev(sl, 0);
  const first = ld64(q);
  setPageNext(sl, first);
  st64(q, sl);
  if (first != 0) setPagePrev(first, sl);
  else st64(q + 8, sl);
  setXblockSize(sl, 0);
  spanBytesAdd(sliceCount(sl) << SLICE_SHIFT);
}

/** mi_span_queue_delete: a span leaves its queue and is no longer free. */
function spanQueueDelete(q: u64, sl: u64): void {
  const prev = pagePrev(sl);
  const next = pageNext(sl);
  if (prev != 0) setPageNext(prev, next);
  if (sl == ld64(q)) st64(q, next);
  if (next != 0) setPagePrev(next, prev);
  if (sl == ld64(q + 8)) st64(q + 8, prev);
  setPagePrev(sl, 0);
  setPageNext(sl, 0);
  setXblockSize(sl, 1);
  spanBytesAdd(0 - (sliceCount(sl) << SLICE_SHIFT));
}

/** mi_segment_span_free: slices [index, index + n) become one free span (queued unless the segment is huge). */
function spanFree(tld: u64, s: u64, index: u64, n: u64): void {
  if (n == 0) n = 1;
  const sl = slice(s, index);
  setSliceCount(sl, n);
  setSliceOffset(sl, 0);
  if (n > 1) {
    const last = slice(s, index + n - 1);
    setSliceCount(last, 0);
    setSliceOffset(last, PAGE_STRUCT * (n - 1));
    setXblockSize(last, 0);
  }
  if (segmentKind(s) == KIND_HUGE) setXblockSize(sl, 0);
  else if (isAbandoned(s)) {
    setXblockSize(sl, 0);
    spanBytesAdd(n << SLICE_SHIFT);
  } else spanQueuePush(spanQueue(tld, sliceBin(n)), sl);
}

/** Takes a free span out of the queue of its size (a span of an abandoned segment, or freed while it was, is in none). */
function spanRemoveFromQueue(tld: u64, sl: u64): void {
  const q = spanQueue(tld, sliceBin(sliceCount(sl)));
  if (pagePrev(sl) == 0 && pageNext(sl) == 0 && ld64(q) != sl) {
    setXblockSize(sl, 1);
    spanBytesAdd(0 - (sliceCount(sl) << SLICE_SHIFT));
    return;
  }
  spanQueueDelete(q, sl);
}

/** mi_segment_span_free_coalesce: a freed span merges with free neighbours; returns the merged span. */
function spanFreeCoalesce(tld: u64, sl: u64): u64 {
  const s = segmentOf(sl);
  if (segmentKind(s) == KIND_HUGE) {
    setXblockSize(sl, 0);
    return sl;
  }
  let n = sliceCount(sl);
  const next = sl + n * PAGE_STRUCT;
  if (next < slice(s, sliceEntries(s)) && sliceIsFree(next)) {
    n += sliceCount(next);
    spanRemoveFromQueue(tld, next);
  }
  if (sl > slice(s, 0)) {
    const prev = sliceFirst(sl - PAGE_STRUCT);
    if (sliceIsFree(prev)) {
      n += sliceCount(prev);
      spanRemoveFromQueue(tld, prev);
      sl = prev;
    }
  }
  spanFree(tld, s, sliceIndex(sl), n);
  return sl;
}

/** mi_segment_span_allocate: slices [index, index + n) become a page (block size: the whole span for now). */
function spanAllocate(s: u64, index: u64, n: u64): u64 {
  const sl = slice(s, index);
  setSliceOffset(sl, 0);
  setSliceCount(sl, n);
  const bytes = n << SLICE_SHIFT;
  setXblockSize(sl, bytes >= HUGE_BLOCK_SIZE ? HUGE_BLOCK_SIZE : bytes);
  // back pointers for the first slices (pointers inside a page reach its record in one step)
  let extra = n - 1;
  if (extra > MAX_SLICE_OFFSET) extra = MAX_SLICE_OFFSET;
  const entries = sliceEntries(s);
  if (index + extra >= entries) extra = entries - index - 1;
  for (let i: u64 = 1; i <= extra; i++) {
    const inner = sl + i * PAGE_STRUCT;
    setSliceOffset(inner, PAGE_STRUCT * i);
    setSliceCount(inner, 0);
    setXblockSize(inner, 1);
  }
  // and the last one, for coalescing (huge pages may run past the records: the last record stands in)
  let last = sl + (n - 1) * PAGE_STRUCT;
  const end = slice(s, entries);
  if (last > end) last = end;
  if (last > sl) {
    setSliceOffset(last, last - sl);
    setSliceCount(last, 0);
    setXblockSize(last, 1);
  }
  setSegmentUsed(s, segmentUsed(s) + 1);
  return sl;
}

/** mi_segments_page_find_and_allocate: the first fitting free span, best bin first, split to `n` slices. */
function findAndAllocate(tld: u64, n: u64): u64 {
  for (let bin = sliceBin(n); bin <= SEGMENT_BIN_MAX; bin++) {
    const q = spanQueue(tld, bin);
    for (let sl = ld64(q); sl != 0; sl = pageNext(sl)) {
      if (sliceCount(sl) < n) continue;
      spanQueueDelete(q, sl);
      const s = segmentOf(sl);
      if (sliceCount(sl) > n) {
        spanFree(tld, s, sliceIndex(sl) + n, sliceCount(sl) - n);
        setSliceCount(sl, n);
      }
      return spanAllocate(s, sliceIndex(sl), n);
    }
  }
  return 0;
}

/** mi_segment_calculate_slices: slices of a segment for `required` bytes (0: a normal segment). */
function calculateSlices(required: u64): u64 {
  if (required == 0) return SLICES_PER_SEGMENT;
  return alignUp(required + (INFO_SLICES << SLICE_SHIFT), SLICE_SIZE) >> SLICE_SHIFT;
}

/** _mi_segment_cache_pop: the cached segment in the lowest occupied slot, or 0. */
function cachePop(): u64 {
  for (let i: u64 = 0; i < CACHE_SLOTS; i++) {
    const s = ld64(CACHE_BASE + i * 8);
    if (s != 0) {
      st64(CACHE_BASE + i * 8, 0);
      return s;
    }
  }
  return 0;
}

/** _mi_segment_cache_push: the lowest free slot takes the segment; false when the cache is full. */
function cachePush(s: u64): bool {
  for (let i: u64 = 0; i < CACHE_SLOTS; i++) {
    if (ld64(CACHE_BASE + i * 8) == 0) {
      st64(CACHE_BASE + i * 8, s);
      return true;
    }
  }
  return false;
}

/** _mi_segment_cache_free_all (a forced collect): every cached segment goes back to the arena or the OS. */
export function cacheFreeAll(): void {
  for (let s = cachePop(); s != 0; s = cachePop()) arenaFree(s, SEGMENT_SIZE, SEGMENT_SIZE, 0);
}

/** True when `s` sits in the segment cache (mapped, but nobody's). */
export function isCached(s: u64): bool {
  for (let i: u64 = 0; i < CACHE_SLOTS; i++) if (ld64(CACHE_BASE + i * 8) == s) return true;
  return false;
}

/** Number of live segments (owned by a thread). */
export function segmentCount(): u64 {
  return gld(G_SEGMENT_LIST_COUNT);
}

/** Live segment `i` (unordered). */
export function segmentAt(i: u64): u64 {
  return ld64(SEGMENT_LIST + i * 8);
}

/** Adds `s` to the model's list of live segments; false (with an error) past the model's limit. */
function listSegment(s: u64): bool {
  const n = gld(G_SEGMENT_LIST_COUNT);
  if (n == MAX_SEGMENTS) {
    raise(5, "model limit: more than " + MAX_SEGMENTS.toString() + " live segments");
    return false;
  }
  st64(SEGMENT_LIST + n * 8, s);
  gst(G_SEGMENT_LIST_COUNT, n + 1);
  return true;
}

/** Removes `s` from the list of live segments. */
function unlistSegment(s: u64): void {
  const n = gld(G_SEGMENT_LIST_COUNT);
  for (let i: u64 = 0; i < n; i++) {
    if (segmentAt(i) != s) continue;
    st64(SEGMENT_LIST + i * 8, segmentAt(n - 1));
    gst(G_SEGMENT_LIST_COUNT, n - 1);
    return;
  }
}

/** mi_segment_alloc: a fresh segment for thread `thread` (required = 0: normal; else huge, with its page). */
function segmentAlloc(tld: u64, thread: u64, required: u64, pageAlignment: u64): u64 {
  let slices = calculateSlices(required);
  let alignment = SEGMENT_SIZE;
  let alignOffset: u64 = 0;
  if (pageAlignment > 0) {
    // the block must sit at an aligned offset: the segment is aligned so that its first page is
    alignment = pageAlignment;
    alignOffset = alignUp(INFO_SLICES << SLICE_SHIFT, SEGMENT_SIZE);
    slices = calculateSlices(required + alignOffset - (INFO_SLICES << SLICE_SHIFT));
  }
  const bytes = slices << SLICE_SHIFT;
  let s: u64 = 0;
  if (pageAlignment == 0 && bytes == SEGMENT_SIZE) {
    s = cachePop();
    if (s != 0) gadd(G_SEGMENT_CACHE_HITS, 1);
  }
  if (s == 0) {
    s = arenaAllocAligned(bytes, alignment, alignOffset);
    if (s == 0) return 0;
  } else {
    // a reused segment's header is stale: clear it as mimalloc does when the memory is not known to be zero
    for (let at: u64 = 184; at < SLICES_OFFSET; at += 8) st64(s + at, 0);
    for (let i: u64 = 0; i <= slices; i++) {
      const sl = slice(s, i);
      st64(sl, 0);
      pageClear(sl);
    }
  }
  if (!listSegment(s)) return 0;
  segmentBytesAdd(bytes);
  st64(s + 16, alignment);
  st64(s + 24, alignOffset);
  tldAdd(tld, T_SEGMENT_COUNT, 1);
  tldAdd(tld, T_SEGMENT_SIZE, bytes);
  gaddPeak(G_SEGMENTS, 1);
  gadd(G_SEGMENTS_TOTAL, 1);
  st64(s + 224, slices);
  st64(s + 232, INFO_SLICES);
  st64(s + 240, required == 0 ? KIND_NORMAL : KIND_HUGE);
  st64(s + 248, slices > SLICES_PER_SEGMENT ? SLICES_PER_SEGMENT : slices);
  st64(s + 256, thread + 1);
  spanAllocate(s, 0, INFO_SLICES); // the header's own slices
  setSegmentUsed(s, 0);
  if (required == 0) spanFree(tld, s, INFO_SLICES, sliceEntries(s) - INFO_SLICES);
  return s;
}

/** mi_segment_free: the last page of `s` is gone: its free span leaves the queues, the segment the thread. */
function segmentFree(tld: u64, s: u64): void {
  const end = slice(s, sliceEntries(s));
  for (let sl = slice(s, 0); sl < end; sl += sliceCount(sl) * PAGE_STRUCT) {
    if (sliceIsFree(sl) && segmentKind(s) != KIND_HUGE) spanRemoveFromQueue(tld, sl);
  }
  const bytes = segmentBytes(s);
  tldAdd(tld, T_SEGMENT_COUNT, -1);
  tldAdd(tld, T_SEGMENT_SIZE, -bytes);
  gaddPeak(G_SEGMENTS, -1);
  st64(s + 256, 0);
  unlistSegment(s);
  segmentBytesAdd(0 - bytes);
  if (bytes != SEGMENT_SIZE || memAlignOffset(s) != 0 || segmentKind(s) == KIND_HUGE || !cachePush(s)) {
    arenaFree(s, bytes, memAlignment(s), memAlignOffset(s));
  }
}

/**
 * mi_segments_page_alloc: a page of `required` bytes (small, medium or large, for blocks of `block` bytes) from
 * the thread's spans, else from an adopted abandoned segment, else from a fresh one; 0 also when the adopted
 * segment brought a page of `block` bytes with a free block into the heap's queue (the caller searches again).
 */
export function segmentsPageAlloc(tld: u64, thread: u64, required: u64, block: u64): u64 {
  const pageSize = alignUp(required, required > MEDIUM_PAGE_SIZE ? MEDIUM_PAGE_SIZE : SLICE_SIZE);
  const n = pageSize >> SLICE_SHIFT;
  let page = findAndAllocate(tld, n);
  while (page == 0) {
    const adopted = tryReclaim(tld, n, block);
    if (rightPageReclaimed) return 0;
    if (adopted == 0 && segmentAlloc(tld, thread, 0, 0) == 0) return 0;
    page = findAndAllocate(tld, n);
  }
  if (page != 0) {
    gaddPeak(G_PAGES, 1);
    gadd(G_PAGES_TOTAL, 1);
    pageBytesAdd(sliceCount(page) << SLICE_SHIFT);
  }
  return page;
}

/** mi_segment_huge_page_alloc: a segment of its own for one block of `size` bytes (or a huge alignment). */
export function hugePageAlloc(tld: u64, thread: u64, size: u64, pageAlignment: u64): u64 {
  const s = segmentAlloc(tld, thread, size, pageAlignment);
  if (s == 0) return 0;
  const page = spanAllocate(s, INFO_SLICES, segmentSlices(s) - INFO_SLICES);
  const psize = (segmentSlices(s) - INFO_SLICES) << SLICE_SHIFT;
  setXblockSize(page, psize > HUGE_BLOCK_SIZE ? HUGE_BLOCK_SIZE : psize);
  pageBytesAdd(sliceCount(page) << SLICE_SHIFT);
  gaddPeak(G_PAGES, 1);
  gadd(G_PAGES_TOTAL, 1);
  return page;
}

/**
 * _mi_segment_page_free: an empty page returns its span; an empty segment is freed, one left with nothing but
 * abandoned pages is abandoned.
 */
export function segmentPageFree(tld: u64, page: u64): void {
  const s = segmentOf(page);
  pageClearSpan(tld, page);
  if (segmentUsed(s) == 0) segmentFree(tld, s);
  else if (segmentUsed(s) == abandonedPages(s)) segmentAbandon(tld, s);
}

/** mi_segment_page_clear: an empty page of `s` becomes a free span; returns the span after coalescing. */
function pageClearSpan(tld: u64, page: u64): u64 {
  const s = segmentOf(page);
  gaddPeak(G_PAGES, -1);
  pageBytesAdd(0 - (sliceCount(page) << SLICE_SHIFT));
  pageFreeBlocksGone(page);
  pageClear(page);
  setXblockSize(page, 1);
  const span = spanFreeCoalesce(tld, page);
  setSegmentUsed(s, segmentUsed(s) - 1);
  return span;
}

// ── abandoned segments (a thread exited while they held blocks) ────────────────────────────────────────────

/** Pushes `s` on the stack at global `head`. */
function stackPush(head: u64, s: u64): void {
  setAbandonedNext(s, gld(head));
  gst(head, s);
}

/** mi_abandoned_visited_revisit: the visited stack becomes the abandoned stack, in front of what is left there. */
function revisit(): bool {
  const first = gld(G_ABANDONED_VISITED);
  if (first == 0) return false;
  gst(G_ABANDONED_VISITED, 0);
  let last = first;
  while (abandonedNext(last) != 0) last = abandonedNext(last);
  setAbandonedNext(last, gld(G_ABANDONED));
  gst(G_ABANDONED, first);
  return true;
}

/** mi_abandoned_pop: the top of the abandoned stack (refilled from the visited one when empty), or 0. */
function abandonedPop(): u64 {
  if (gld(G_ABANDONED) == 0 && !revisit()) return 0;
  const s = gld(G_ABANDONED);
  gst(G_ABANDONED, abandonedNext(s));
  setAbandonedNext(s, 0);
  return s;
}

/** mi_segment_abandon: every page of `s` is abandoned: its free spans leave the queues, it leaves the thread. */
function segmentAbandon(tld: u64, s: u64): void {
  const end = slice(s, sliceEntries(s));
  for (let sl = slice(s, 0); sl < end; sl += sliceCount(sl) * PAGE_STRUCT) {
    if (sliceIsFree(sl) && segmentKind(s) != KIND_HUGE) {
      spanRemoveFromQueue(tld, sl);
      setXblockSize(sl, 0); // still free, in no queue
      spanBytesAdd(sliceCount(sl) << SLICE_SHIFT);
    }
  }
  tldAdd(tld, T_SEGMENT_COUNT, -1);
  tldAdd(tld, T_SEGMENT_SIZE, -segmentBytes(s));
  st64(s + 256, 0);
  setAbandonVisits(s, 1);
  stackPush(G_ABANDONED, s);
}

/** _mi_segment_page_abandon: a page with blocks leaves its exiting thread; the last one abandons the segment. */
export function segmentPageAbandon(tld: u64, page: u64): void {
  const s = segmentOf(page);
  setAbandonedPages(s, abandonedPages(s) + 1);
  if (segmentUsed(s) == abandonedPages(s)) segmentAbandon(tld, s);
}

/** The first span after the header's slices. */
// @ts-ignore: decorator
@inline function firstSpan(s: u64): u64 { return slice(s, 0) + sliceCount(slice(s, 0)) * PAGE_STRUCT; }

/** mi_page_has_any_available. */
// @ts-ignore: decorator
@inline function hasAnyAvailable(page: u64): bool { return used(page) < reserved(page) || threadFree(page) != 0; }

/**
 * mi_segment_check_free: collects the pages of abandoned `s` and clears the empty ones; true when a span of
 * `needed` slices is free or a page of `block`-byte blocks has one available.
 */
function checkFree(tld: u64, s: u64, needed: u64, block: u64): bool {
  let hasPage = false;
  const end = slice(s, sliceEntries(s));
  for (let sl = firstSpan(s); sl < end; sl += sliceCount(sl) * PAGE_STRUCT) {
    if (!sliceIsFree(sl)) {
      freeCollect(sl, false);
      if (used(sl) == 0) {
        setAbandonedPages(s, abandonedPages(s) - 1);
        sl = pageClearSpan(tld, sl);
        if (sliceCount(sl) >= needed) hasPage = true;
      } else if (xblockSize(sl) == block && hasAnyAvailable(sl)) {
        hasPage = true;
      }
    } else if (sliceCount(sl) >= needed) {
      hasPage = true;
    }
  }
  return hasPage;
}

/** Set by `reclaim`: a page of the requested block size with a free block joined the heap. */
let rightPageReclaimed = false;

/**
 * mi_segment_reclaim: the thread of `tld` adopts abandoned `s`: pages with blocks join its heap's queues, empty
 * ones and free spans its span queues; returns 0 when nothing was left and the segment was freed.
 */
function reclaim(tld: u64, s: u64, block: u64): u64 {
  rightPageReclaimed = false;
  st64(s + 256, heapThread(tld) + 1);
  setAbandonVisits(s, 0);
  tldAdd(tld, T_SEGMENT_COUNT, 1);
  tldAdd(tld, T_SEGMENT_SIZE, segmentBytes(s));
  const end = slice(s, sliceEntries(s));
  for (let sl = firstSpan(s); sl < end; sl += sliceCount(sl) * PAGE_STRUCT) {
    if (!sliceIsFree(sl)) {
      setAbandonedPages(s, abandonedPages(s) - 1);
      setPageHeap(sl, tld);
      setDelayedState(sl, USE_DELAYED_FREE);
      freeCollect(sl, false);
      if (used(sl) == 0) {
        sl = pageClearSpan(tld, sl);
      } else {
        pageReclaim(tld, sl);
        if (xblockSize(sl) == block && hasAnyAvailable(sl)) rightPageReclaimed = true;
      }
    } else {
      // counted while abandoned (a huge segment's never is); the queue counts it again
      if (segmentKind(s) != KIND_HUGE) spanBytesAdd(0 - (sliceCount(sl) << SLICE_SHIFT));
      sl = spanFreeCoalesce(tld, sl);
    }
  }
  if (segmentUsed(s) == 0) {
    segmentFree(tld, s);
    return 0;
  }
  return s;
}

/**
 * mi_segment_try_reclaim: pops up to 8 abandoned segments; frees the empty ones, adopts the first with room for
 * `needed` slices or `block`-byte blocks (returned) and those visited more than 3 times; the rest go on the
 * visited stack. Returns 0 when none was adopted for the request.
 */
function tryReclaim(tld: u64, needed: u64, block: u64): u64 {
  rightPageReclaimed = false;
  for (let tries = 0; tries < 8; tries++) {
    const s = abandonedPop();
    if (s == 0) break;
    setAbandonVisits(s, abandonVisits(s) + 1);
    const hasPage = checkFree(tld, s, needed, block);
    if (segmentUsed(s) == 0) reclaim(tld, s, 0);
    else if (hasPage) return reclaim(tld, s, block);
    else if (abandonVisits(s) > 3) reclaim(tld, s, 0);
    else stackPush(G_ABANDONED_VISITED, s);
  }
  rightPageReclaimed = false;
  return 0;
}

/**
 * _mi_abandoned_collect (not forced, as at a thread's exit): up to 1024 pops of the abandoned stack (refilled
 * from the visited one when empty); each segment's pages are collected, an empty segment is freed, the others go
 * on the visited stack.
 */
export function abandonedCollect(tld: u64): void {
  for (let tries = 0; tries < 1024; tries++) {
    const s = abandonedPop();
    if (s == 0) return;
    checkFree(tld, s, 0, 0);
    if (segmentUsed(s) == 0) reclaim(tld, s, 0);
    else stackPush(G_ABANDONED_VISITED, s);
  }
}

/** The first block of page `page` (its blocks' size decides the start offset). */
export function pageFirstBlock(page: u64): u64 {
  return pageStart(page, xblockSize(page));
}
