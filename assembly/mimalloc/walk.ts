// Heap walks: every block slot of every page and every free span, segment by segment in address order; and one
// record per span (page or free span). Walks only read the model's state.
//
//   walk record (8 × f64)
//   ╒═════════╤═══════╤══════╤═══════════╤═══════╤═════╤════════╤════════╕
//   │ address │ chunk │ size │ requested │ state │ bin │ region │ object │
//   ╘═════════╧═══════╧══════╧═══════════╧═══════╧═════╧════════╧════════╛
//   state: 0 allocated, 1 on the page's free list, 2 local_free, 3 thread_free (or the heap's delayed list),
//          4 capacity not yet linked, 5 free span.   bin: the page's bin, -1 for free spans.
//   An allocated block's first word holds its object id + 1, or for a call without an object the bytes requested
//   with the top bit set; written at allocation.
//
//   page record (6 × f64)
//   ╒═════════╤════════╤═════╤════════════════════════════════════════╤══════╤══════════╕
//   │ address │ slices │ bin │ state (0 page, 1 free span, 2 header) │ used │ reserved │
//   ╘═════════╧════════╧═════╧════════════════════════════════════════╧══════╧══════════╛

import { ld64 } from "../common/vmem";
import { ScratchBytes } from "../common/scratch";
import { REGION_MMAP, objectRequested } from "../common/ops";
import { binOf } from "./bins";
import { PAGE_STRUCT } from "./page";
import {
  sliceCount, xblockSize, freeList, localFree, threadFree, capacity, reserved, used, blockSize, blockNext,
  pageStart,
} from "./page";
import { SLICE_SHIFT, segmentCount, segmentAt, slice, sliceEntries, segmentKind, KIND_HUGE, sliceIsFree } from "./segment";
import { T_DELAYED_FREE, heapOf } from "./heap";
import { gld, G_THREADS, MAX_THREADS } from "./globals";

export const WALK_FIELDS = "address,chunk,size,requested,state,bin,region,object";
export const SPAN_FIELDS = "address,slices,bin,state,used,reserved";

/** Tags a note that holds the request instead of an object id. */
export const NOTE_REQUESTED: u64 = <u64>1 << 63;

/** The object of an allocated block (from its note; -1 for a call without one). */
export function noteObject(block: u64): i64 {
  const note = ld64(block);
  return (note & NOTE_REQUESTED) != 0 ? -1 : <i64>note - 1;
}

/** The bytes requested for an allocated block (from its note). */
export function noteRequested(block: u64): u64 {
  const note = ld64(block);
  return (note & NOTE_REQUESTED) != 0 ? note & ~NOTE_REQUESTED : objectRequested(<i64>note - 1);
}

/** The states' names, in code order: JS reads a record's state by name (`walkStates`). */
export const WALK_STATES = "allocated,pagefree,localfree,threadfree,unlinked,freespan";
/** A span's state names, in code order (`spanStates`). */
export const SPAN_STATES = "page,freespan,header";

export const STATE_ALLOCATED: f64 = 0;
export const STATE_PAGE_FREE: f64 = 1;
export const STATE_LOCAL_FREE: f64 = 2;
export const STATE_THREAD_FREE: f64 = 3;
export const STATE_UNUSED: f64 = 4;
export const STATE_FREE_SPAN: f64 = 5;

// block classes by index: 0 allocated, 1 free list, 2 local_free, 3 thread_free
const kinds = new ScratchBytes();
let kindsAt: usize = 0;
/** The live segments in address order. */
const sorted = new ScratchBytes();
let sortedAt: usize = 0;

/** The live segments, sorted by address, in the scratch array; returns their number. */
export function sortedSegments(): u64 {
  const n = segmentCount();
  sortedAt = sorted.reserve(<usize>n << 3);
  for (let i: u64 = 0; i < n; i++) {
    const s = segmentAt(i);
    let j = i;
    while (j > 0 && load<u64>(sortedAt + <usize>((j - 1) * 8)) > s) {
      store<u64>(sortedAt + <usize>(j * 8), load<u64>(sortedAt + <usize>((j - 1) * 8)));
      j--;
    }
    store<u64>(sortedAt + <usize>(j * 8), s);
  }
  return n;
}

/** Segment `i` of the last sortedSegments(). */
// @ts-ignore: decorator
@inline export function sortedSegment(i: u64): u64 {
  return load<u64>(sortedAt + <usize>(i * 8));
}

/** The end of segment `s`'s span records. */
// @ts-ignore: decorator
@inline export function spanEnd(s: u64): u64 {
  return slice(s, sliceEntries(s));
}

/** The next span record after `sl` (huge segments: one page past the header). */
// @ts-ignore: decorator
@inline export function nextSpan(sl: u64): u64 {
  return sl + sliceCount(sl) * PAGE_STRUCT;
}

/** Marks the blocks of one free list with `kind` (bounded by the capacity, so a cycle cannot hang the walk). */
function markList(page: u64, head: u64, kind: u8, start: u64, bsize: u64): void {
  const limit = capacity(page);
  let n: u64 = 0;
  for (let b = head; b != 0 && n <= limit; b = blockNext(b)) {
    n++;
    if (b < start) continue;
    const index = (b - start) / bsize;
    if (index < limit) store<u8>(kindsAt + <usize>index, kind);
  }
}

/** Classifies the blocks of `page` into the scratch array (one byte per block index). */
export function classifyBlocks(page: u64): void {
  const res = reserved(page);
  kindsAt = kinds.reserve(<usize>res);
  memory.fill(kindsAt, 0, <usize>res);
  const bsize = blockSize(page);
  const start = pageStart(page, xblockSize(page));
  markList(page, freeList(page), 1, start, bsize);
  markList(page, localFree(page), 2, start, bsize);
  markList(page, threadFree(page), 3, start, bsize);
  for (let t = 0; t < MAX_THREADS && gld(G_THREADS) > 0; t++) {
    const delayed = ld64(heapOf(t) + T_DELAYED_FREE);
    if (delayed == 0) continue;
    for (let b = delayed; b != 0; b = blockNext(b)) {
      if (b >= start && b < start + res * bsize) store<u8>(kindsAt + <usize>((b - start) / bsize), 3);
    }
  }
}

/** The class of block `index` after classifyBlocks: 0 allocated, 1 free, 2 local_free, 3 thread_free. */
// @ts-ignore: decorator
@inline export function blockKind(index: u64): u8 {
  return load<u8>(kindsAt + <usize>index);
}

/** Writes walk record `n` when there is room for it. */
function put(buffer: usize, n: i32, room: i32, address: u64, size: u64, requested: u64, state: f64, bin: i32,
  object: f64): void {
  if (n >= room) return;
  const at = buffer + (<usize>n << 6);
  store<f64>(at, <f64>address);
  store<f64>(at, <f64>address, 8);
  store<f64>(at, <f64>size, 16);
  store<f64>(at, <f64>requested, 24);
  store<f64>(at, state, 32);
  store<f64>(at, <f64>bin, 40);
  store<f64>(at, <f64>REGION_MMAP, 48);
  store<f64>(at, object, 56);
}

const KIND_STATES: StaticArray<f64> = [STATE_ALLOCATED, STATE_PAGE_FREE, STATE_LOCAL_FREE, STATE_THREAD_FREE];

/** Heap walk: 8 f64 per record, up to `capacity`; returns the total number of records. */
export function walkHeap(buffer: usize, room: i32): i32 {
  let n = 0;
  const segments = sortedSegments();
  for (let i: u64 = 0; i < segments; i++) {
    const s = sortedSegment(i);
    const end = spanEnd(s);
    for (let sl = nextSpan(slice(s, 0)); sl < end; sl = nextSpan(sl)) {
      if (sliceIsFree(sl)) {
        const at = s + (((sl - slice(s, 0)) / PAGE_STRUCT) << SLICE_SHIFT);
        put(buffer, n++, room, at, sliceCount(sl) << SLICE_SHIFT, 0, STATE_FREE_SPAN, -1, -1);
        continue;
      }
      classifyBlocks(sl);
      const bsize = blockSize(sl);
      const start = pageStart(sl, xblockSize(sl));
      const bin = binOf(xblockSize(sl));
      const cap = capacity(sl);
      for (let b: u64 = 0; b < reserved(sl); b++) {
        const block = start + b * bsize;
        if (b >= cap) {
          put(buffer, n++, room, block, bsize, 0, STATE_UNUSED, bin, -1);
          continue;
        }
        const kind = blockKind(b);
        if (kind != 0) {
          put(buffer, n++, room, block, bsize, 0, unchecked(KIND_STATES[kind]), bin, -1);
          continue;
        }
        put(buffer, n++, room, block, bsize, noteRequested(block), STATE_ALLOCATED, bin, <f64>noteObject(block));
      }
      if (segmentKind(s) == KIND_HUGE) break;
    }
  }
  return n;
}

/** Page walk: 6 f64 per record (header, pages and free spans in address order); returns the number of records. */
export function walkPages(buffer: usize, room: i32): i32 {
  let n = 0;
  const segments = sortedSegments();
  for (let i: u64 = 0; i < segments; i++) {
    const s = sortedSegment(i);
    const end = spanEnd(s);
    for (let sl = slice(s, 0); sl < end; sl = nextSpan(sl)) {
      if (n < room) {
        const at = buffer + <usize>n * 48;
        const header = sl == slice(s, 0);
        const free = !header && sliceIsFree(sl);
        store<f64>(at, <f64>(s + (((sl - slice(s, 0)) / PAGE_STRUCT) << SLICE_SHIFT)));
        store<f64>(at, <f64>sliceCount(sl), 8);
        store<f64>(at, header || free ? -1 : <f64>binOf(xblockSize(sl)), 16);
        store<f64>(at, header ? 2 : free ? 1 : 0, 24);
        store<f64>(at, header || free ? 0 : <f64>used(sl), 32);
        store<f64>(at, header || free ? 0 : <f64>reserved(sl), 40);
      }
      n++;
      if (segmentKind(s) == KIND_HUGE && sl != slice(s, 0)) break;
    }
  }
  return n;
}
