// Statistics: the counters mi_stats_print reports in a release build (reserved, segments, pages, mmaps, …; the
// per-size counters exist only in debug builds), the model's live totals, and the event counters every model
// keeps.
//
//   statsInto(buffer): one f64 per name of STAT_NAMES, in that order

import { counterCount, counterBytes, SYS_MMAP, SYS_MUNMAP } from "../common/counters";
import {
  gld, G_RESERVED, G_RESERVED_PEAK, G_RESERVED_TOTAL, G_SEGMENTS, G_SEGMENTS_PEAK, G_SEGMENTS_TOTAL, G_PAGES,
  G_PAGES_PEAK, G_PAGES_TOTAL, G_MMAP_CALLS, G_MUNMAP_CALLS, G_SEGMENT_CACHE_HITS, G_THREADS, G_PAGES_EXTENDED,
  G_PAGES_RETIRE_DELAYED, G_SEARCHES, G_HUGE_COUNT, G_LARGE_COUNT, G_NORMAL_COUNT, G_LIVE_REQUESTED, G_LIVE_BLOCKS,
} from "./globals";

export const STAT_NAMES = "reserved.current,reserved.peak,reserved.total,segments.current,segments.peak,"
  + "segments.total,pages.current,pages.peak,pages.total,mmaps,munmaps,segment_cache_hits,threads,pages_extended,"
  + "page_no_retire,searches,huge_count,large_count,normal_count,live_requested,live_block_bytes,"
  + "syscalls.mmap,syscalls.mmap_bytes,syscalls.munmap,syscalls.munmap_bytes";

const FIELDS: StaticArray<u64> = [
  G_RESERVED, G_RESERVED_PEAK, G_RESERVED_TOTAL, G_SEGMENTS, G_SEGMENTS_PEAK, G_SEGMENTS_TOTAL, G_PAGES,
  G_PAGES_PEAK, G_PAGES_TOTAL, G_MMAP_CALLS, G_MUNMAP_CALLS, G_SEGMENT_CACHE_HITS, G_THREADS, G_PAGES_EXTENDED,
  G_PAGES_RETIRE_DELAYED, G_SEARCHES, G_HUGE_COUNT, G_LARGE_COUNT, G_NORMAL_COUNT, G_LIVE_REQUESTED, G_LIVE_BLOCKS,
];

/** Writes the statistics into `buffer` (STAT_NAMES order); returns how many. */
export function writeStats(buffer: usize): i32 {
  const n = FIELDS.length;
  for (let i = 0; i < n; i++) store<f64>(buffer + (<usize>i << 3), <f64>gld(unchecked(FIELDS[i])));
  const at = buffer + (<usize>n << 3);
  store<f64>(at, counterCount(SYS_MMAP));
  store<f64>(at, counterBytes(SYS_MMAP), 8);
  store<f64>(at, counterCount(SYS_MUNMAP), 16);
  store<f64>(at, counterBytes(SYS_MUNMAP), 24);
  return n + 4;
}
