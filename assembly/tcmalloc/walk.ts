// Heap walks: every object slot of every in-use span and every free span, in address order, found through the
// pagemap; and a per-span summary. Walks only read the model's state.
//
//   walk record (8 × f64)
//   ╒═════════╤═══════╤══════╤═══════════╤═══════╤═════╤════════╤════════╕
//   │ address │ chunk │ size │ requested │ state │ bin │ region │ object │
//   ╘═════════╧═══════╧══════╧═══════════╧═══════╧═════╧════════╧════════╛
//   state: 0 allocated, 8 thread cache, 9 transfer cache, 10 central list, 11 page heap free,
//          12 page heap released, 13 unused span tail.   bin: size class, -1 for page-heap spans.
//
//   span record (6 × f64)
//   ╒═════════╤═══════╤════════════╤═══════════════════════════════════╤═══════════╤═════════╕
//   │ address │ pages │ size class │ state (0 in use, 1 free, 2 freed  │ allocated │ objects │
//   │         │       │            │ to the OS)                        │ objects   │ total   │
//   ╘═════════╧═══════╧════════════╧═══════════════════════════════════╧═══════════╧═════════╛

import { ld64 } from "../common/vmem";
import { Scratch } from "../common/scratch";
import { REGION_HEAP } from "../common/ops";
import { gld, G_BRK, G_HEAP_START, G_THREAD_HEAPS } from "./globals";
import { PAGE_SHIFT, numClasses, classToSize, batchSize } from "./sizemap";
import { spanStart, spanLength, spanClass, spanLocation, IN_USE } from "./span";
import { getDescriptor } from "./pageheap";
import { transferUsed, transferSlotHead } from "./transfer";
import { freeList, listHead, nextCache } from "./threadcache";
import { isAllocated, noteRequested, noteObject } from "./notes";

export const WALK_FIELDS = "address,chunk,size,requested,state,bin,region,object";
export const SPAN_FIELDS = "address,pages,sizeclass,state,allocated,objects";

/** The states' names, in code order: JS reads a record's state by name (`walkStates`). */
export const WALK_STATES = "allocated,threadcache,transfer,central,pageheap,released,span";
/** A span's state names, in code order (`spanStates`). */
export const SPAN_STATES = "in-use,free,released";

const STATE_ALLOCATED: f64 = 0;
const STATE_THREAD_CACHE: f64 = 1;
const STATE_TRANSFER: f64 = 2;
const STATE_CENTRAL: f64 = 3;
const STATE_PAGEHEAP: f64 = 4;
const STATE_RELEASED: f64 = 5;
const STATE_SPAN_TAIL: f64 = 6;

// Cached objects (thread caches and transfer cache), sorted: address | 1 for the transfer cache.
const cached = new Scratch(8, 4096);

function addCached(value: u64): void {
  store<u64>(cached.push(), value);
}

// @ts-ignore: decorator
@inline function at(i: i32): u64 { return load<u64>(cached.at(i)); }
// @ts-ignore: decorator
@inline function put(i: i32, v: u64): void { store<u64>(cached.at(i), v); }

function siftDown(root: i32, end: i32): void {
  while (true) {
    let child = 2 * root + 1;
    if (child >= end) return;
    if (child + 1 < end && at(child + 1) > at(child)) child++;
    if (at(root) >= at(child)) return;
    const t = at(root);
    put(root, at(child));
    put(child, t);
    root = child;
  }
}

function sortCached(): void {
  for (let i = cached.count / 2 - 1; i >= 0; i--) siftDown(i, cached.count);
  for (let end = cached.count - 1; end > 0; end--) {
    const t = at(0);
    put(0, at(end));
    put(end, t);
    siftDown(0, end);
  }
}

/** State of a free slot: thread cache or transfer cache when listed, else on its span's list (central). */
function freeSlotState(address: u64): f64 {
  let lo = 0;
  let hi = cached.count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((at(mid) & ~(<u64>7)) < address) lo = mid + 1;
    else hi = mid;
  }
  if (lo < cached.count && (at(lo) & ~(<u64>7)) == address) return (at(lo) & 1) != 0 ? STATE_TRANSFER : STATE_THREAD_CACHE;
  return STATE_CENTRAL;
}

function collectCached(): void {
  cached.clear();
  const n = numClasses();
  for (let tc = gld(G_THREAD_HEAPS); tc != 0; tc = nextCache(tc)) {
    for (let cl = 1; cl < n; cl++) {
      for (let o = listHead(freeList(tc, cl)); o != 0; o = ld64(o)) addCached(o);
    }
  }
  for (let cl = 1; cl < n; cl++) {
    const used = transferUsed(cl);
    const batch = batchSize(cl);
    for (let slot: i64 = 0; slot < used; slot++) {
      let o = transferSlotHead(cl, slot);
      for (let k = 0; k < batch && o != 0; k++, o = ld64(o)) addCached(o | 1);
    }
  }
  sortCached();
}

let written: i32 = 0;

function record(buffer: usize, capacity: i32, address: u64, size: u64, requested: f64, state: f64, bin: f64, object: f64): void {
  if (written < capacity) {
    const p = buffer + (<usize>written << 6);
    store<f64>(p, <f64>address);
    store<f64>(p, <f64>address, 8);
    store<f64>(p, <f64>size, 16);
    store<f64>(p, requested, 24);
    store<f64>(p, state, 32);
    store<f64>(p, bin, 40);
    store<f64>(p, <f64>REGION_HEAP, 48);
    store<f64>(p, object, 56);
  }
  written++;
}

/** The first span that starts at page `p` or later, below the break; 0 when there is none. */
function spanFrom(p: u64): u64 {
  const end = gld(G_BRK) >> PAGE_SHIFT;
  for (; p < end; p++) {
    const s = getDescriptor(p);
    if (s != 0 && spanStart(s) == p) return s;
  }
  return 0;
}

/** The heap's first span in address order (0: none). */
function firstSpan(): u64 {
  return spanFrom(gld(G_HEAP_START) >> PAGE_SHIFT);
}

/** The span after `s` in address order (0: none). */
function nextSpan(s: u64): u64 {
  return spanFrom(spanStart(s) + spanLength(s));
}

/** Writes up to `capacity` walk records; returns how many records the heap has. */
export function walkHeap(buffer: usize, capacity: i32): i32 {
  collectCached();
  written = 0;
  for (let s = firstSpan(); s != 0; s = nextSpan(s)) {
    const p = spanStart(s);
    const length = spanLength(s);
    const base = p << PAGE_SHIFT;
    const bytes = length << PAGE_SHIFT;
    const location = spanLocation(s);
    const cl = spanClass(s);
    if (location != IN_USE) {
      record(buffer, capacity, base, bytes, 0, location == 1 ? STATE_PAGEHEAP : STATE_RELEASED, -1, -1);
    } else if (cl == 0) {
      const live = isAllocated(base);
      record(buffer, capacity, base, bytes, live ? <f64>noteRequested(base) : 0,
        live ? STATE_ALLOCATED : STATE_CENTRAL, -1, live ? <f64>noteObject(base) : -1);
    } else {
      const size = classToSize(cl);
      const objects = bytes / size;
      for (let k: u64 = 0; k < objects; k++) {
        const a = base + k * size;
        if (isAllocated(a)) record(buffer, capacity, a, size, <f64>noteRequested(a), STATE_ALLOCATED, cl, <f64>noteObject(a));
        else record(buffer, capacity, a, size, 0, freeSlotState(a), cl, -1);
      }
      const tail = bytes - objects * size;
      if (tail > 0) record(buffer, capacity, base + objects * size, tail, 0, STATE_SPAN_TAIL, cl, -1);
    }
  }
  return written;
}

/** Writes up to `capacity` span records; returns how many spans the heap has. */
export function walkSpans(buffer: usize, capacity: i32): i32 {
  let n = 0;
  for (let s = firstSpan(); s != 0; s = nextSpan(s)) {
    const length = spanLength(s);
    const base = spanStart(s) << PAGE_SHIFT;
    const cl = spanClass(s);
    const location = spanLocation(s);
    let objects: u64 = 0;
    let allocated: u64 = 0;
    if (location == IN_USE) {
      if (cl == 0) {
        objects = 1;
        allocated = <u64>isAllocated(base);
      } else {
        const size = classToSize(cl);
        objects = (length << PAGE_SHIFT) / size;
        for (let k: u64 = 0; k < objects; k++) allocated += <u64>isAllocated(base + k * size);
      }
    }
    if (n < capacity) {
      const r = buffer + <usize>n * 48;
      store<f64>(r, <f64>base);
      store<f64>(r, <f64>length, 8);
      store<f64>(r, <f64>cl, 16);
      store<f64>(r, <f64>location, 24);
      store<f64>(r, <f64>allocated, 32);
      store<f64>(r, <f64>objects, 40);
    }
    n++;
  }
  return n;
}
