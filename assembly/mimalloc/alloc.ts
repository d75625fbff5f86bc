// Allocation entry points (alloc.c, alloc-aligned.c, alloc-posix.c) as the preloaded library exports them: malloc,
// calloc, realloc, the memalign family, valloc and pvalloc, for the heap of the calling thread.
//
//   size ≤ 1024            the first page of the size's queue, if it has a free block (the fast path)
//   otherwise, or no block _mi_malloc_generic: delayed frees, then mi_find_page (collect, extend, fresh page)
//   size > 128 KiB         a large page (one block, ≤ 16 MiB) or a huge segment of its own

import { gadd, G_NORMAL_COUNT } from "./globals";
import { binOf, SMALL_SIZE_MAX, MAX_ALIGN_GUARANTEE, MEDIUM_OBJ_SIZE_MAX } from "./bins";
import { freeList, setFreeList, used, setUsed, blockNext, setHasAligned, xblockSize } from "./page";
import { pageOf, ALIGNMENT_MAX } from "./segment";
import { heapOf, queue, queueFirst, findPage, heapEnsureInit, delayedFreeAll, heapCollect, T_HEARTBEAT,
  tldAdd } from "./heap";
import { miFree, usableSize } from "./free";
import { OS_PAGE, alignUp } from "./os";

/** _mi_page_malloc: the head of the page's free list (the slow path when it is empty). */
function pageMalloc(heap: u64, page: u64, size: u64, hugeAlignment: u64): u64 {
  const block = page == 0 ? 0 : freeList(page);
  if (block == 0) return mallocGeneric(heap, size, hugeAlignment);
  setUsed(page, used(page) + 1);
  setFreeList(page, blockNext(block));
  if (xblockSize(page) <= MEDIUM_OBJ_SIZE_MAX) gadd(G_NORMAL_COUNT, 1);
  return block;
}

/** _mi_malloc_generic: the slow path. */
function mallocGeneric(heap: u64, size: u64, hugeAlignment: u64): u64 {
  heapEnsureInit(heap);
  tldAdd(heap, T_HEARTBEAT, 1);
  delayedFreeAll(heap);
  let page = findPage(heap, size, hugeAlignment);
  if (page == 0) {
    if (size > <u64>i64.MAX_VALUE) return 0;
    heapCollect(heap); // out of memory: give back what is empty and try once more
    page = findPage(heap, size, hugeAlignment);
    if (page == 0) return 0;
  }
  return pageMalloc(heap, page, size, hugeAlignment);
}

/** The direct page for a small size: the first page of its queue (pages_free_direct mirrors it). */
// @ts-ignore: decorator
@inline function smallPage(heap: u64, size: u64): u64 {
  return queueFirst(queue(heap, binOf(size)));
}

/** _mi_heap_malloc_zero_ex. */
function heapMalloc(heap: u64, size: u64, hugeAlignment: u64): u64 {
  if (size <= SMALL_SIZE_MAX) return pageMalloc(heap, smallPage(heap, size), size, 0);
  return mallocGeneric(heap, size, hugeAlignment);
}

/** mi_malloc for thread `thread`. */
export function miMalloc(thread: i32, size: u64): u64 {
  return heapMalloc(heapOf(thread), size, 0);
}

/** mi_calloc: NULL when nmemb × size overflows; blocks are handed out as malloc would. */
export function miCalloc(thread: i32, nmemb: u64, size: u64): u64 {
  if (size != 0 && nmemb > u64.MAX_VALUE / size) return 0;
  return miMalloc(thread, nmemb * size);
}

/** mi_realloc: in place while the new size fits and wastes at most half the block; else malloc, copy, free. */
export function miRealloc(thread: i32, p: u64, newSize: u64): u64 {
  const size = usableSize(p);
  if (newSize <= size && newSize >= size / 2 && newSize > 0) return p;
  const q = miMalloc(thread, newSize);
  if (q != 0 && p != 0) miFree(thread, p);
  return q;
}

/** mi_heap_malloc_zero_aligned_at_fallback: over-allocate by alignment − 1 (or a huge segment) and align up. */
function alignedFallback(heap: u64, size: u64, alignment: u64): u64 {
  if (alignment <= size && size <= MAX_ALIGN_GUARANTEE && (size & (alignment - 1)) == 0) {
    return heapMalloc(heap, size, 0);
  }
  let p: u64;
  if (alignment > ALIGNMENT_MAX) {
    p = heapMalloc(heap, size <= SMALL_SIZE_MAX ? SMALL_SIZE_MAX + 1 : size, alignment);
  } else {
    p = heapMalloc(heap, size + alignment - 1, 0);
  }
  if (p == 0) return 0;
  const aligned = alignUp(p, alignment);
  if (aligned != p) setHasAligned(pageOf(p), true);
  return aligned;
}

/**
 * mi_malloc_aligned: a small power-of-two size at least as large as the alignment is a plain malloc, as 2.0.9
 * assumes such blocks naturally aligned (they are not: pages of blocks up to 1 KiB start 384 bytes in, so
 * memalign(256, 1024) returns an address 128 bytes past a multiple of 256, in the model as in the library);
 * else the next free small block if it happens to be aligned; else the fallback.
 */
export function miMallocAligned(thread: i32, size: u64, alignment: u64): u64 {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) return 0;
  const heap = heapOf(thread);
  if ((size & (size - 1)) == 0 && size >= alignment && size <= SMALL_SIZE_MAX) return heapMalloc(heap, size, 0);
  if (size > <u64>i64.MAX_VALUE) return 0;
  if (size <= SMALL_SIZE_MAX && alignment <= size) {
    const page = smallPage(heap, size);
    if (page != 0 && freeList(page) != 0 && (freeList(page) & (alignment - 1)) == 0) {
      return pageMalloc(heap, page, size, 0);
    }
  }
  return alignedFallback(heap, size, alignment);
}

/** mi_posix_memalign: EINVAL (no block) unless the alignment is a power of two and a multiple of 8. */
export function miPosixMemalign(thread: i32, alignment: u64, size: u64): u64 {
  if (alignment % 8 != 0 || alignment == 0 || (alignment & (alignment - 1)) != 0) return 0;
  return miMallocAligned(thread, size, alignment);
}

/** mi_valloc: page-aligned. */
export function miValloc(thread: i32, size: u64): u64 {
  return miMallocAligned(thread, size, OS_PAGE);
}

/** mi_pvalloc: page-aligned and rounded up to whole pages. */
export function miPvalloc(thread: i32, size: u64): u64 {
  if (size >= u64.MAX_VALUE - OS_PAGE) return 0;
  return miMallocAligned(thread, alignUp(size, OS_PAGE), OS_PAGE);
}
