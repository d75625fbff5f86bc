// The emap's radix tree (rtree.h): page → extent. Two levels of 18 bits over the 36 bits of a 48-bit page
// number, as on x86-64: the root (2^18 entries) is static in the library, each leaf (2^18 entries of 8 bytes,
// 2 MiB) is allocated from base 0 the first time an extent touches its 1 GiB of address space — that allocation
// is what maps the second base block early in every process, so the model allocates leaves when jemalloc does.
//
//   RTREE_ROOT + 8 × (va >> 30 & 0x3ffff)        → leaf address (0 = none yet)
//   leaf       + 8 × (va >> 12 & 0x3ffff)        → extent record (0 = none)
//
// An extent is registered at its first and last page; a slab also at every interior page, so that a free can
// find it from any region.

import { ld64, st64 } from "../common/vmem";
import { RTREE_ROOT, RTREE_LEAVES, G_LEAVES, gld, gst } from "./globals";
import { LG_PAGE, PAGE } from "./sz";
import { eBase, eSize } from "./extent";
import { baseAllocLeaf } from "./base";

// @ts-ignore: decorator
@inline const LEAF_BITS: u64 = 18;
// @ts-ignore: decorator
@inline const LEAF_MASK: u64 = (1 << 18) - 1;
// @ts-ignore: decorator
@inline export const LEAF_BYTES: u64 = 8 << 18;

// @ts-ignore: decorator
@inline function rootSlot(va: u64): u64 {
  return RTREE_ROOT + (((va >> (LG_PAGE + LEAF_BITS)) & LEAF_MASK) << 3);
}

/** The leaf entry of `va`, allocating the leaf (and its base memory) when `create`; 0 when absent. */
function entry(va: u64, create: bool): u64 {
  const slot = rootSlot(va);
  let leaf = ld64(slot);
  if (leaf == 0) {
    if (!create) return 0;
    const n = gld(G_LEAVES);
    gst(G_LEAVES, n + 1);
    leaf = RTREE_LEAVES + n * LEAF_BYTES;
    st64(slot, leaf);
    baseAllocLeaf(LEAF_BYTES);
  }
  return leaf + (((va >> LG_PAGE) & LEAF_MASK) << 3);
}

/** The extent registered at the page of `va` (0 when none). */
export function rtreeRead(va: u64): u64 {
  const at = entry(va, false);
  return at == 0 ? 0 : ld64(at);
}

/** Points the page of `va` at `e` (0 clears it). */
function rtreeWrite(va: u64, e: u64): void {
  const at = entry(va, e != 0);
  if (at != 0) st64(at, e);
}

/** Registers the first and last page of `e` (emap_register_boundary). */
export function registerBoundary(e: u64): void {
  rtreeWrite(eBase(e), e);
  rtreeWrite(eBase(e) + eSize(e) - PAGE, e);
}

/** Clears the first and last page of `e`. */
export function deregisterBoundary(e: u64): void {
  rtreeWrite(eBase(e), 0);
  rtreeWrite(eBase(e) + eSize(e) - PAGE, 0);
}

/** Registers the interior pages of slab `e`. */
export function registerInterior(e: u64): void {
  const end = eBase(e) + eSize(e) - PAGE;
  for (let va = eBase(e) + PAGE; va < end; va += PAGE) rtreeWrite(va, e);
}

/** Clears the interior pages of slab `e`. */
export function deregisterInterior(e: u64): void {
  const end = eBase(e) + eSize(e) - PAGE;
  for (let va = eBase(e) + PAGE; va < end; va += PAGE) rtreeWrite(va, 0);
}
