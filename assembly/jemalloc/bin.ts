// Bins, slabs and their bitmaps (bin.c, arena.c, bitmap.h): each small size class has a bin per arena; a bin
// serves regions from its current slab, then from its non-full slabs (the first of their pairing heap, ph.ts:
// oldest/lowest first while the heap's order holds), then from a fresh slab. Inside a slab the lowest free region goes first (bitmap_sfu, and the batch fill takes them in order).
//
//   bin (BIN_STRIDE = 64, at arena + A_BINS + 64 × bin)
//   ╒═════════════════╤═══════════════════════════════════╤═════════════════╤═════════════════╤═════════════════╤═══╕
//   │ slabcur         │ non-full slabs: pairing heap (ph) │ curregs         │ curslabs        │ nmalloc         │ … │
//   ╘═════════════════╧═══════════════════════════════════╧═════════════════╧═════════════════╧═════════════════╧═══╛
//   0                 8                                   24                32                40
//
//   slab: an active extent, nregs regions of reg_size bytes from its base; bitmap bit i = region i is free
//   ┌──────┬──────┬──────┬──────┬──────┬─────────────┐
//   │ r0   │ r1   │ r2   │ …    │ rn-1 │ (tail)      │   bitmap: 1 1 0 1 …  → next region: the lowest 1
//   └──────┴──────┴──────┴──────┴──────┴─────────────┘
//
// Full slabs are in no list (an automatic arena does not track them); a slab that gets a region back while full
// either becomes the current slab, when it is older/lower than the current one, or joins the non-full heap.

import { ld64, st64 } from "../common/vmem";
import { arenaRec, A_BINS, BIN_STRIDE, aadd, A_SMALL_ALLOCATED } from "./globals";
import { PAGE, index2size, binSlabSize, binNregs } from "./sz";
import { eBase, eNfree, setENfree, eBitmapWord, setEBitmapWord, snadLess } from "./extent";
import { phInsert, phRemove, phRemoveFirst } from "./ph";
import { paAlloc, paDalloc } from "./pac";
import { decayTicks } from "./arena";

// @ts-ignore: decorator
@inline export function binRec(a: i32, b: i32): u64 {
  return arenaRec(a) + A_BINS + <u64>b * BIN_STRIDE;
}

// @ts-ignore: decorator
@inline export function slabcur(bin: u64): u64 { return ld64(bin); }
// @ts-ignore: decorator
@inline function setSlabcur(bin: u64, v: u64): void { st64(bin, v); }
/** The bin's heap of non-full slabs. */
// @ts-ignore: decorator
@inline export function nonfullHeap(bin: u64): u64 { return bin + 8; }
// @ts-ignore: decorator
@inline export function binCurregs(bin: u64): u64 { return ld64(bin + 24); }
// @ts-ignore: decorator
@inline export function binCurslabs(bin: u64): u64 { return ld64(bin + 32); }

/** Region `i` of slab `slab` is free. */
// @ts-ignore: decorator
@inline export function regionFree(slab: u64, i: u64): bool {
  return (eBitmapWord(slab, i >> 6) >> (i & 63) & 1) != 0;
}

/** bitmap_init(fill = false): every region free. */
function slabInit(slab: u64, b: i32): void {
  const nregs = <u64>binNregs(b);
  setENfree(slab, <u32>nregs);
  for (let w: u64 = 0; w < 8; w++) {
    const from = w << 6;
    let bits: u64 = 0;
    if (nregs >= from + 64) bits = u64.MAX_VALUE;
    else if (nregs > from) bits = (<u64>1 << (nregs - from)) - 1;
    setEBitmapWord(slab, w, bits);
  }
}

/** arena_slab_reg_alloc: the lowest free region of `slab`. */
function slabRegAlloc(slab: u64, b: i32): u64 {
  for (let w: u64 = 0; w < 8; w++) {
    const bits = eBitmapWord(slab, w);
    if (bits == 0) continue;
    const bit = ctz(bits);
    setEBitmapWord(slab, w, bits & (bits - 1));
    setENfree(slab, eNfree(slab) - 1);
    return eBase(slab) + ((w << 6) + bit) * index2size(b);
  }
  return 0;
}

/** arena_bin_refill_slabcur_no_fresh_slab: true when no non-full slab was left. */
function refillSlabcur(bin: u64): bool {
  const first = phRemoveFirst(nonfullHeap(bin));
  setSlabcur(bin, first);
  return first == 0;
}

/** arena_slab_alloc: a fresh slab for bin `b`. */
function slabAlloc(a: i32, b: i32): u64 {
  const slab = paAlloc(a, binSlabSize(b), PAGE, true, <u32>b);
  if (slab != 0) slabInit(slab, b);
  return slab;
}

/** Takes a fresh slab as the current one (counted in the bin's statistics). */
function useFreshSlab(bin: u64, slab: u64): void {
  st64(bin + 32, ld64(bin + 32) + 1);
  setSlabcur(bin, slab);
}

/** Counts `n` regions of bin `b` handed out. */
function countMalloc(a: i32, bin: u64, b: i32, n: u64): void {
  st64(bin + 24, ld64(bin + 24) + n);
  st64(bin + 40, ld64(bin + 40) + n);
  aadd(a, A_SMALL_ALLOCATED, n * index2size(b));
}

/** arena_bin_malloc_no_fresh_slab. */
function mallocNoFresh(bin: u64, b: i32): u64 {
  const cur = slabcur(bin);
  if (cur == 0 || eNfree(cur) == 0) {
    if (refillSlabcur(bin)) return 0;
  }
  return slabRegAlloc(slabcur(bin), b);
}

/** arena_malloc_small without a tcache: one region of bin `b`. */
export function arenaMallocSmall(t: i32, a: i32, b: i32): u64 {
  const bin = binRec(a, b);
  let ret = mallocNoFresh(bin, b);
  if (ret == 0) {
    const fresh = slabAlloc(a, b);
    ret = mallocNoFresh(bin, b);
    if (ret == 0) {
      if (fresh == 0) return 0;
      useFreshSlab(bin, fresh);
      ret = slabRegAlloc(fresh, b);
    } else if (fresh != 0) {
      paDalloc(a, fresh);
    }
  }
  countMalloc(a, bin, b, 1);
  decayTicks(t, 1);
  return ret;
}

/**
 * arena_cache_bin_fill_small: up to `nfill` regions of bin `b` into `out`, in the order the cache bin will hand
 * them out; returns how many.
 */
export function fillSmall(t: i32, a: i32, b: i32, nfill: u32, out: usize): u32 {
  const bin = binRec(a, b);
  let filled: u32 = 0;
  let fresh: u64 = 0;
  let madeProgress = true;
  while (filled < nfill) {
    const cur = slabcur(bin);
    if (cur != 0 && eNfree(cur) > 0) {
      const nfree = eNfree(cur);
      const cnt = nfill - filled < nfree ? nfill - filled : nfree;
      for (let i: u32 = 0; i < cnt; i++) store<u64>(out + (<usize>(filled + i) << 3), slabRegAlloc(cur, b));
      madeProgress = true;
      filled += cnt;
      continue;
    }
    if (!refillSlabcur(bin)) continue;
    if (fresh != 0) {
      useFreshSlab(bin, fresh);
      fresh = 0;
      continue;
    }
    if (madeProgress) {
      fresh = slabAlloc(a, b);
      madeProgress = false;
      continue;
    }
    break;
  }
  if (fresh != 0) paDalloc(a, fresh);
  countMalloc(a, bin, b, filled);
  decayTicks(t, 1);
  return filled;
}

/**
 * arena_dalloc_bin_locked_step: returns region `ptr` to `slab`; true when the slab became empty (dissociated
 * from the bin; the caller frees it).
 */
export function dallocBinStep(a: i32, b: i32, slab: u64, ptr: u64): bool {
  const bin = binRec(a, b);
  const i = (ptr - eBase(slab)) / index2size(b);
  setEBitmapWord(slab, i >> 6, eBitmapWord(slab, i >> 6) | (<u64>1 << (i & 63)));
  const nfree = eNfree(slab) + 1;
  setENfree(slab, nfree);
  st64(bin + 24, ld64(bin + 24) - 1);
  aadd(a, A_SMALL_ALLOCATED, -index2size(b));
  const nregs = binNregs(b);
  if (nfree == nregs) {
    if (slab == slabcur(bin)) setSlabcur(bin, 0);
    else if (nregs != 1) phRemove(nonfullHeap(bin), slab);
    st64(bin + 32, ld64(bin + 32) - 1);
    return true;
  }
  if (nfree == 1 && slab != slabcur(bin)) {
    const cur = slabcur(bin);
    if (cur != 0 && snadLess(slab, cur)) {
      if (eNfree(cur) > 0) phInsert(nonfullHeap(bin), cur);
      setSlabcur(bin, slab);
    } else {
      phInsert(nonfullHeap(bin), slab);
    }
  }
  return false;
}

/** arena_dalloc_small without a tcache. */
export function arenaDallocSmall(t: i32, a: i32, b: i32, slab: u64, ptr: u64): void {
  if (dallocBinStep(a, b, slab, ptr)) paDalloc(a, slab);
  decayTicks(t, 1);
}
