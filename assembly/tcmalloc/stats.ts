// Statistics as MallocExtension reports them (tcmalloc.cc › ExtractStats, GetNumericProperty), followed by the
// event counters every model keeps.
//
//   statsInto(buffer): one f64 per name of STAT_NAMES, in that order

import { ld64 } from "../common/vmem";
import {
  counterCount, counterBytes, SYS_BRK, SYS_MMAP, SYS_MUNMAP, SYS_MREMAP, SYS_MADVISE, LOCK_CENTRAL, LOCK_PAGEHEAP,
} from "../common/counters";
import {
  gld, ALLOC_SPAN, G_BRK, G_META_BYTES, G_SYSTEM_BYTES, G_FREE_BYTES, G_UNMAPPED_BYTES, G_COMMITTED_BYTES,
  G_SCAVENGE_COUNT, G_COMMIT_COUNT, G_TOTAL_COMMIT_BYTES, G_DECOMMIT_COUNT, G_TOTAL_DECOMMIT_BYTES,
  G_RESERVE_COUNT, G_TOTAL_RESERVE_BYTES, G_THREAD_HEAPS, G_HEAP_COUNT, G_THREAD_BYTES, G_TRANSFER_BYTES,
  G_CENTRAL_FREE_BYTES, G_SPAN_TAIL_BYTES,
} from "./globals";
import { numClasses, classToSize, batchSize } from "./sizemap";
import { centralFreeObjects, centralOverheadBytes } from "./central";
import { transferUsed } from "./transfer";
import { cacheSize, nextCache, overallThreadCacheSize } from "./threadcache";

export const STAT_NAMES = "generic.current_allocated_bytes,generic.heap_size,generic.total_physical_bytes,"
  + "tcmalloc.pageheap_free_bytes,tcmalloc.pageheap_unmapped_bytes,tcmalloc.pageheap_committed_bytes,"
  + "tcmalloc.central_cache_free_bytes,tcmalloc.transfer_cache_free_bytes,tcmalloc.thread_cache_free_bytes,"
  + "tcmalloc.current_total_thread_cache_bytes,tcmalloc.max_total_thread_cache_bytes,tcmalloc.slack_bytes,"
  + "tcmalloc.metadata_bytes,tcmalloc.pageheap_scavenge_count,"
  + "tcmalloc.pageheap_commit_count,tcmalloc.pageheap_total_commit_bytes,tcmalloc.pageheap_decommit_count,"
  + "tcmalloc.pageheap_total_decommit_bytes,tcmalloc.pageheap_reserve_count,tcmalloc.pageheap_total_reserve_bytes,"
  + "tcmalloc.spans_in_use,tcmalloc.thread_heaps_in_use,program_break,"
  + "syscalls.brk,syscalls.brk_bytes,syscalls.mmap,syscalls.mmap_bytes,syscalls.munmap,syscalls.munmap_bytes,"
  + "syscalls.mremap,syscalls.madvise,syscalls.madvise_bytes,locks.central,locks.pageheap";

// The running totals the model keeps (globals.ts), and the sums over classes and caches they stand for: the
// checker holds the two equal.

/** Bytes of the free objects inside the spans of the central lists. */
export function centralObjectBytes(): u64 { return gld(G_CENTRAL_FREE_BYTES); }

/** Bytes at the ends of small-object spans that no object fits in. */
export function spanTailBytes(): u64 { return gld(G_SPAN_TAIL_BYTES); }

/** Bytes in central free lists as MallocExtension counts them: free objects plus span tails. */
export function centralBytes(): u64 {
  return centralObjectBytes() + spanTailBytes();
}

/** Bytes in transfer caches (full batches). */
export function transferBytes(): u64 { return gld(G_TRANSFER_BYTES); }

/** Bytes in all thread caches. */
export function threadBytes(): u64 { return gld(G_THREAD_BYTES); }

/** True when every running total equals the sum over the classes and caches it stands for. */
export function runningTotalsHold(): bool {
  let central: u64 = 0;
  let tails: u64 = 0;
  let transfer: u64 = 0;
  const n = numClasses();
  for (let cl = 1; cl < n; cl++) {
    central += classToSize(cl) * centralFreeObjects(cl);
    tails += centralOverheadBytes(cl);
    transfer += classToSize(cl) * <u64>transferUsed(cl) * <u64>batchSize(cl);
  }
  let thread: u64 = 0;
  for (let tc = gld(G_THREAD_HEAPS); tc != 0; tc = nextCache(tc)) thread += cacheSize(tc);
  return central == centralObjectBytes() && tails == spanTailBytes() && transfer == transferBytes()
    && thread == threadBytes();
}

let out: usize = 0;
let written: i32 = 0;

// @ts-ignore: decorator
@inline function emit(value: f64): void {
  store<f64>(out + (<usize>written << 3), value);
  written++;
}

/** Writes the statistics (STAT_NAMES order) into `buffer`; returns how many. */
export function writeStats(buffer: usize): i32 {
  const system = gld(G_SYSTEM_BYTES);
  const free = gld(G_FREE_BYTES);
  const unmapped = gld(G_UNMAPPED_BYTES);
  const central = centralBytes();
  const transfer = transferBytes();
  const thread = threadBytes();
  const meta = gld(G_META_BYTES);
  out = buffer;
  written = 0;
  emit(<f64>(system - thread - central - transfer - free - unmapped));
  emit(<f64>system);
  emit(<f64>(system + meta - unmapped));
  emit(<f64>free);
  emit(<f64>unmapped);
  emit(<f64>gld(G_COMMITTED_BYTES));
  emit(<f64>central);
  emit(<f64>transfer);
  emit(<f64>thread);
  emit(<f64>thread);
  emit(<f64>overallThreadCacheSize);
  emit(<f64>(free + unmapped));
  emit(<f64>meta);
  emit(<f64>gld(G_SCAVENGE_COUNT));
  emit(<f64>gld(G_COMMIT_COUNT));
  emit(<f64>gld(G_TOTAL_COMMIT_BYTES));
  emit(<f64>gld(G_DECOMMIT_COUNT));
  emit(<f64>gld(G_TOTAL_DECOMMIT_BYTES));
  emit(<f64>gld(G_RESERVE_COUNT));
  emit(<f64>gld(G_TOTAL_RESERVE_BYTES));
  emit(<f64>ld64(ALLOC_SPAN + 24));
  emit(<f64>gld(G_HEAP_COUNT));
  emit(<f64>gld(G_BRK));
  emit(counterCount(SYS_BRK));
  emit(counterBytes(SYS_BRK));
  emit(counterCount(SYS_MMAP));
  emit(counterBytes(SYS_MMAP));
  emit(counterCount(SYS_MUNMAP));
  emit(counterBytes(SYS_MUNMAP));
  emit(counterCount(SYS_MREMAP));
  emit(counterCount(SYS_MADVISE));
  emit(counterBytes(SYS_MADVISE));
  emit(counterCount(LOCK_CENTRAL));
  emit(counterCount(LOCK_PAGEHEAP));
  return written;
}
