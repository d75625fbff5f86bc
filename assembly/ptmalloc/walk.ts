// The heap walk: one record per chunk, every arena's heaps in address order, then the mmapped chunks.
//
//   record (8 × f64)
//   ╒═════════╤═══════╤══════╤═══════════╤═══════╤═════╤════════╤════════╕
//   │ address │ chunk │ size │ requested │ state │ bin │ region │ object │
//   ╘═════════╧═══════╧══════╧═══════════╧═══════╧═════╧════════╧════════╛
//
// A chunk that looks in use is allocated when the object named by its notes (notes.ts) lives at its address; otherwise the
// tcache key marks a cached chunk, and membership of its fastbin list marks a fastbin chunk.

import { ld64 } from "../common/vmem";
import { REGION_HEAP, REGION_MMAP, REGION_MAIN_MAPPED, REGION_ARENA } from "../common/ops";
import {
  chunkSize, fd, inuseBitAt, chunk2mem, protectPtr, tcacheIndex, fastbinIndex, MINSIZE, CHUNK_HDR_SZ,
} from "./chunk";
import { top, fastbinSlot } from "./mstate";
import { tcacheKey, tcacheBins, globalMaxFast, param, P_BRK, heapBaseAddress } from "./params";
import { objectsByAddress, objectAt, objectRequest, heapNoteRawRequest } from "./notes";
import { mainArena, arenaAt, arenaCount, arenaFirstChunk, heapSize, HEAP_INFO_SIZE } from "./arena";
import {
  mapCount, mapStart, mapLength, mapKind, mapChunk, mapRequested, mapObject, MAP_CHUNK, MAP_HEAP, MAP_MAIN,
} from "./mmap";

export const WALK_FIELDS: string = "address,chunk,size,requested,state,bin,region,object";

/** The states' names, in code order: JS reads a record's state by name (`walkStates`). */
export const WALK_STATES: string = "allocated,tcache,fastbin,unsorted,smallbin,largebin,top,mmapped";

export const STATE_ALLOCATED: i32 = 0;
export const STATE_TCACHE: i32 = 1;
export const STATE_FASTBIN: i32 = 2;
export const STATE_UNSORTED: i32 = 3;
export const STATE_SMALLBIN: i32 = 4;
export const STATE_LARGEBIN: i32 = 5;
export const STATE_TOP: i32 = 6;
export const STATE_MMAPPED: i32 = 7;

const LIST_STEPS_MAX: i32 = 1 << 22;

let out: usize = 0;
let capacity: i32 = 0;
let written: i32 = 0;

function emit(chunk: u64, size: u64, requested: u64, state: i32, bin: i64, region: i32, object: i64): void {
  if (written < capacity) {
    const at = out + (<usize>written << 6);
    store<f64>(at, <f64>chunk2mem(chunk));
    store<f64>(at, <f64>chunk, 8);
    store<f64>(at, <f64>size, 16);
    store<f64>(at, <f64>requested, 24);
    store<f64>(at, <f64>state, 32);
    store<f64>(at, <f64>bin, 40);
    store<f64>(at, <f64>region, 48);
    store<f64>(at, <f64>object, 56);
  }
  written++;
}

/** The bins[] index of free chunk `p` in `av`: follow fd to the bin header. -1 if none is reached. */
function binOf(av: u64, p: u64): i64 {
  const first = av + 96;
  const last = av + 80 + (127 << 4);
  let q = fd(p);
  for (let i = 0; i < LIST_STEPS_MAX && q != p; i++) {
    if (q >= first && q <= last && ((q - first) & 15) == 0) return <i64>((q - av - 80) >> 4);
    q = fd(q);
  }
  return -1;
}

function inFastbin(av: u64, p: u64, idx: u64): bool {
  let q = ld64(fastbinSlot(av, idx));
  for (let i = 0; i < LIST_STEPS_MAX && q != 0; i++) {
    if (q == p) return true;
    q = protectPtr(q + 16, fd(q));
  }
  return false;
}

function walkChunk(av: u64, p: u64, size: u64, region: i32): void {
  if (!inuseBitAt(p, size)) {
    const bin = binOf(av, p);
    const state = bin == 1 ? STATE_UNSORTED : bin >= 64 ? STATE_LARGEBIN : bin >= 2 ? STATE_SMALLBIN : STATE_UNSORTED;
    emit(p, size, 0, state, bin, region, -1);
    return;
  }
  const mem = chunk2mem(p);
  const object = objectAt(mem);
  const rawRequest = object >= 0 ? -1 : heapNoteRawRequest(mem);
  if (object >= 0) {
    emit(p, size, objectRequest(object), STATE_ALLOCATED, -1, region, object);
  } else if (rawRequest >= 0) {
    emit(p, size, <u64>rawRequest, STATE_ALLOCATED, -1, region, -1);
  } else if (ld64(mem + 8) == tcacheKey && tcacheIndex(size) < tcacheBins) {
    emit(p, size, 0, STATE_TCACHE, <i64>tcacheIndex(size), region, -1);
  } else if (size <= globalMaxFast && inFastbin(av, p, fastbinIndex(size))) {
    emit(p, size, 0, STATE_FASTBIN, <i64>fastbinIndex(size), region, -1);
  } else {
    emit(p, size, 0, STATE_ALLOCATED, -1, region, -1);
  }
}

/**
 * Walks [p, end) of one heap of `av`, ending at its top or at a fencepost. The main arena's double fencepost
 * (two 16-byte chunks) may be followed by more of its space when the break moved again after a mapping.
 */
function walkRange(av: u64, p: u64, end: u64, region: i32): void {
  const t = top(av);
  while (p < end) {
    const size = chunkSize(p);
    if (p == t) {
      emit(p, size, 0, STATE_TOP, -1, region, -1);
      return;
    }
    if (size == CHUNK_HDR_SZ && region == REGION_HEAP && chunkSize(p + CHUNK_HDR_SZ) == CHUNK_HDR_SZ) {
      p += 2 * CHUNK_HDR_SZ;
      continue;
    }
    if (size < MINSIZE || p + size > end) return;
    walkChunk(av, p, size, region);
    p += size;
  }
}

/** Writes up to `cap` records at `buffer`; returns the number of chunks. */
export function walkInto(buffer: usize, cap: i32): i32 {
  out = buffer;
  capacity = cap;
  written = 0;
  objectsByAddress();
  const brk = param(P_BRK);
  if (brk > heapBaseAddress) walkRange(mainArena, heapBaseAddress, brk, REGION_HEAP);
  for (let i: u64 = 0, m = mapCount(); i < m; i++) {
    if (mapKind(i) == MAP_MAIN) walkRange(mainArena, mapStart(i), mapStart(i) + mapLength(i), REGION_MAIN_MAPPED);
  }
  for (let k: u64 = 1, n = arenaCount(); k < n; k++) {
    const av = arenaAt(k);
    for (let i: u64 = 0, m = mapCount(); i < m; i++) {
      const h = mapStart(i);
      if (mapKind(i) != MAP_HEAP || ld64(h) != av) continue;
      const first = h + HEAP_INFO_SIZE == av ? arenaFirstChunk(av) : h + HEAP_INFO_SIZE;
      walkRange(av, first, h + heapSize(h), REGION_ARENA + <i32>k);
    }
  }
  for (let i: u64 = 0, m = mapCount(); i < m; i++) {
    if (mapKind(i) != MAP_CHUNK) continue;
    const p = mapChunk(i);
    emit(p, chunkSize(p), mapRequested(i), STATE_MMAPPED, -1, REGION_MMAP, <i64>mapObject(i) - 1);
  }
  return written;
}
