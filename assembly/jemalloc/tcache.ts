// Thread caches (tcache.c, cache_bin.h): per thread, one stack of free objects per size class up to tcache_max
// (small bins and the large classes up to 32 KiB by default). An allocation pops the most recent object; an empty
// small bin is filled from the arena with ncached_max >> lg_fill_div objects (the first filled is handed out
// first); a free into a full bin first flushes its oldest objects down to half. Every 64 KiB allocated, and
// every 64 KiB freed, the thread runs one step of incremental GC over its bins in turn: a bin that kept objects
// unused since the last visit (its low-water mark) flushes 3/4 of them and halves its next fill; a small bin
// that had to be refilled meanwhile doubles its next fill.
//
//   cache bin (TBIN_STRIDE, at thread + 0x100 + TBIN_STRIDE × bin)
//   ╒══════════╤═══════════╤═════╤═════╤══════╤═══════════════════════════════════════════════════╕
//   │ ncached  │ low water │ lgfd│ refl│      │ slots: [0] oldest … [ncached - 1] next to pop        │
//   ╘══════════╧═══════════╧═════╧═════╧══════╧═══════════════════════════════════════════════════╛
//   0          4           8     9     10     16
//
// The tcache's own stacks are one allocation from arena 0 (page aligned, large), made when the thread first
// allocates, as tsd_tcache_data_init does; the model allocates it too, since it occupies the first extent.

import { ld64, st64, ld32, st32, ld8, st8 } from "../common/vmem";
import { NBINS, PAGE, SMALL_MAXCLASS, size2index, index2size, s2u, sa2u, binNregs } from "./sz";
import { eArena, eSlab, eSzind } from "./extent";
import { aadd, A_INTERNAL } from "./globals";
import { baseAllocTcacheInfo } from "./base";
import { rtreeRead } from "./rtree";
import { fillSmall, dallocBinStep, arenaMallocSmall, arenaDallocSmall } from "./bin";
import { paDalloc } from "./pac";
import { largeMalloc, largePalloc, largeDalloc, largeDallocPrep, largeDallocFinish } from "./large";
import { threadRec, tld, tst, T_TCACHE, T_TCACHE_BLOCK, T_NEXT_GC, T_ALLOC_WAIT, T_DALLOC_WAIT, decayTicks } from "./arena";

// @ts-ignore: decorator
@inline const TBIN_BASE: u64 = 0x100;
// @ts-ignore: decorator
@inline const TBIN_STRIDE: u64 = 0x1000;
// @ts-ignore: decorator
@inline const MAX_SLOTS: u32 = <u32>((TBIN_STRIDE - 16) >> 3);
// @ts-ignore: decorator
@inline export const MAX_TBINS: i32 = 120;
// @ts-ignore: decorator
@inline const GC_INCR_BYTES: u64 = 65536;

let tcacheEnabled: bool = true;
let tcacheMax: u64 = 32768;
let nslotsSmallMin: u32 = 20;
let nslotsSmallMax: u32 = 200;
let nslotsLarge: u32 = 20;
let lgNslotsMul: i32 = 1;
let nhbins: i32 = 0;
let allocSize: u64 = 0;
const ncachedMax = new StaticArray<u32>(MAX_TBINS);
/** The objects of one fill or flush, in the order the library hands them over. */
const scratch = new StaticArray<u64>(MAX_SLOTS + 1);
const deferredSlabs = new StaticArray<u64>(MAX_SLOTS + 1);

/** opt.tcache. */
export function setTcache(on: bool): void { tcacheEnabled = on; }
/** opt.tcache_max: the largest class a thread caches. */
export function setTcacheMax(bytes: u64): void { tcacheMax = bytes; }
/** opt.tcache_nslots_small_min. */
export function setNslotsSmallMin(n: u32): void { nslotsSmallMin = n; }
/** opt.tcache_nslots_small_max. */
export function setNslotsSmallMax(n: u32): void { nslotsSmallMax = n; }
/** opt.tcache_nslots_large. */
export function setNslotsLarge(n: u32): void { nslotsLarge = n; }
/** opt.lg_tcache_nslots_mul: small bins hold nregs × 2^mul objects, within the bounds. */
export function setLgNslotsMul(n: i32): void { lgNslotsMul = n; }

/** True when threads have caches (opt.tcache). */
// @ts-ignore: decorator
@inline export function tcacheOn(): bool {
  return tcacheEnabled;
}

/** Cache bins in use (size classes up to tcache_max). */
// @ts-ignore: decorator
@inline export function tcacheBins(): i32 {
  return nhbins;
}

/** Slots of cache bin `b`. */
// @ts-ignore: decorator
@inline export function binCapacity(b: i32): u32 {
  return unchecked(ncachedMax[b]);
}

/** tcache_ncached_max_compute for small bin `b`. */
function smallCapacity(b: i32): u32 {
  let lo = nslotsSmallMin;
  let hi = nslotsSmallMax;
  if (hi > MAX_SLOTS) hi = MAX_SLOTS;
  if (lo % 2 != 0) lo++;
  if (hi % 2 != 0) hi--;
  if (lo < 2) lo = 2;
  if (hi < 2) hi = 2;
  if (lo > hi) lo = hi;
  const nregs = binNregs(b);
  let candidate = lgNslotsMul < 0 ? nregs >> <u32>(-lgNslotsMul) : nregs << <u32>lgNslotsMul;
  if (candidate % 2 != 0) candidate++;
  if (candidate <= lo) return lo;
  return candidate <= hi ? candidate : hi;
}

/** tcache_boot: the bins and their capacities, and the size of a tcache's stacks. */
export function tcacheBoot(): void {
  const maxclass = s2u(tcacheMax);
  nhbins = size2index(maxclass) + 1;
  if (nhbins > MAX_TBINS) nhbins = MAX_TBINS;
  let total: u64 = 16;
  for (let b = 0; b < nhbins; b++) {
    const n = b < NBINS ? smallCapacity(b) : (nslotsLarge > MAX_SLOTS ? MAX_SLOTS : nslotsLarge);
    unchecked(ncachedMax[b] = n);
    total += <u64>n << 3;
  }
  allocSize = sa2u(total, PAGE);
  baseAllocTcacheInfo(nhbins);
}

// @ts-ignore: decorator
@inline function tbin(t: i32, b: i32): u64 {
  return threadRec(t) + TBIN_BASE + <u64>b * TBIN_STRIDE;
}

// @ts-ignore: decorator
@inline export function ncached(t: i32, b: i32): u32 {
  return ld32(tbin(t, b));
}

// @ts-ignore: decorator
@inline function setNcached(bin: u64, n: u32): void {
  st32(bin, n);
}

// @ts-ignore: decorator
@inline export function cachedAt(t: i32, b: i32, i: u32): u64 {
  return ld64(tbin(t, b) + 16 + (<u64>i << 3));
}

// @ts-ignore: decorator
@inline function slot(bin: u64, i: u32): u64 {
  return bin + 16 + (<u64>i << 3);
}

// @ts-ignore: decorator
@inline function lowWater(bin: u64): u32 {
  return ld32(bin + 4);
}

// @ts-ignore: decorator
@inline function setLowWater(bin: u64, n: u32): void {
  st32(bin + 4, n);
}

/** tsd_tcache_data_init: the thread's cache bins, and the allocation that holds their stacks. */
export function tcacheCreate(t: i32): void {
  if (!tcacheEnabled || tld(t, T_TCACHE) != 0) return;
  tst(t, T_TCACHE, 1);
  for (let b = 0; b < nhbins; b++) st8(tbin(t, b) + 8, 1);
  const block = allocSize <= SMALL_MAXCLASS
    ? arenaMallocSmall(t, 0, size2index(allocSize))
    : largePalloc(t, 0, allocSize, PAGE);
  tst(t, T_TCACHE_BLOCK, block);
  aadd(0, A_INTERNAL, allocSize);
}

/** Pops the most recent object of bin `b`, tracking the low-water mark; 0 when empty. */
function pop(bin: u64): u64 {
  const n = ld32(bin);
  if (n == 0) return 0;
  const p = ld64(slot(bin, n - 1));
  setNcached(bin, n - 1);
  if (n - 1 < lowWater(bin)) setLowWater(bin, n - 1);
  return p;
}

/** tcache_alloc_small: from the cache, filling it from arena `a` when empty. */
export function tcacheAllocSmall(t: i32, a: i32, b: i32): u64 {
  const bin = tbin(t, b);
  const p = pop(bin);
  if (p != 0) return p;
  const nfill = unchecked(ncachedMax[b]) >> <u32>ld8(bin + 8);
  const filled = fillSmall(t, a, b, nfill, changetype<usize>(scratch));
  for (let k: u32 = 0; k < filled; k++) st64(slot(bin, filled - 1 - k), unchecked(scratch[k]));
  setNcached(bin, filled);
  st8(bin + 9, 1);
  return pop(bin);
}

/** tcache_alloc_large: from the cache, or straight from the arena (large bins are never filled). */
export function tcacheAllocLarge(t: i32, a: i32, b: i32, size: u64): u64 {
  const p = pop(tbin(t, b));
  if (p != 0) return p;
  return largeMalloc(t, a, s2u(size));
}

/**
 * tcache_bin_flush: returns all but the `rem` most recent objects of bin `b` to their arenas, oldest-but-rem
 * first, one arena at a time; slabs that become empty are freed after all regions are back.
 */
function flush(t: i32, b: i32, rem: u32): void {
  const bin = tbin(t, b);
  const n = ld32(bin);
  let nflush = n - rem;
  for (let k: u32 = 0; k < nflush; k++) unchecked(scratch[k] = ld64(slot(bin, nflush - 1 - k)));
  for (let j: u32 = 0; j < rem; j++) st64(slot(bin, j), ld64(slot(bin, j + nflush)));
  setNcached(bin, rem);
  if (rem < lowWater(bin)) setLowWater(bin, rem);
  const small = b < NBINS;
  let nslabs: u32 = 0;
  while (nflush > 0) {
    const arena = eArena(rtreeRead(unchecked(scratch[0])));
    let ndeferred: u32 = 0;
    for (let i: u32 = 0; i < nflush; i++) {
      const p = unchecked(scratch[i]);
      const e = rtreeRead(p);
      if (eArena(e) != arena) {
        unchecked(scratch[ndeferred++] = p);
        continue;
      }
      if (small) {
        if (dallocBinStep(arena, b, e, p)) unchecked(deferredSlabs[nslabs++] = e);
      } else {
        largeDallocPrep(e);
        largeDallocFinish(e);
      }
    }
    decayTicks(t, nflush - ndeferred);
    nflush = ndeferred;
  }
  for (let i: u32 = 0; i < nslabs; i++) {
    const slab = unchecked(deferredSlabs[i]);
    paDalloc(eArena(slab), slab);
  }
}

/**
 * tcache_destroy at a thread's exit: every bin flushed whole to its objects' arenas, then the block that held the
 * bins' stacks freed without a tcache (an internal allocation of arena 0).
 */
export function tcacheDestroy(t: i32): void {
  if (tld(t, T_TCACHE) == 0) return;
  for (let b = 0; b < nhbins; b++) if (ncached(t, b) > 0) flush(t, b, 0);
  tst(t, T_TCACHE, 0);
  const block = tld(t, T_TCACHE_BLOCK);
  tst(t, T_TCACHE_BLOCK, 0);
  const e = rtreeRead(block);
  if (e == 0) return;
  aadd(eArena(e), A_INTERNAL, -allocSize);
  if (eSlab(e)) arenaDallocSmall(t, eArena(e), <i32>eSzind(e), e, block);
  else largeDalloc(t, e);
}

/** tcache_dalloc_small / tcache_dalloc_large: caches `p`, flushing half the bin first when it is full. */
export function tcacheDalloc(t: i32, b: i32, p: u64): void {
  const bin = tbin(t, b);
  const max = unchecked(ncachedMax[b]);
  if (ld32(bin) == max) flush(t, b, max >> 1);
  const n = ld32(bin);
  st64(slot(bin, n), p);
  setNcached(bin, n + 1);
}

/** tcache_event: one GC step over the thread's next bin. */
function gcStep(t: i32): void {
  const b = <i32>tld(t, T_NEXT_GC);
  const bin = tbin(t, b);
  const lw = lowWater(bin);
  const n = ld32(bin);
  if (lw > 0) {
    if (b < NBINS) {
      const nflush = lw - (lw >> 2);
      flush(t, b, n - nflush);
      const lgfd = ld8(bin + 8);
      if ((unchecked(ncachedMax[b]) >> (<u32>lgfd + 1)) >= 1) st8(bin + 8, lgfd + 1);
    } else {
      flush(t, b, n - lw + (lw >> 2));
    }
  } else if (b < NBINS && ld8(bin + 9) != 0) {
    const lgfd = ld8(bin + 8);
    if (lgfd > 1) st8(bin + 8, lgfd - 1);
    st8(bin + 9, 0);
  }
  setLowWater(bin, ld32(bin));
  tst(t, T_NEXT_GC, b + 1 == nhbins ? 0 : <u64>(b + 1));
}

/** Counts `usize` bytes against the event `field`; true when the 64 KiB wait has elapsed (and restarts it). */
function elapse(t: i32, field: u64, usize: u64): bool {
  const wait = tld(t, field);
  if (wait > usize) {
    tst(t, field, wait - usize);
    return false;
  }
  tst(t, field, GC_INCR_BYTES);
  return true;
}

/** thread_alloc_event: after an allocation of `usize` bytes. */
export function allocEvent(t: i32, usize: u64): void {
  if (elapse(t, T_ALLOC_WAIT, usize) && tld(t, T_TCACHE) != 0) gcStep(t);
}

/** thread_dalloc_event: after a free of `usize` bytes. */
export function dallocEvent(t: i32, usize: u64): void {
  if (elapse(t, T_DALLOC_WAIT, usize) && tld(t, T_TCACHE) != 0) gcStep(t);
}

/** True when thread `t` caches class `b`. */
// @ts-ignore: decorator
@inline export function cachesClass(t: i32, b: i32): bool {
  return b < nhbins && tld(t, T_TCACHE) != 0;
}

/** Bytes of objects sitting in thread `t`'s cache. */
export function cachedBytes(t: i32): u64 {
  if (tld(t, T_TCACHE) == 0) return 0;
  let total: u64 = 0;
  for (let b = 0; b < nhbins; b++) total += <u64>ncached(t, b) * index2size(b);
  return total;
}

/** The tcache's own block (0 when the thread has none). */
export function tcacheBlock(t: i32): u64 {
  return tld(t, T_TCACHE_BLOCK);
}
