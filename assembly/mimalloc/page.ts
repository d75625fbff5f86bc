// Page metadata (mi_page_t) in the segment header, and what a page does with its blocks: the initial free list,
// extending the capacity, collecting the `local_free` and `thread_free` lists.
//
//   mi_page_t (80 bytes; one per 64 KiB slice of the segment, the first slice of a span describes the span)
//   ╒══════════════╤══════════════╤═══════╤═══╤══════════╤══════════╤═══════╤════════════════╕
//   │ slice_count  │ slice_offset │ flags │   │ capacity │ reserved │ full/ │ is_zero, retire│  0
//   │ u32          │ u32          │ u8    │   │ u16 @10  │ u16 @12  │ align │ _expire  u8 @15│
//   ╞══════════════╧══════════════╪═══════╧═══╧══════════╧══════════╧═══════╧════════════════╡
//   │ free                        │ used u32 @24           │ xblock_size u32 @28            │ 16
//   ├─────────────────────────────┼────────────────────────┴────────────────────────────────┤
//   │ local_free @32              │ xthread_free @40 (low 2 bits: the delayed-free state)    │ 32
//   ├─────────────────────────────┼──────────────────────────────┬──────────────────────────┤
//   │ xheap @48                   │ next @56                     │ prev @64   │ padding @72 │ 48
//   ╘═════════════════════════════╧══════════════════════════════╧══════════════════════════╛
//
// A page's blocks start at its first slice, 384 bytes in for blocks of 8 … 1024 bytes (so that pages of small
// blocks do not all start on the same cache set), and are handed out in address order from `free`:
//
//   capacity ≤ reserved: only `capacity` blocks are linked yet; each extension links at most 4 KiB of blocks
//   (and at least 4), so a page is touched a little at a time.
//
//   used + |free| + |local_free| = capacity (a block freed by another thread stays in `used` until collected)

import { ld64, st64, ld32, st32, ld16, st16, ld8, st8 } from "../common/vmem";
import { gadd, G_PAGES_EXTENDED } from "./globals";
import { pageFreeAdd } from "./totals";
import { MAX_ALIGN_GUARANTEE, WORD } from "./bins";

// @ts-ignore: decorator
@inline export const PAGE_STRUCT: u64 = 80;
// @ts-ignore: decorator
@inline export const HUGE_BLOCK_SIZE: u64 = <u64>2 << 30;   // xblock_size of blocks too large for 32 bits
// @ts-ignore: decorator
@inline const MAX_EXTEND_SIZE: u64 = 4 << 10;
// @ts-ignore: decorator
@inline const MIN_EXTEND: u64 = 4;

// thread_free delayed-free states (mi_delayed_t), in the two low bits of xthread_free
// @ts-ignore: decorator
@inline export const USE_DELAYED_FREE: u64 = 0;
// @ts-ignore: decorator
@inline export const DELAYED_FREEING: u64 = 1;
// @ts-ignore: decorator
@inline export const NO_DELAYED_FREE: u64 = 2;
// @ts-ignore: decorator
@inline export const NEVER_DELAYED_FREE: u64 = 3;

// @ts-ignore: decorator
@inline export function sliceCount(p: u64): u64 { return <u64>ld32(p); }
// @ts-ignore: decorator
@inline export function setSliceCount(p: u64, v: u64): void { st32(p, <u32>v); }
// @ts-ignore: decorator
@inline export function sliceOffset(p: u64): u64 { return <u64>ld32(p + 4); }
// @ts-ignore: decorator
@inline export function setSliceOffset(p: u64, v: u64): void { st32(p + 4, <u32>v); }
// @ts-ignore: decorator
@inline export function capacity(p: u64): u64 { return <u64>ld16(p + 10); }
/** Sets the capacity; the blocks it adds (or takes) are free blocks of the page (totals.ts). */
// @ts-ignore: decorator
@inline export function setCapacity(p: u64, v: u64): void {
  pageFreeAdd((v - capacity(p)) * blockSize(p));
  st16(p + 10, <u16>v);
}
// @ts-ignore: decorator
@inline export function reserved(p: u64): u64 { return <u64>ld16(p + 12); }
// @ts-ignore: decorator
@inline export function setReserved(p: u64, v: u64): void { st16(p + 12, <u16>v); }
// @ts-ignore: decorator
@inline export function isInFull(p: u64): bool { return (ld8(p + 14) & 1) != 0; }
// @ts-ignore: decorator
@inline export function hasAligned(p: u64): bool { return (ld8(p + 14) & 2) != 0; }
// @ts-ignore: decorator
@inline export function fullAligned(p: u64): u32 { return <u32>ld8(p + 14); }
// @ts-ignore: decorator
@inline export function retireExpire(p: u64): u32 { return <u32>ld8(p + 15) >> 1; }
// @ts-ignore: decorator
@inline export function setRetireExpire(p: u64, v: u32): void { st8(p + 15, <u8>((ld8(p + 15) & 1) | (v << 1))); }
// @ts-ignore: decorator
@inline export function freeList(p: u64): u64 { return ld64(p + 16); }
// @ts-ignore: decorator
@inline export function setFreeList(p: u64, v: u64): void { st64(p + 16, v); }
// @ts-ignore: decorator
@inline export function used(p: u64): u64 { return <u64>ld32(p + 24); }
/** Sets the used count; each block it gives back (or takes) is a free block of the page (totals.ts). */
// @ts-ignore: decorator
@inline export function setUsed(p: u64, v: u64): void {
  pageFreeAdd((used(p) - v) * blockSize(p));
  st32(p + 24, <u32>v);
}
// @ts-ignore: decorator
@inline export function xblockSize(p: u64): u64 { return <u64>ld32(p + 28); }
// @ts-ignore: decorator
@inline export function setXblockSize(p: u64, v: u64): void { st32(p + 28, <u32>v); }
// @ts-ignore: decorator
@inline export function localFree(p: u64): u64 { return ld64(p + 32); }
// @ts-ignore: decorator
@inline export function setLocalFree(p: u64, v: u64): void { st64(p + 32, v); }
// @ts-ignore: decorator
@inline export function xthreadFree(p: u64): u64 { return ld64(p + 40); }
// @ts-ignore: decorator
@inline export function setXthreadFree(p: u64, v: u64): void { st64(p + 40, v); }
// @ts-ignore: decorator
@inline export function pageHeap(p: u64): u64 { return ld64(p + 48); }
// @ts-ignore: decorator
@inline export function setPageHeap(p: u64, v: u64): void { st64(p + 48, v); }
// @ts-ignore: decorator
@inline export function pageNext(p: u64): u64 { return ld64(p + 56); }
// @ts-ignore: decorator
@inline export function setPageNext(p: u64, v: u64): void { st64(p + 56, v); }
// @ts-ignore: decorator
@inline export function pagePrev(p: u64): u64 { return ld64(p + 64); }
// @ts-ignore: decorator
@inline export function setPagePrev(p: u64, v: u64): void { st64(p + 64, v); }

/** The block at the head of the thread_free list (the delayed-free bits masked off). */
// @ts-ignore: decorator
@inline export function threadFree(p: u64): u64 { return xthreadFree(p) & ~(<u64>3); }
// @ts-ignore: decorator
@inline export function delayedState(p: u64): u64 { return xthreadFree(p) & 3; }
// @ts-ignore: decorator
@inline export function setDelayedState(p: u64, state: u64): void { setXthreadFree(p, threadFree(p) | state); }

/** Flags the page as in the full queue (or not). */
export function setInFull(p: u64, on: bool): void {
  st8(p + 14, <u8>((ld8(p + 14) & ~1) | (on ? 1 : 0)));
}

/** Flags the page as holding blocks handed out at an aligned offset (free must find their start). */
export function setHasAligned(p: u64, on: bool): void {
  st8(p + 14, <u8>((ld8(p + 14) & ~2) | (on ? 2 : 0)));
}

/** The link in a free block (free lists are not encoded in release builds). */
// @ts-ignore: decorator
@inline export function blockNext(block: u64): u64 { return ld64(block); }
// @ts-ignore: decorator
@inline export function setBlockNext(block: u64, next: u64): void { st64(block, next); }

/**
 * _mi_ptr_segment: the segment of a page record or of a pointer into a block. An address on a 32 MiB boundary
 * belongs to the segment below: a block aligned to more than 16 MiB starts exactly one segment size into its huge
 * segment (which reserves one slice record more for it).
 */
// @ts-ignore: decorator
@inline export function segmentOf(address: u64): u64 { return (address - 1) & ~(<u64>(32 << 20) - 1); }

/** Offset of the first block in a page of `xblock` bytes: 3 × 128 for blocks of 8 … 1024 bytes. */
// @ts-ignore: decorator
@inline export function startOffset(xblock: u64): u64 {
  return xblock >= WORD && xblock <= 1024 ? 3 * MAX_ALIGN_GUARANTEE : 0;
}

/** Index of a page record's slice in its segment. */
// @ts-ignore: decorator
@inline export function sliceIndex(page: u64): u64 {
  return (page - segmentOf(page) - SLICES_OFFSET) / PAGE_STRUCT;
}

/** Where the slice records start in the segment header (offsetof(mi_segment_t, slices)). */
// @ts-ignore: decorator
@inline export const SLICES_OFFSET: u64 = 264;

/** _mi_segment_page_start: the first block of `page`, whose blocks are `xblock` bytes. */
export function pageStart(page: u64, xblock: u64): u64 {
  return segmentOf(page) + (sliceIndex(page) << 16) + startOffset(xblock);
}

/** Bytes of a page's block area (its slices less the start offset). */
export function pageAreaSize(page: u64): u64 {
  return (sliceCount(page) << 16) - startOffset(xblockSize(page));
}

/** mi_page_block_size: blocks of huge pages are as large as the page. */
export function blockSize(page: u64): u64 {
  const x = xblockSize(page);
  return x < HUGE_BLOCK_SIZE ? x : pageAreaSize(page);
}

/** mi_page_extend_free: links up to 4 KiB (at least 4 blocks) of not yet used capacity into `free`. */
export function extendFree(page: u64): void {
  if (freeList(page) != 0) return;
  const cap = capacity(page);
  const res = reserved(page);
  if (cap >= res) return;
  gadd(G_PAGES_EXTENDED, 1);
  const bsize = blockSize(page);
  let extend = res - cap;
  let maxExtend = bsize >= MAX_EXTEND_SIZE ? MIN_EXTEND : MAX_EXTEND_SIZE / bsize;
  if (maxExtend < MIN_EXTEND) maxExtend = MIN_EXTEND;
  if (extend > maxExtend) extend = maxExtend;
  const area = pageStart(page, xblockSize(page));
  const start = area + cap * bsize;
  const last = area + (cap + extend - 1) * bsize;
  for (let block = start; block < last; block += bsize) setBlockNext(block, block + bsize);
  setBlockNext(last, 0); // the free list was empty
  setFreeList(page, start);
  setCapacity(page, cap + extend);
}

/** _mi_page_thread_free_collect: the blocks other threads freed join `local_free`. */
function threadFreeCollect(page: u64): void {
  const head = threadFree(page);
  if (head == 0) return;
  setXthreadFree(page, delayedState(page));
  let n: u64 = 1;
  let tail = head;
  for (let next = blockNext(tail); next != 0 && n <= capacity(page); next = blockNext(tail)) {
    n++;
    tail = next;
  }
  setBlockNext(tail, localFree(page));
  setLocalFree(page, head);
  // the blocks were free already, on thread_free: used gives them back once more
  pageFreeAdd(0 - n * blockSize(page));
  setUsed(page, used(page) - n);
}

/** _mi_page_free_collect: gathers thread frees; `local_free` becomes `free` when `free` is empty (or forced). */
export function freeCollect(page: u64, force: bool): void {
  if (force || threadFree(page) != 0) threadFreeCollect(page);
  const local = localFree(page);
  if (local == 0) return;
  if (freeList(page) == 0) {
    setFreeList(page, local);
    setLocalFree(page, 0);
  } else if (force) {
    let tail = local;
    for (let next = blockNext(tail); next != 0; next = blockNext(tail)) tail = next;
    setBlockNext(tail, freeList(page));
    setFreeList(page, local);
    setLocalFree(page, 0);
  }
}

/** mi_page_init: a fresh span becomes a page of `block` bytes owned by `heap`, with its first free blocks. */
export function pageInit(page: u64, heap: u64, block: u64): void {
  setPageHeap(page, heap);
  setXblockSize(page, block < HUGE_BLOCK_SIZE ? block : HUGE_BLOCK_SIZE);
  setReserved(page, pageAreaSize(page) / block);
  extendFree(page);
}

/** A page that is being freed takes its free blocks out of the totals (before `pageClear`). */
export function pageFreeBlocksGone(page: u64): void {
  let threadFreed: u64 = 0;
  for (let b = threadFree(page); b != 0 && threadFreed <= capacity(page); b = blockNext(b)) threadFreed++;
  pageFreeAdd(0 - (capacity(page) + threadFreed - used(page)) * blockSize(page));
}

/** Clears a page's own fields (mi_segment_page_clear zeroes everything from `capacity` on). */
export function pageClear(page: u64): void {
  st16(page + 10, 0);
  st16(page + 12, 0);
  st16(page + 14, 0);
  for (let at: u64 = 16; at < PAGE_STRUCT; at += 8) st64(page + at, 0);
}
