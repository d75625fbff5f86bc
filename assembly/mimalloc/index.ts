// The wasm exports of the mimalloc model (mimalloc 2.0.9 as Debian 12 ships it, preloaded): options, init, the
// batch replay loop, walks and statistics. See docs/design.md for the ABI every model shares.

import { vmInit, st64 } from "../common/vmem";
import { replayUse, replayBatch, optionsOpen, optionsClose, unknownOp } from "../common/replay";
import { countersInit } from "../common/counters";
import {
  OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_FREE, OP_MEMALIGN, OP_ALIGNED_ALLOC, OP_POSIX_MEMALIGN, OP_VALLOC,
  OP_PVALLOC, OP_TRIM, OP_THREAD_EXIT, FLAG_RAW_ADDRESS, REGION_NONE, REGION_MMAP, opField, putResult, sizeArg,
  objectAddress, setObjectAddress, setObjectRequested, clearError, failed, raise,
} from "../common/ops";
import { globalsInit, gadd, G_LIVE_REQUESTED, G_LIVE_BLOCKS, MAX_THREADS } from "./globals";
import { setHintStart, setMmapBase } from "./os";
import { setLimitOsAlloc, setReserveBytes, arenaInit } from "./arena";
import { binOf, binSize, goodSize, BIN_FULL } from "./bins";
import { miMalloc, miCalloc, miRealloc, miMallocAligned, miPosixMemalign, miValloc, miPvalloc } from "./alloc";
import { miFree, usableSize as blockUsableSize, ownedPage, blockStart, blockBytes } from "./free";
import { STAT_NAMES, writeStats } from "./stats";
import { WALK_FIELDS, WALK_STATES, SPAN_FIELDS, SPAN_STATES, NOTE_REQUESTED, noteRequested, walkHeap, walkPages } from "./walk";
import { checkAfterOp } from "./check";
import { heapAbandon, heapOf } from "./heap";
import { afterOp } from "./decompose";

export { lastErrorMessage, lastErrorCode, abiConstants } from "../common/ops";
export { check, checkMessage, setCheckEvery, debugLoad64, debugStore64 } from "./check";
export { decomposeParts, decompose } from "./decompose";
export * from "../common/metrics-abi";
export * from "../common/trace-abi";
import { metricsUseUsableSize } from "../common/metrics";

const OPTION_NAMES = "MIMALLOC_LIMIT_OS_ALLOC,aligned_base,mmap_base,MIMALLOC_RESERVE_OS_MEMORY";


/** Comma-separated option names; an option's id is its index. */
export function optionNames(): string {
  return OPTION_NAMES;
}

/** Sets option `id` before `init`; returns 0 when the option or value is rejected. */
export function setOption(id: i32, value: f64): i32 {
  if (!optionsOpen()) return 0;
  switch (id) {
    case 0: setLimitOsAlloc(value != 0); break;
    case 1: if (value < 0 || !setHintStart(<u64>value)) return 0; break;
    case 2: if (value < 0 || !setMmapBase(<u64>value)) return 0; break;
    case 3: if (value < 0 || !setReserveBytes(<u64>value)) return 0; break;
    default: return 0;
  }
  return 1;
}

/** Builds the state of a freshly started process. */
export function init(): void {
  vmInit();
  countersInit();
  globalsInit();
  arenaInit();
  optionsClose();
}

/** Linear memory for batch buffers. */
export function allocBuffer(bytes: i32): usize {
  return heap.alloc(<usize>bytes);
}

/** Live totals before the block at `address` goes. */
function noteFreed(address: u64): void {
  if (address == 0) return;
  gadd(G_LIVE_BLOCKS, -blockBytes(address));
  gadd(G_LIVE_REQUESTED, -noteRequested(blockStart(address)));
}

/** Live totals after `address` was handed out for `requested` bytes. */
function noteAllocated(address: u64, requested: u64, object: i64): void {
  if (address == 0) return;
  gadd(G_LIVE_BLOCKS, blockBytes(address));
  gadd(G_LIVE_REQUESTED, requested);
  setObjectRequested(object, requested);
  // the walk's note, in the block's first word (the program's data is not modelled): the object, or for a call
  // without one the request itself, tagged by the top bit
  st64(blockStart(address), object >= 0 ? <u64>(object + 1) : requested | NOTE_REQUESTED);
}

/** One operation, its thread and op code checked by the driver; returns false when it failed (heap misuse). */
function runOp(ops: usize, i: i32, results: usize): bool {
  const code = <i32>opField(ops, i, 0);
  const thread = <i32>opField(ops, i, 1);
  const objectSlot = opField(ops, i, 2);
  const a = opField(ops, i, 3);
  const b = opField(ops, i, 4);
  const raw = (<i32>opField(ops, i, 5) & FLAG_RAW_ADDRESS) != 0;
  const object: i64 = raw ? -1 : <i64>objectSlot;
  let address: u64 = 0;
  let requested: u64 = 0;
  switch (code) {
    case OP_MALLOC: requested = sizeArg(a); address = miMalloc(thread, requested); break;
    case OP_CALLOC: {
      const n = sizeArg(a);
      const size = sizeArg(b);
      requested = n * size;
      address = miCalloc(thread, n, size);
      break;
    }
    case OP_VALLOC: requested = sizeArg(a); address = miValloc(thread, requested); break;
    case OP_PVALLOC: requested = sizeArg(a); address = miPvalloc(thread, requested); break;
    case OP_MEMALIGN:
    case OP_ALIGNED_ALLOC: requested = sizeArg(b); address = miMallocAligned(thread, requested, sizeArg(a)); break;
    case OP_POSIX_MEMALIGN: requested = sizeArg(b); address = miPosixMemalign(thread, sizeArg(a), requested); break;
    case OP_REALLOC: {
      const old = raw ? <u64>objectSlot : objectAddress(object);
      if (old != 0 && ownedPage(old) == 0) return false;
      requested = sizeArg(a);
      const oldRequested = old != 0 ? noteRequested(blockStart(old)) : 0;
      noteFreed(old);
      address = miRealloc(thread, old, requested);
      if (address == 0 && old != 0) noteAllocated(old, oldRequested, object); // the old block stays
      break;
    }
    case OP_FREE: {
      const old = raw ? <u64>objectSlot : objectAddress(object);
      if (old != 0 && ownedPage(old) == 0) return false;
      noteFreed(old);
      if (!miFree(thread, old)) return false;
      putResult(results, i, 0, REGION_NONE);
      if (!raw) setObjectAddress(object, 0);
      return true;
    }
    case OP_TRIM:
      putResult(results, i, 0, REGION_NONE); // malloc_trim stays glibc's: its main arena is empty, it returns 0
      return true;
    case OP_THREAD_EXIT:
      heapAbandon(heapOf(thread)); // its segments with blocks wait for another thread to adopt them
      putResult(results, i, 0, REGION_NONE);
      return true;
    default:
      unknownOp(code);
      return false;
  }
  if (failed()) return false;
  noteAllocated(address, requested, object);
  putResult(results, i, address, address == 0 ? REGION_NONE : REGION_MMAP);
  if (!raw && address != 0) setObjectAddress(object, address);
  return true;
}

/** Heaps are per thread and stay bound to it: nothing to do when a batch ends. */
function batchDone(): void {}

replayUse(runOp, checkAfterOp, afterOp, batchDone, MAX_THREADS);
metricsUseUsableSize(blockUsableSize);

/** Runs `count` operations of the batch at `ops`; stops at the first failure; returns how many completed. */
export function replay(ops: usize, count: i32, results: usize, journal: bool): i32 {
  return replayBatch(ops, count, results, journal);
}

/** mi_usable_size of the block at `address` (0 when the model does not own it). */
export function usableSize(address: f64): f64 {
  const p = <u64>address;
  if (p == 0 || ownedPage(p) == 0) {
    clearError();
    return 0;
  }
  return <f64>blockUsableSize(p);
}

/** mi_good_size: the bytes a request of `size` really gets (small and medium blocks: its bin's size). */
export function goodSizeOf(size: f64): f64 {
  return <f64>goodSize(sizeArg(size));
}

/** Number of page queues (bins 0 … 74, the last two the huge and the full queue). */
export function classCount(): i32 {
  return BIN_FULL + 1;
}

/** Block size of bin `bin`. */
export function classSize(bin: i32): f64 {
  return bin > 0 && bin < BIN_FULL ? <f64>binSize(bin) : 0;
}

/** The bin of a request of `size` bytes. */
export function classOf(size: f64): i32 {
  return binOf(sizeArg(size));
}

/** mimalloc has no brk heap: every block is an mmap offset. */
export function heapBase(): f64 {
  return 0;
}

/** mimalloc has no arenas in glibc's sense (its arenas are reservations, off by default). */
export function arenaBase(k: i32): f64 {
  return 0;
}

/** Names of the walk records' states, in code order. */
export function walkStates(): string {
  return WALK_STATES;
}

/** Field names of a walk record. */
export function walkFields(): string {
  return WALK_FIELDS;
}

/** Heap walk: 8 f64 per record, up to `capacity`; returns the total number of records. */
export function walk(buffer: usize, capacity: i32): i32 {
  return walkHeap(buffer, capacity);
}

/** Names of the span records' states, in code order. */
export function spanStates(): string {
  return SPAN_STATES;
}

/** Field names of a page-walk record. */
export function spanFields(): string {
  return SPAN_FIELDS;
}

/** Page walk: one record per page and free span; returns the number of records. */
export function spans(buffer: usize, capacity: i32): i32 {
  return walkPages(buffer, capacity);
}

/** Comma-separated statistic names, in statsInto order. */
export function statNames(): string {
  return STAT_NAMES;
}

/** Writes the statistics into `buffer` (statNames order); returns how many. */
export function statsInto(buffer: usize): i32 {
  return writeStats(buffer);
}
