// Statistics as mallctl("stats.*") reports them after a replay (ctl.c: the sums over every arena), followed by
// the event counters every model keeps.
//
//   statsInto(buffer): one f64 per name of STAT_NAMES, in that order
//
//   allocated  bytes in allocated small regions and large objects (usable sizes)
//   active     pages of active extents (slabs and large extents, pad included)
//   metadata   bytes handed out by the bases, and the library's own allocations (tcache stacks)
//   resident   base pages touched plus active, dirty and muzzy pages
//   mapped     base blocks plus what the page allocators have mapped
//   retained   pages kept mapped in the retained ecaches

import { counterCount, counterBytes, SYS_MMAP, SYS_MUNMAP, SYS_MADVISE } from "../common/counters";
import {
  gld, ald, G_NARENAS, A_EXISTS, A_NACTIVE, A_PAC_MAPPED, A_SMALL_ALLOCATED, A_LARGE_ALLOCATED, A_INTERNAL,
} from "./globals";
import { LG_PAGE } from "./sz";
import { ecacheOf, ecacheNpages, ECACHE_DIRTY, ECACHE_MUZZY, ECACHE_RETAINED } from "./ecache";
import { baseAllocated, baseMapped, baseResident, ctlInit } from "./base";

export const STAT_NAMES = "stats.allocated,stats.active,stats.metadata,stats.resident,stats.mapped,stats.retained,"
  + "stats.dirty,stats.muzzy,stats.arenas,syscalls.mmap,syscalls.mmap_bytes,syscalls.munmap,syscalls.munmap_bytes,"
  + "syscalls.madvise,syscalls.madvise_bytes";

/** Sum over the arenas of `field`. */
function sumArenas(field: u64): u64 {
  let total: u64 = 0;
  const n = <i32>gld(G_NARENAS);
  for (let a = 0; a < n; a++) if (ald(a, A_EXISTS) != 0) total += ald(a, field);
  return total;
}

/** Sum over the arenas of the pages in ecache `which`, in bytes. */
export function ecacheBytes(which: i32): u64 {
  let total: u64 = 0;
  const n = <i32>gld(G_NARENAS);
  for (let a = 0; a < n; a++) if (ald(a, A_EXISTS) != 0) total += ecacheNpages(ecacheOf(a, which)) << LG_PAGE;
  return total;
}

/** stats.allocated. */
export function allocatedBytes(): u64 {
  return sumArenas(A_SMALL_ALLOCATED) + sumArenas(A_LARGE_ALLOCATED);
}

/** stats.active. */
export function activeBytes(): u64 {
  return sumArenas(A_NACTIVE) << LG_PAGE;
}

/** Bytes of every arena's base blocks. */
export function baseBytes(): u64 {
  let total: u64 = 0;
  const n = <i32>gld(G_NARENAS);
  for (let a = 0; a < n; a++) if (ald(a, A_EXISTS) != 0) total += baseMapped(a);
  return total;
}

/** stats.mapped. */
export function mappedBytes(): u64 {
  return baseBytes() + sumArenas(A_PAC_MAPPED);
}

// @ts-ignore: decorator
@inline function put(buffer: usize, i: i32, v: f64): i32 {
  store<f64>(buffer + (<usize>i << 3), v);
  return i + 1;
}

/**
 * Writes the statistics into `buffer` (STAT_NAMES order); returns how many. Reading them is a mallctl: the first
 * one allocates ctl's tables from base 0, as in the library.
 */
export function writeStats(buffer: usize): i32 {
  ctlInit();
  let metadata: u64 = 0;
  let baseTouched: u64 = 0;
  const n = <i32>gld(G_NARENAS);
  for (let a = 0; a < n; a++) {
    if (ald(a, A_EXISTS) == 0) continue;
    metadata += baseAllocated(a) + ald(a, A_INTERNAL);
    baseTouched += baseResident(a);
  }
  const dirty = ecacheBytes(ECACHE_DIRTY);
  const muzzy = ecacheBytes(ECACHE_MUZZY);
  let i = 0;
  i = put(buffer, i, <f64>allocatedBytes());
  i = put(buffer, i, <f64>activeBytes());
  i = put(buffer, i, <f64>metadata);
  i = put(buffer, i, <f64>(baseTouched + activeBytes() + dirty + muzzy));
  i = put(buffer, i, <f64>mappedBytes());
  i = put(buffer, i, <f64>ecacheBytes(ECACHE_RETAINED));
  i = put(buffer, i, <f64>dirty);
  i = put(buffer, i, <f64>muzzy);
  i = put(buffer, i, <f64>n);
  i = put(buffer, i, counterCount(SYS_MMAP));
  i = put(buffer, i, counterBytes(SYS_MMAP));
  i = put(buffer, i, counterCount(SYS_MUNMAP));
  i = put(buffer, i, counterBytes(SYS_MUNMAP));
  i = put(buffer, i, counterCount(SYS_MADVISE));
  return put(buffer, i, counterBytes(SYS_MADVISE));
}
