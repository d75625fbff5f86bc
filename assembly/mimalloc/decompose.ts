// Where mimalloc's footprint goes, and the replay-metrics hook of the model.
//
// The footprint is what the library holds mapped from the OS (reserved: live segments and cached ones). It
// splits into parts, each computed from the model's state:
//
//   part           what
//   ─────────────  ──────────────────────────────────────────────────────────────────────────────────────────
//   live           bytes the program asked for, in every allocated block
//   rounding       an allocated block's bin size (or large page) beyond the request, aligned pointers' offsets
//   pageFree       free blocks on pages (free, local_free, thread_free lists)
//   unusedCapacity blocks of a page not yet linked into its free list, and the page's tail no block fits in
//   freeSpans      free spans of slices inside segments, and whole segments in the segment cache
//   metadata       segment headers (the first slice of every segment)
//
// The parts come from running totals (totals.ts), so a decomposition costs O(1) whatever the heap's size;
// `decomposeByWalk` computes them from a walk of every segment, page and free list, and the checker holds the
// two equal.

import { metricsAfterOp, metricsEnabled, metricsUseDecomposer } from "../common/metrics";
import { gld, G_RESERVED, G_LIVE_REQUESTED, G_LIVE_BLOCKS } from "./globals";
import { sliceCount, freeList, localFree, threadFree, capacity, blockSize, blockNext } from "./page";
import { slice, sliceIsFree, segmentKind, KIND_HUGE, SLICE_SHIFT, INFO_SLICES, segmentBytes } from "./segment";
import { sortedSegments, sortedSegment, spanEnd, nextSpan } from "./walk";
import { totalPageBytes, totalPageFree, totalSpanBytes, totalSegmentBytes } from "./totals";

const PART_NAMES: string = "live,rounding,pageFree,unusedCapacity,freeSpans,metadata";
const PART_COUNT: i32 = 6;

/** Bytes mapped from the OS. */
export function footprintBytes(): u64 {
  return gld(G_RESERVED);
}

/** The metrics hook: op `i` of the batch has completed. */
export function afterOp(ops: usize, i: i32, results: usize): void {
  if (metricsEnabled()) metricsAfterOp(ops, i, results, footprintBytes());
}

/** Comma-separated names of the parts `decompose` writes. */
export function decomposeParts(): string {
  return PART_NAMES;
}

/** Writes the parts of the current footprint at `buffer` (f64 each, adding up to it); returns their number. */
export function decompose(buffer: usize): i32 {
  return writeParts(buffer, totalPageFree(), totalPageBytes(), totalSpanBytes(), totalSegmentBytes());
}

/** The same parts as `decompose`, from a walk of every live segment: the reference the totals are checked against. */
export function decomposeByWalk(buffer: usize): i32 {
  let pageFree: u64 = 0;
  let pages: u64 = 0;
  let spans: u64 = 0;
  let segments: u64 = 0;
  const n = sortedSegments();
  for (let i: u64 = 0; i < n; i++) {
    const s = sortedSegment(i);
    segments += segmentBytes(s);
    const end = spanEnd(s);
    for (let sl = nextSpan(slice(s, 0)); sl < end; sl = nextSpan(sl)) {
      if (sliceIsFree(sl)) {
        spans += sliceCount(sl) << SLICE_SHIFT;
      } else {
        const limit = capacity(sl);
        let free: u64 = 0;
        for (let b = freeList(sl); b != 0 && free <= limit; b = blockNext(b)) free++;
        for (let b = localFree(sl); b != 0 && free <= 2 * limit; b = blockNext(b)) free++;
        for (let b = threadFree(sl); b != 0 && free <= 3 * limit; b = blockNext(b)) free++;
        pageFree += free * blockSize(sl);
        pages += segmentKind(s) == KIND_HUGE ? segmentBytes(s) - (INFO_SLICES << SLICE_SHIFT) : sliceCount(sl) << SLICE_SHIFT;
      }
      if (segmentKind(s) == KIND_HUGE) break;
    }
  }
  return writeParts(buffer, pageFree, pages, spans, segments);
}

/**
 * The parts from bytes of free blocks on pages, of pages, of free spans and of live segments (the rest of the
 * footprint is the segment cache).
 */
function writeParts(buffer: usize, pageFree: u64, pages: u64, spans: u64, segments: u64): i32 {
  const live = gld(G_LIVE_REQUESTED);
  const usable = gld(G_LIVE_BLOCKS);
  // blocks freed by other threads still count as used until collected; they sit in pageFree already
  const unused = pages > usable + pageFree ? pages - usable - pageFree : 0;
  const cached = footprintBytes() > segments ? footprintBytes() - segments : 0;
  store<f64>(buffer, <f64>live);
  store<f64>(buffer, <f64>(usable - live), 8);
  store<f64>(buffer, <f64>pageFree, 16);
  store<f64>(buffer, <f64>unused, 24);
  store<f64>(buffer, <f64>(spans + cached), 32);
  store<f64>(buffer, <f64>footprintBytes() - <f64>(usable + pageFree + unused + spans + cached), 40);
  return PART_COUNT;
}

metricsUseDecomposer(decompose, PART_COUNT);

const totalsParts = memory.data(PART_COUNT * 8);
const walkedParts = memory.data(PART_COUNT * 8);

/** True when the totals' decomposition equals the walk's, part for part (the checker's TOTALS_DRIFT). */
export function totalsMatchWalk(): bool {
  decompose(totalsParts);
  decomposeByWalk(walkedParts);
  return memory.compare(totalsParts, walkedParts, <usize>PART_COUNT << 3) == 0;
}
