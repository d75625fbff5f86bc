// The OS layer (os.c): mmap and munmap as mimalloc 2.0.9 calls them on Linux x86-64.
//
// Segments are 32 MiB aligned. On 64-bit Linux mimalloc asks for them with an address hint: a global cursor,
// `aligned_base`, that starts at 2 TiB plus a random multiple of 32 MiB and moves up by every hinted request
// (rounded up to 32 MiB). The kernel grants a free hinted range as is, so the segments of a process lie one
// after the other in the order they were mapped, and a freed range is never hinted again:
//
//   2 TiB + random                                                                      aligned_base
//   ├── segment 0 ──┼── segment 1 ──┼──── huge segment (64 MiB) ────┼── segment 3 ──┤ → next hint
//
// Requests of more than 1 GiB get no hint (for ASLR) and land in Linux's top-down mmap area; a mapping that is
// not aligned there is unmapped, mapped again with `alignment` bytes more, and trimmed on both sides to the
// aligned middle. The top-down area is modelled as a cursor that only moves down (its holes are not reused), and
// a mapping that would reach below 30 TiB fails, as the kernel's does when no gap is large enough.
//
// Only the frames the model writes are backed by simulated memory (segment headers, page metadata, free-list
// links); munmap releases whole frames.

import { vmUnmap } from "../common/vmem";
import { count, SYS_MMAP, SYS_MUNMAP } from "../common/counters";
import { gld, gst, gadd, gaddPeak, G_ALIGNED_BASE, G_MMAP_TOP, G_RESERVED, G_RESERVED_TOTAL, G_MMAP_CALLS,
  G_MUNMAP_CALLS } from "./globals";

// @ts-ignore: decorator
@inline export const OS_PAGE: u64 = 4096;
// @ts-ignore: decorator
@inline export const SEGMENT_SIZE: u64 = 32 << 20;
// @ts-ignore: decorator
@inline const HINT_BASE: u64 = <u64>2 << 40;
// @ts-ignore: decorator
@inline const HINT_MAX: u64 = <u64>30 << 40;
// @ts-ignore: decorator
@inline const GiB: u64 = <u64>1 << 30;

/** The end of the user address space (47 bits). */
// @ts-ignore: decorator
@inline const USER_TOP: u64 = <u64>1 << 47;

/** The first hinted address: 2 TiB plus mimalloc's random offset (any multiple of 32 MiB below 4 TiB). */
let hintStart: u64 = HINT_BASE + 0x6d_4000_0000;
/** The top of the unhinted mmap area (Linux's mmap_base, below the stack). */
let mmapBase: u64 = 0x7fff_f7ff_f000;

/** Sets where the hinted segments start (a multiple of 32 MiB in [2 TiB, 30 TiB)). */
export function setHintStart(address: u64): bool {
  if (address % SEGMENT_SIZE != 0 || address < HINT_BASE || address >= HINT_MAX) return false;
  hintStart = address;
  return true;
}

/** Sets the top of the unhinted mmap area. */
export function setMmapBase(address: u64): bool {
  if (address % OS_PAGE != 0 || address <= HINT_MAX || address > USER_TOP) return false;
  mmapBase = address;
  return true;
}

// @ts-ignore: decorator
@inline export function alignUp(x: u64, alignment: u64): u64 {
  return (x + alignment - 1) & ~(alignment - 1);
}

/** _mi_os_good_alloc_size: large requests are rounded to coarser steps to limit fragmentation of the VMA. */
export function goodAllocSize(size: u64): u64 {
  let step: u64;
  if (size < (512 << 10)) step = OS_PAGE;
  else if (size < (2 << 20)) step = 64 << 10;
  else if (size < (8 << 20)) step = 256 << 10;
  else if (size < (32 << 20)) step = 1 << 20;
  else step = 4 << 20;
  if (size >= u64.MAX_VALUE - step) return size;
  return alignUp(size, step);
}

/** mi_os_get_aligned_hint: the next hinted address for `size` bytes, or 0 (no hint). */
function alignedHint(alignment: u64, size: u64): u64 {
  if (alignment <= 1 || alignment > SEGMENT_SIZE) return 0;
  size = alignUp(size, SEGMENT_SIZE);
  if (size > GiB) return 0;
  let hint = gld(G_ALIGNED_BASE);
  gst(G_ALIGNED_BASE, hint + size);
  if (hint == 0 || hint > HINT_MAX) { // first use, or wrapped
    gst(G_ALIGNED_BASE, hintStart + size);
    hint = hintStart;
  }
  return hint % alignment == 0 ? hint : 0;
}

/** mmap at `address` (a hint the kernel grants) or where the kernel chooses; 0 when no gap is large enough. */
function mmap(address: u64, size: u64): u64 {
  const top = gld(G_MMAP_TOP) != 0 ? gld(G_MMAP_TOP) : mmapBase;
  if (address == 0 && size > top - HINT_MAX) return 0;
  count(SYS_MMAP, size);
  gadd(G_MMAP_CALLS, 1);
  gaddPeak(G_RESERVED, <i64>size);
  gadd(G_RESERVED_TOTAL, size);
  if (address != 0) return address;
  const start = (top - size) & ~(OS_PAGE - 1);
  gst(G_MMAP_TOP, start);
  return start;
}

/** munmap of [address, address + size): the range's frames go back. */
export function osFree(address: u64, size: u64): void {
  if (size == 0) return;
  count(SYS_MUNMAP, size);
  gadd(G_MUNMAP_CALLS, 1);
  gaddPeak(G_RESERVED, -<i64>size);
  vmUnmap(address, size);
}

/** mi_unix_mmapx: a hinted mapping when the alignment asks for one, else the kernel's choice. */
function osMemAlloc(size: u64, alignment: u64): u64 {
  return mmap(alignedHint(alignment, size), size);
}

/** _mi_os_alloc_aligned: `size` bytes (rounded to the good size) aligned to `alignment`; 0 when refused. */
export function osAllocAligned(size: u64, alignment: u64): u64 {
  if (size == 0) return 0;
  size = alignUp(goodAllocSize(size), OS_PAGE);
  let p = osMemAlloc(size, alignment);
  if (p == 0) return 0;
  if (p % alignment != 0) {
    osFree(p, size);
    const over = size + alignment;
    p = mmap(0, over);
    if (p == 0) return 0;
    const aligned = alignUp(p, alignment);
    const pre = aligned - p;
    const post = over - pre - size;
    if (pre > 0) osFree(p, pre);
    if (post > 0) osFree(aligned + size, post);
    p = aligned;
  }
  return p;
}

/** _mi_os_alloc_aligned_offset: aligned so that `p + offset` is `alignment`-aligned (huge alignments). */
export function osAllocAlignedOffset(size: u64, alignment: u64, offset: u64): u64 {
  if (offset == 0) return osAllocAligned(size, alignment);
  const extra = alignUp(offset, alignment) - offset;
  const start = osAllocAligned(size + extra, alignment);
  return start == 0 ? 0 : start + extra;
}

/** _mi_os_free_aligned: undoes osAllocAlignedOffset. */
export function osFreeAligned(p: u64, size: u64, alignment: u64, offset: u64): void {
  const extra = alignUp(offset, alignment) - offset;
  osFree(p - extra, alignUp(goodAllocSize(size + extra), OS_PAGE));
}
