// The wasm exports of the TCMalloc model (gperftools 2.10 as Debian 12 ships it): options, init, the batch
// replay loop, walks and statistics. See docs/design.md for the ABI every model shares.

import { vmInit, vmBuffer } from "../common/vmem";
import { replayUse, replayBatch, optionsOpen, optionsClose, unknownOp } from "../common/replay";
import { countersInit } from "../common/counters";
import { setOvercommitLimit, USER_SPACE_END } from "../common/kernel";
import {
  OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_FREE, OP_MEMALIGN, OP_ALIGNED_ALLOC, OP_POSIX_MEMALIGN, OP_VALLOC,
  OP_PVALLOC, OP_TRIM, OP_THREAD_EXIT, FLAG_RAW_ADDRESS, REGION_NONE, REGION_HEAP, opField, putResult, sizeArg,
  objectAddress, setObjectAddress, clearError, failed, SIZE_TOO_LARGE,
} from "../common/ops";
import { gld, G_HEAP_START, MAX_THREADS } from "./globals";
import { setTransferNumObjects, allocationSize, numClasses, classToSize, classToPages, batchSize } from "./sizemap";
import { setReleaseRate, setHeapLimitMb, setAggressiveDecommit } from "./pageheap";
import { setOverallThreadCacheSize } from "./threadcache";
import {
  startUp, tcMalloc, tcFree, tcCalloc, tcRealloc, tcMemalign, tcPosixMemalign, tcValloc, tcPvalloc, usableSizeOf,
  tcThreadExit,
} from "./malloc";
import { STAT_NAMES, writeStats } from "./stats";
import { WALK_FIELDS, WALK_STATES, SPAN_FIELDS, SPAN_STATES, walkHeap, walkSpans } from "./walk";

export { lastErrorMessage, lastErrorCode, abiConstants } from "../common/ops";
export { check, checkMessage, setCheckEvery, debugLoad64, debugStore64 } from "./check";
import { checkAfterOp } from "./check";
import { afterOp } from "./decompose";

export { decomposeParts, decompose } from "./decompose";
export * from "../common/metrics-abi";
export * from "../common/trace-abi";
import { metricsUseUsableSize } from "../common/metrics";

const OPTION_NAMES = "TCMALLOC_RELEASE_RATE,TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES,TCMALLOC_AGGRESSIVE_DECOMMIT,"
  + "TCMALLOC_HEAP_LIMIT_MB,TCMALLOC_TRANSFER_NUM_OBJ,heap_base,mmap_base,overcommit_limit";

let heapBaseOption: u64 = 0x555555559000;
let mmapBaseOption: u64 = 0x7ffff7fff000;

/** Comma-separated option names; an option's id is its index. */
export function optionNames(): string {
  return OPTION_NAMES;
}

/** Sets option `id` before `init`; returns 0 when the option or value is rejected. */
export function setOption(id: i32, value: f64): i32 {
  if (!optionsOpen()) return 0;
  switch (id) {
    case 0: if (value < 0) return 0; setReleaseRate(value); break;
    case 1: setOverallThreadCacheSize(value); break;
    case 2: setAggressiveDecommit(value != 0); break;
    case 3: if (value < 0) return 0; setHeapLimitMb(value); break;
    case 4: if (value < 1 || value > 8192) return 0; setTransferNumObjects(<i32>value); break;
    case 5: if (!(value > 0) || value % 4096 != 0 || value >= <f64>USER_SPACE_END) return 0; heapBaseOption = <u64>value; break;
    case 6: if (!(value > 0) || value % 4096 != 0 || value > <f64>USER_SPACE_END) return 0; mmapBaseOption = <u64>value; break;
    case 7: if (!(value >= 0) || value >= SIZE_TOO_LARGE) return 0; setOvercommitLimit(<u64>value); break;
    default: return 0;
  }
  return 1;
}

/** Builds the state of a freshly started process. */
export function init(): void {
  vmInit();
  countersInit();
  startUp(heapBaseOption);
  optionsClose();
}

/** Linear memory for batch buffers. */
export function allocBuffer(bytes: i32): usize {
  return vmBuffer(<usize>bytes);
}

// @ts-ignore: decorator
@inline function regionOf(address: u64): i32 {
  return address == 0 ? REGION_NONE : REGION_HEAP;
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
  switch (code) {
    case OP_MALLOC: address = tcMalloc(thread, sizeArg(a), object); break;
    case OP_CALLOC: address = tcCalloc(thread, sizeArg(a), sizeArg(b), object); break;
    case OP_VALLOC: address = tcValloc(thread, sizeArg(a), object); break;
    case OP_PVALLOC: address = tcPvalloc(thread, sizeArg(a), object); break;
    case OP_MEMALIGN:
    case OP_ALIGNED_ALLOC: address = tcMemalign(thread, sizeArg(a), sizeArg(b), object); break;
    case OP_POSIX_MEMALIGN: address = tcPosixMemalign(thread, sizeArg(a), sizeArg(b), object); break;
    case OP_REALLOC: {
      const old = raw ? <u64>objectSlot : objectAddress(object);
      address = tcRealloc(thread, old, sizeArg(a), object); // NULL with a size: the old block stays
      break;
    }
    case OP_FREE: {
      const old = raw ? <u64>objectSlot : objectAddress(object);
      if (!tcFree(thread, old)) return false;
      putResult(results, i, 0, REGION_NONE);
      if (!raw) setObjectAddress(object, 0);
      return true;
    }
    case OP_TRIM:
      putResult(results, i, 0, REGION_NONE); // malloc_trim stays glibc's: its main arena is empty, it returns 0
      return true;
    case OP_THREAD_EXIT:
      tcThreadExit(thread);
      putResult(results, i, 0, REGION_NONE);
      return true;
    default:
      unknownOp(code);
      return false;
  }
  if (failed()) return false;
  putResult(results, i, address, regionOf(address));
  if (!raw && (address != 0 || code == OP_REALLOC && sizeArg(a) == 0)) setObjectAddress(object, address);
  return true;
}

/** Threads keep no model state between calls: nothing to do when a batch ends. */
function batchDone(): void {}

replayUse(runOp, checkAfterOp, afterOp, batchDone, MAX_THREADS);
metricsUseUsableSize(usableSizeOf);

/** Runs `count` operations of the batch at `ops`; stops at the first failure; returns how many completed. */
export function replay(ops: usize, count: i32, results: usize, journal: bool): i32 {
  return replayBatch(ops, count, results, journal);
}

/** tc_malloc_size(address); -1 when TCMalloc does not own it and aborts (lastErrorMessage says so). */
export function usableSize(address: f64): f64 {
  clearError();
  const size = usableSizeOf(<u64>address);
  return failed() ? -1 : <f64>size;
}

/** nallocx(size, 0). */
export function nallocx(size: f64): f64 {
  return <f64>allocationSize(sizeArg(size));
}

/** Number of size classes, counting the unused class 0. */
export function classCount(): i32 {
  return numClasses();
}

/** Bytes of class `cl`. */
export function classSize(cl: i32): f64 {
  return cl > 0 && cl < numClasses() ? <f64>classToSize(cl) : 0;
}

/** Pages per span of class `cl`. */
export function classPages(cl: i32): f64 {
  return cl > 0 && cl < numClasses() ? <f64>classToPages(cl) : 0;
}

/** num_objects_to_move of class `cl`. */
export function classBatch(cl: i32): i32 {
  return cl > 0 && cl < numClasses() ? batchSize(cl) : 0;
}

/** The initial program break (the heap start of the address lines is it rounded up to a page). */
export function heapBase(): f64 {
  return <f64>((gld(G_HEAP_START) + 8191) & ~(<u64>8191));
}

/** TCMalloc has no arenas. */
export function arenaBase(k: i32): f64 {
  return 0;
}

export function mmapBase(): f64 {
  return <f64>mmapBaseOption;
}

export function walkFields(): string {
  return WALK_FIELDS;
}

/** Names of the walk records' states, in code order. */
export function walkStates(): string {
  return WALK_STATES;
}

/** Heap walk: 8 f64 per record, up to `capacity`; returns the total number of records. */
export function walk(buffer: usize, capacity: i32): i32 {
  return walkHeap(buffer, capacity);
}

export function spanFields(): string {
  return SPAN_FIELDS;
}

/** Names of the span records' states, in code order. */
export function spanStates(): string {
  return SPAN_STATES;
}

/** Span walk: 6 f64 per span, up to `capacity`; returns the number of spans. */
export function spans(buffer: usize, capacity: i32): i32 {
  return walkSpans(buffer, capacity);
}

export function statNames(): string {
  return STAT_NAMES;
}

/** Writes the statistics into `buffer` (statNames order); returns how many. */
export function statsInto(buffer: usize): i32 {
  return writeStats(buffer);
}
