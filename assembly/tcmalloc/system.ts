// The system allocator (system-alloc.cc) and the metadata allocators (common.cc › MetaDataAlloc,
// page_heap_allocator.h). Release builds take memory with sbrk; page-heap growth and the 8 MiB metadata chunks
// therefore interleave in the brk heap, which decides where every later block lands.
//
//   PageHeapAllocator state (32 bytes)
//   ╒════════════════╤════════════════╤════════════════╤════════════════╕
//   │ free_area      │ free_avail     │ free_list      │ inuse          │
//   ╘════════════════╧════════════════╧════════════════╧════════════════╛

import { ld64, st64 } from "../common/vmem";
import { count, SYS_BRK } from "../common/counters";
import { overcommitRefuses } from "../common/kernel";
import { gld, gst, gadd, G_BRK, G_META_NEXT, G_META_AVAIL, G_META_BYTES, G_SYSTEM_TAKEN } from "./globals";

// @ts-ignore: decorator
@inline const METADATA_CHUNK: u64 = 8 << 20;
// @ts-ignore: decorator
@inline const METADATA_ALIGNMENT: u64 = 64; // sizeof(MemoryAligner), cache-line aligned
// @ts-ignore: decorator
@inline const ALLOC_INCREMENT: u64 = 128 << 10;

/** The real size of the last successful systemAlloc (its actual_size). */
let actualSize: u64 = 0;

// @ts-ignore: decorator
@inline export function lastActualSize(): u64 {
  return actualSize;
}

function sbrk(increment: u64): u64 {
  const old = gld(G_BRK);
  gst(G_BRK, old + increment);
  count(SYS_BRK, increment);
  return old;
}

/**
 * TCMalloc_SystemAlloc through SbrkSysAllocator: `size` rounded to `alignment`, aligned; 0 on failure. When the
 * kernel refuses the sbrk, DefaultSysAllocator falls back to MmapSysAllocator, whose mapping of at least `size`
 * bytes the kernel refuses too; both failing, the allocator forgets the failure and returns NULL.
 */
export function systemAlloc(size: u64, alignment: u64): u64 {
  if (alignment < METADATA_ALIGNMENT) alignment = METADATA_ALIGNMENT;
  if (size + alignment < size) return 0;
  size = (size + alignment - 1) / alignment * alignment;
  if (overcommitRefuses(size)) return 0;
  let ptr = sbrk(size);
  if ((ptr & (alignment - 1)) != 0) {
    const extra = alignment - (ptr & (alignment - 1));
    sbrk(extra); // contiguous with the previous result: the break only moves for us
    ptr += extra;
  }
  actualSize = size;
  gadd(G_SYSTEM_TAKEN, size);
  return ptr;
}

/** MetaDataAlloc: bump allocation from 8 MiB chunks; bigger requests get their own system block. */
export function metaDataAlloc(bytes: u64): u64 {
  if (bytes >= METADATA_CHUNK) {
    const rv = systemAlloc(bytes, METADATA_ALIGNMENT);
    if (rv != 0) gadd(G_META_BYTES, bytes);
    return rv;
  }
  let next = gld(G_META_NEXT);
  let alignment = (0 - next) & (METADATA_ALIGNMENT - 1);
  if (gld(G_META_AVAIL) < bytes + alignment) {
    const chunk = systemAlloc(METADATA_CHUNK, METADATA_ALIGNMENT);
    if (chunk == 0) return 0;
    next = chunk;
    gst(G_META_AVAIL, actualSize);
    alignment = 0;
  }
  const rv = next + alignment;
  bytes += alignment;
  gst(G_META_NEXT, next + bytes);
  gst(G_META_AVAIL, gld(G_META_AVAIL) - bytes);
  gadd(G_META_BYTES, bytes);
  return rv;
}

/** PageHeapAllocator<T>::New for an allocator whose state is at `state` and whose objects are `size` bytes. */
export function allocatorNew(state: u64, size: u64): u64 {
  let result = ld64(state + 16);
  if (result != 0) {
    st64(state + 16, ld64(result));
  } else {
    if (ld64(state + 8) < size) {
      st64(state, metaDataAlloc(ALLOC_INCREMENT));
      st64(state + 8, ALLOC_INCREMENT);
    }
    result = ld64(state);
    st64(state, result + size);
    st64(state + 8, ld64(state + 8) - size);
  }
  st64(state + 24, ld64(state + 24) + 1);
  return result;
}

/** PageHeapAllocator<T>::Delete: the object's first word links the free list. */
export function allocatorDelete(state: u64, p: u64): void {
  st64(p, ld64(state + 16));
  st64(state + 16, p);
  st64(state + 24, ld64(state + 24) - 1);
}

/** PageHeapAllocator<T>::Init: reserves one object up front, as the library does. */
export function allocatorInit(state: u64, size: u64): void {
  allocatorDelete(state, allocatorNew(state, size));
}
