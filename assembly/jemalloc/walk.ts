// The heap walk: every object slot and free extent jemalloc holds, in the record layout every model writes
// (WALK_FIELDS, one f64 each). Objects in a thread's cache are told apart from allocated ones by a sorted list
// of the cached pointers, built per walk in linear memory (never freed: the walk is rare and the buffer reused).
//
//   record: address │ chunk (extent base) │ size │ requested │ state │ class │ region │ object
//   states (WALK_STATES): 0 allocated, 1 tcache (thread cache), 2 central (free slab region), 3 pageheap (dirty
//   or muzzy extent), 4 released (retained extent); the object id and the request are not tracked (-1, 0).

import { REGION_MMAP } from "../common/ops";
import { index2size, binNregs } from "./sz";
import {
  eBase, eSize, eAddr, eState, eSlab, eSzind, eUsize, recordCount, recordAt, FREE_RECORD, STATE_ACTIVE,
  STATE_RETAINED,
} from "./extent";
import { regionFree } from "./bin";
import { threadCount } from "./arena";
import { tcacheBins, ncached, cachedAt } from "./tcache";

export const WALK_FIELDS = "address,chunk,size,requested,state,bin,region,object";
/** The states' names, in code order: JS reads a record's state by name (`walkStates`). */
export const WALK_STATES = "allocated,tcache,central,pageheap,released";
const WIDTH: i32 = 8;

let cachedList: usize = 0;
let cachedCapacity: i32 = 0;
let cachedCount: i32 = 0;

/** Collects and sorts every pointer in the thread caches. */
function collectCached(): void {
  let n = 0;
  const threads = threadCount();
  for (let t = 0; t < threads; t++) for (let b = 0; b < tcacheBins(); b++) n += <i32>ncached(t, b);
  if (n > cachedCapacity) {
    cachedCapacity = n + (n >> 1) + 64;
    cachedList = heap.alloc(<usize>cachedCapacity << 3);
  }
  cachedCount = 0;
  for (let t = 0; t < threads; t++) {
    for (let b = 0; b < tcacheBins(); b++) {
      const k = ncached(t, b);
      for (let i: u32 = 0; i < k; i++) {
        store<u64>(cachedList + (<usize>cachedCount << 3), cachedAt(t, b, i));
        cachedCount++;
      }
    }
  }
  // Insertion sort: the caches hold a few thousand pointers at most.
  for (let i = 1; i < cachedCount; i++) {
    const v = load<u64>(cachedList + (<usize>i << 3));
    let j = i - 1;
    while (j >= 0 && load<u64>(cachedList + (<usize>j << 3)) > v) {
      store<u64>(cachedList + (<usize>(j + 1) << 3), load<u64>(cachedList + (<usize>j << 3)));
      j--;
    }
    store<u64>(cachedList + (<usize>(j + 1) << 3), v);
  }
}

/** True when `p` sits in a thread cache. */
function isCached(p: u64): bool {
  let lo = 0;
  let hi = cachedCount;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const v = load<u64>(cachedList + (<usize>mid << 3));
    if (v == p) return true;
    if (v < p) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

/** Writes record `n` when it fits; returns n + 1. */
function put(buffer: usize, capacity: i32, n: i32, address: u64, chunk: u64, size: u64, state: i32, cls: i32): i32 {
  if (n < capacity) {
    const at = buffer + (<usize>(n * WIDTH) << 3);
    store<f64>(at, <f64>address);
    store<f64>(at, <f64>chunk, 8);
    store<f64>(at, <f64>size, 16);
    store<f64>(at, 0, 24);
    store<f64>(at, <f64>state, 32);
    store<f64>(at, <f64>cls, 40);
    store<f64>(at, <f64>REGION_MMAP, 48);
    store<f64>(at, -1, 56);
  }
  return n + 1;
}

/** Heap walk: up to `capacity` records; returns the total number. */
export function walkHeap(buffer: usize, capacity: i32): i32 {
  collectCached();
  let n = 0;
  const records = recordCount();
  for (let i: u64 = 0; i < records; i++) {
    const e = recordAt(i);
    const state = eState(e);
    if (state == FREE_RECORD) continue;
    if (state != STATE_ACTIVE) {
      n = put(buffer, capacity, n, eBase(e), eBase(e), eSize(e), state == STATE_RETAINED ? 4 : 3, -1);
      continue;
    }
    const cls = <i32>eSzind(e);
    if (!eSlab(e)) {
      const kind = isCached(eAddr(e)) ? 1 : 0;
      n = put(buffer, capacity, n, eAddr(e), eBase(e), eUsize(e), kind, cls);
      continue;
    }
    const size = index2size(cls);
    const nregs = <u64>binNregs(cls);
    for (let r: u64 = 0; r < nregs; r++) {
      const p = eBase(e) + r * size;
      const kind = regionFree(e, r) ? 2 : isCached(p) ? 1 : 0;
      n = put(buffer, capacity, n, p, eBase(e), size, kind, cls);
    }
  }
  return n;
}
