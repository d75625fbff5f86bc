// The entry points of tcmalloc.cc as the replay calls them: malloc, free, realloc, calloc, the memalign family,
// and the library's start-up (the allocations a process has made before its main() runs).

import { ld64, st64 } from "../common/vmem";
import { count, LOCK_PAGEHEAP } from "../common/counters";
import { raise } from "../common/ops";
import {
  gst, globalsInit, THREAD_TABLE, ALLOC_SPAN, ALLOC_STACKTRACE, STACKTRACE_BYTES, ALLOC_THREADCACHE, G_BRK,
  G_HEAP_START, G_UNCLAIMED,
} from "./globals";
import { PAGE_SHIFT, PAGE_SIZE, sizeMapInit, numClasses, sizeClass, classToSize, pagesFor } from "./sizemap";
import { SPAN_BYTES, IN_USE, spanStart, spanLength, spanClass, spanLocation } from "./span";
import { allocatorInit, allocatorNew } from "./system";
import {
  pageHeapInit, pageHeapNew, pageHeapDelete, pageHeapSplit, getDescriptor, setFlagsLive,
} from "./pageheap";
import { centralInit, insertRange } from "./central";
import { classCacheInit, cachedClass, setCachedClass, invalidateCachedClass } from "./pagemap";
import {
  newHeap, deleteCache, cacheAllocate, cacheDeallocate, overallThreadCacheSize, THREAD_CACHE_BYTES,
} from "./threadcache";
import { noteAllocated, noteFreed, isAllocated } from "./notes";

// @ts-ignore: decorator
@inline const OS_PAGE: u64 = 4096;
/** The libstdc++ emergency exception pool, allocated by libstdc++'s constructor before main(). */
// @ts-ignore: decorator
@inline const EMERGENCY_POOL_BYTES: u64 = 72704;

// @ts-ignore: decorator
@inline function threadSlot(thread: i32): u64 { return THREAD_TABLE + (<u64>thread << 3); }

/** The thread's cache, created on its first allocation (CreateCacheIfNecessary). */
function cacheFor(thread: i32): u64 {
  const slot = threadSlot(thread);
  let tc = ld64(slot);
  if (tc == 0) {
    tc = newHeap(thread);
    st64(slot, tc);
  }
  return tc;
}

/** The thread's cache if it has one (GetCacheIfPresent): a thread that never allocated frees to central. */
// @ts-ignore: decorator
@inline function cacheIfPresent(thread: i32): u64 {
  return ld64(threadSlot(thread));
}

/** A thread's exit: its cache, when it made one, is destroyed (the thread-specific data's destructor). */
export function tcThreadExit(thread: i32): void {
  const slot = threadSlot(thread);
  const tc = ld64(slot);
  if (tc == 0) return;
  st64(slot, 0);
  deleteCache(tc);
}

/** SpanToMallocResult: a large object's address; its first page leaves the size-class cache. */
function largeResult(s: u64): u64 {
  invalidateCachedClass(spanStart(s));
  return spanStart(s) << PAGE_SHIFT;
}

/** do_malloc: small sizes through the thread cache, larger ones straight from the page heap. */
function doMalloc(thread: i32, size: u64): u64 {
  const tc = cacheFor(thread);
  const cl = sizeClass(size);
  if (cl == 0) {
    count(LOCK_PAGEHEAP, 0);
    const s = pageHeapNew(pagesFor(size));
    return s == 0 ? 0 : largeResult(s);
  }
  return cacheAllocate(tc, cl);
}

/** Usable size of the object at `address` (GetSizeWithCallback); 0 when TCMalloc does not own it. */
export function usableSizeOf(address: u64): u64 {
  if (address == 0) return 0;
  const cached = cachedClass(address >> PAGE_SHIFT);
  if (cached > 0) return classToSize(cached);
  const s = getDescriptor(address >> PAGE_SHIFT);
  if (s == 0) {
    raise(1, "Attempt to get the size of an invalid pointer");
    return 0;
  }
  const cl = spanClass(s);
  return cl != 0 ? classToSize(cl) : spanLength(s) << PAGE_SHIFT;
}

/** True when `address` starts an object of an in-use span (pagemap entries of freed spans go stale). */
function isObjectStart(address: u64): bool {
  const p = address >> PAGE_SHIFT;
  const s = getDescriptor(p);
  const start = spanStart(s);
  if (spanLocation(s) != IN_USE || p < start || p >= start + spanLength(s)) return false;
  const cl = spanClass(s);
  const offset = address - (start << PAGE_SHIFT);
  return cl == 0 ? offset == 0 : offset % classToSize(cl) == 0;
}

/** True when `address` is an object the model handed out and has not seen freed. */
function checkLive(address: u64, verb: string): bool {
  if (getDescriptor(address >> PAGE_SHIFT) == 0) {
    raise(1, "Attempt to " + verb + " invalid pointer");
    return false;
  }
  if (!isObjectStart(address) || !isAllocated(address)) {
    raise(2, verb + " of an address that is not an allocated object (TCMalloc 2.10 does not check this and would corrupt its free lists)");
    return false;
  }
  return true;
}

/** do_free: to the thread cache, to the central list for a thread without cache, or back to the page heap. */
function doFree(thread: i32, address: u64): void {
  const p = address >> PAGE_SHIFT;
  let cl = cachedClass(p);
  if (cl < 0) {
    const s = getDescriptor(p);
    cl = spanClass(s);
    if (cl == 0) {
      noteFreed(address, spanLength(s) << PAGE_SHIFT);
      count(LOCK_PAGEHEAP, 0);
      pageHeapDelete(s);
      return;
    }
    setCachedClass(p, cl);
  }
  noteFreed(address, classToSize(cl));
  const tc = cacheIfPresent(thread);
  if (tc != 0) {
    cacheDeallocate(tc, address, cl);
    return;
  }
  st64(address, 0);
  insertRange(cl, address, address, 1);
}

/** malloc(size) for object `object`; returns the address (0 = NULL). */
export function tcMalloc(thread: i32, size: u64, object: i64): u64 {
  const p = doMalloc(thread, size);
  if (p != 0) noteAllocated(p, size, object, usableSizeOf(p));
  return p;
}

/** free(address); false (and nothing changed) when the address is not an allocated object. */
export function tcFree(thread: i32, address: u64): bool {
  if (address == 0) return true;
  if (!checkLive(address, "free")) return false;
  doFree(thread, address);
  return true;
}

/** calloc(n, size): overflow-checked; the memory is zeroed, which the model need not do. */
export function tcCalloc(thread: i32, n: u64, size: u64, object: i64): u64 {
  const total = n * size;
  if (size != 0 && total / size != n) return 0;
  return tcMalloc(thread, total, object);
}

/** realloc with the library's hysteresis: grow to at least 1.25 × the old size, shrink only below half. */
export function tcRealloc(thread: i32, address: u64, size: u64, object: i64): u64 {
  if (address == 0) return tcMalloc(thread, size, object);
  if (!checkLive(address, "realloc")) return 0;
  if (size == 0) {
    doFree(thread, address);
    return 0;
  }
  const oldSize = usableSizeOf(address);
  const growth = min(oldSize / 4, u64.MAX_VALUE - oldSize);
  const lowerBoundToGrow = oldSize + growth;
  if (size > oldSize || size < oldSize / 2) {
    let fresh: u64 = 0;
    if (size > oldSize && size < lowerBoundToGrow) fresh = doMalloc(thread, lowerBoundToGrow);
    if (fresh == 0) fresh = doMalloc(thread, size);
    if (fresh == 0) return 0;
    noteFreed(address, oldSize); // before the object's note moves to its new address
    noteAllocated(fresh, size, object, usableSizeOf(fresh));
    doFree(thread, address);
    return fresh;
  }
  noteAllocated(address, size, object, oldSize);
  return address;
}

/** do_memalign_pages: alignment above a page; over-allocates and gives back the unaligned head and tail. */
function memalignPages(align: u64, size: u64): u64 {
  if (size + align < size) return 0;
  if (size == 0) size = 1;
  count(LOCK_PAGEHEAP, 0);
  const alloc = pagesFor(size + align);
  let s = pageHeapNew(alloc);
  if (s == 0) return 0;
  let skip: u64 = 0;
  while (((spanStart(s) + skip) << PAGE_SHIFT) & (align - 1)) {
    skip++;
    if (skip >= alloc) break; // an alignment that is not a power of two never aligns
  }
  if (skip > 0 && skip < spanLength(s)) {
    const rest = pageHeapSplit(s, skip);
    pageHeapDelete(s);
    s = rest;
  }
  const needed = pagesFor(size);
  if (spanLength(s) > needed) pageHeapDelete(pageHeapSplit(s, needed));
  return largeResult(s);
}

/** tc_memalign: alignments up to a page round the size up and take the normal path. */
export function tcMemalign(thread: i32, align: u64, size: u64, object: i64): u64 {
  let p: u64;
  if (align > PAGE_SIZE) {
    p = memalignPages(align, size);
  } else {
    let rounded = (size + align - 1) & ~(align - 1);
    if (rounded == 0) rounded = size == 0 ? align : size;
    p = doMalloc(thread, rounded);
  }
  if (p != 0) noteAllocated(p, size, object, usableSizeOf(p));
  return p;
}

/** tc_posix_memalign: EINVAL (NULL, nothing allocated) unless the alignment is a power-of-two multiple of 8. */
export function tcPosixMemalign(thread: i32, align: u64, size: u64, object: i64): u64 {
  if ((align & 7) != 0 || (align & (align - 1)) != 0 || align == 0) return 0;
  return tcMemalign(thread, align, size, object);
}

export function tcValloc(thread: i32, size: u64, object: i64): u64 {
  return tcMemalign(thread, OS_PAGE, size, object);
}

export function tcPvalloc(thread: i32, size: u64, object: i64): u64 {
  let rounded = size == 0 ? OS_PAGE : size;
  rounded = (rounded + OS_PAGE - 1) & ~(OS_PAGE - 1);
  const p = tcMemalign(thread, OS_PAGE, rounded, object);
  if (p != 0) noteAllocated(p, size, object, usableSizeOf(p));
  return p;
}

/**
 * Builds the state the library is in when a program's main() starts: the metadata allocators, the first
 * 1 MiB of page heap, the libstdc++ emergency pool, the allocations of the library's own constructor, and two
 * thread caches for the main thread (the first one, made before thread-specific data works, stays orphaned).
 */
export function startUp(heapBase: u64): void {
  globalsInit();
  gst(G_BRK, heapBase);
  gst(G_HEAP_START, heapBase);
  gst(G_UNCLAIMED, <u64>overallThreadCacheSize);
  sizeMapInit();
  allocatorInit(ALLOC_SPAN, SPAN_BYTES);
  allocatorNew(ALLOC_SPAN, SPAN_BYTES);
  allocatorNew(ALLOC_SPAN, SPAN_BYTES);
  allocatorInit(ALLOC_STACKTRACE, STACKTRACE_BYTES);
  const n = numClasses();
  for (let cl = 0; cl < n; cl++) centralInit(cl);
  pageHeapInit();
  classCacheInit();
  allocatorInit(ALLOC_THREADCACHE, THREAD_CACHE_BYTES);
  const orphan = newHeap(-1);
  const pool = cacheAllocate(orphan, sizeClass(EMERGENCY_POOL_BYTES));
  noteAllocated(pool, EMERGENCY_POOL_BYTES, -1, 0);
  setFlagsLive();
  // TCMallocGuard: tc_free(tc_malloc(1)) before thread-specific data exists: the free bypasses the cache.
  const first = cacheAllocate(orphan, sizeClass(1));
  st64(first, 0);
  insertRange(sizeClass(1), first, first, 1);
  // … and again once it exists: the main thread gets a second cache.
  const main = cacheFor(0);
  cacheDeallocate(main, cacheAllocate(main, sizeClass(1)), sizeClass(1));
  // MallocExtension::Register(new TCMallocImplementation), which first makes its default MallocExtension.
  noteAllocated(cacheAllocate(main, sizeClass(16)), 16, -1, 0);
  noteAllocated(cacheAllocate(main, sizeClass(8)), 8, -1, 0);
}
