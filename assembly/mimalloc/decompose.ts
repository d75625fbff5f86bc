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

import { metricsAfterOp, metricsEnabled, metricsUseDecomposer } from "../common/metrics";
import { gld, G_RESERVED, G_LIVE_REQUESTED, G_LIVE_BLOCKS } from "./globals";
import { sliceCount, freeList, localFree, threadFree, capacity, blockSize, blockNext } from "./page";
import { slice, sliceIsFree, segmentKind, KIND_HUGE, SLICE_SHIFT, INFO_SLICES, segmentBytes } from "./segment";
import { sortedSegments, sortedSegment, spanEnd, nextSpan } from "./walk";

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
  const live = gld(G_LIVE_REQUESTED);
  const usable = gld(G_LIVE_BLOCKS);
  let pageFree: u64 = 0;
  let pages: u64 = 0;
  let spans: u64 = 0;
  let meta: u64 = 0;
  let segments: u64 = 0;
  const n = sortedSegments();
  for (let i: u64 = 0; i < n; i++) {
    const s = sortedSegment(i);
    segments += segmentBytes(s);
    meta += INFO_SLICES << SLICE_SHIFT;
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
