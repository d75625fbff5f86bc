// glibc 2.36 ptmalloc (x86-64) as a wasm module: the exports of the model ABI (docs/design.md).
//
//   simulated address space
//   ┌─────────────┬───────────────┬──────────────┬────────────────┬────────────┬──────────────────────────┐
//   │ brk heap    │ ··· free ···  │ arena heaps, │ mmap_base:     │ ··· ···    │ 0xfff0…: objects,        │
//   │ (heap_base) │               │ mmapped      │ libc data      │            │ counters, params, maps   │
//   │             │               │ chunks ↓     │ (main_arena)   │            │                          │
//   └─────────────┴───────────────┴──────────────┴────────────────┴────────────┴──────────────────────────┘

import { vmInit, vmMap, st64, ld64, vmBuffer } from "../common/vmem";
import { replayUse, replayBatch, optionsOpen, optionsClose, unknownOp } from "../common/replay";
import { countersInit } from "../common/counters";
import { setOvercommitLimit, USER_SPACE_END } from "../common/kernel";
import {
  opField, putResult, sizeArg, objectAddress, setObjectAddress, clearError, failed, lastErrorMessage as errorText,
  OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_FREE, OP_MEMALIGN, OP_ALIGNED_ALLOC, OP_POSIX_MEMALIGN, OP_VALLOC,
  OP_PVALLOC, OP_TRIM, OP_THREAD_EXIT, FLAG_RAW_ADDRESS, REGION_NONE, REGION_HEAP, REGION_MMAP, REGION_MAIN_MAPPED,
  REGION_ARENA, SIZE_TOO_LARGE,
} from "../common/ops";
import { chunkSize, prevSize, isMmapped, isMainArenaChunk, mem2chunk, PTRDIFF_MAX } from "./chunk";
import { initState, setNextArena, setAttachedThreads } from "./mstate";
import {
  PARAMS_BASE, THREADS_BASE, ARENAS_BASE, PAGE, P_MMAP_THRESHOLD, P_TRIM_THRESHOLD, P_BRK, P_NARENAS,
  P_MULTI_THREADED, P_SBRK_BASE, param, setParam, setCurrentThread, setThreadArena, singleThread,
  setTcacheCount, setTcacheMax, setTcacheUnsortedLimit, setMxfast, setMmapThreshold, setMmapMax,
  setTrimThreshold, setTopPad, setArenaMax, setArenaTest, setPerturb, setHeapBase, setMmapBase, setCores, setHugetlb, setBrkBlockedAt,
  initialMmapThreshold, initialTrimThreshold, heapBaseAddress, mmapBaseAddress, LIBC_DATA_SIZE,
} from "./params";
import { mainArena, setMainArena, arenaForChunk, arenaIndex, arenaAt, arenaCount, HEAP_INFO_SIZE } from "./arena";
import {
  libcMalloc, libcFree, libcRealloc, libcCalloc, midMemalign, posixMemalign, pvalloc, usableSizeOf, mallocTrim,
  headerReadable, threadExit,
} from "./api";
import { mapIndexOf, setMapNotes } from "./mmap";
import { ledgerOwn, ledgerDisown } from "./ledger";
import { walkInto, WALK_FIELDS, WALK_STATES } from "./walk";
import { writeHeapNotes, releaseRawBlock, heapNoteRawRequest } from "./notes";
import { statsInto as writeStats, STAT_NAMES } from "./stats";
import { checkAfterOp } from "./check";
import {
  setLayout, layoutInit, layoutSynced, layoutSyncIn, layoutSyncOut, LAYOUT_NAMES,
} from "./layout";
export {
  memRead, memWrite, symbols, regions, setTcacheKey, addressKinds, addressKind, tcacheOf,
} from "./memory";

export { lastErrorCode, abiConstants } from "../common/ops";
export { check, checkMessage, setCheckEvery, debugLoad64, debugStore64 } from "./check";
import { afterOp } from "./decompose";

export { decomposeParts, decompose } from "./decompose";
export * from "../common/metrics-abi";
export * from "../common/trace-abi";
import { metricsUseUsableSize } from "../common/metrics";

/** Thread slots backed at init (16 bytes each): every slot up to ARENAS_BASE, so also the most threads. */
const THREAD_SLOTS_BYTES: u64 = ARENAS_BASE - THREADS_BASE;
const MAX_THREADS: i32 = <i32>(THREAD_SLOTS_BYTES >> 4);

const OPTION_NAMES: string = "glibc.malloc.tcache_count,glibc.malloc.tcache_max,glibc.malloc.tcache_unsorted_limit,"
  + "glibc.malloc.mxfast,glibc.malloc.mmap_threshold,glibc.malloc.mmap_max,glibc.malloc.trim_threshold,"
  + "glibc.malloc.top_pad,glibc.malloc.arena_max,glibc.malloc.arena_test,glibc.malloc.perturb,heap_base,"
  + "mmap_base,cores,overcommit_limit,glibc.malloc.hugetlb,brk_blocked_at,layout";

/** The layouts by name (comma separated); the option `layout` takes a layout's index. */
export function layoutNames(): string {
  return LAYOUT_NAMES;
}

/** Comma-separated tunable names; the index of a name is its `setOption` id. */
export function optionNames(): string {
  return OPTION_NAMES;
}

/** Sets a tunable before `init`, as GLIBC_TUNABLES would. Returns 1 when accepted (never after `init`). */
export function setOption(id: i32, value: f64): i32 {
  if (!optionsOpen() || !(value >= 0) || value >= SIZE_TOO_LARGE) return 0;
  const v = <u64>value;
  switch (id) {
    case 0: setTcacheCount(v); break;
    case 1: setTcacheMax(v); break;
    case 2: setTcacheUnsortedLimit(v); break;
    case 3: setMxfast(v); break;
    case 4: setMmapThreshold(v); break;
    case 5: setMmapMax(v); break;
    case 6: setTrimThreshold(v); break;
    case 7: setTopPad(v); break;
    case 8: setArenaMax(v); break;
    case 9: setArenaTest(v); break;
    case 10: setPerturb(v); break;
    case 11: if (v == 0 || (v & (PAGE - 1)) != 0 || v >= USER_SPACE_END) return 0; setHeapBase(v); break;
    case 12: {
      if (v == 0 || (v & (PAGE - 1)) != 0 || v > USER_SPACE_END - LIBC_DATA_SIZE) return 0;
      setMmapBase(v);
      break;
    }
    case 13: setCores(v); break;
    case 14: setOvercommitLimit(v); break;
    case 15: setHugetlb(v); break;
    case 16: if ((v & (PAGE - 1)) != 0 || v >= USER_SPACE_END) return 0; setBrkBlockedAt(v); break;
    case 17: if (!setLayout(v)) return 0; break;
    default: return 0;
  }
  return 1;
}

/** Builds the initial state: an empty main arena, no tcache yet, the break at heap_base. */
export function init(): void {
  vmInit();
  countersInit();
  vmMap(PARAMS_BASE, 0x10000);
  vmMap(THREADS_BASE, THREAD_SLOTS_BYTES);
  vmMap(ARENAS_BASE, 0x10000);
  const av = layoutInit();
  setMainArena(av);
  initState(av, true);
  setNextArena(av, av);
  setAttachedThreads(av, 1);
  st64(ARENAS_BASE, av);
  setParam(P_NARENAS, 1);
  setParam(P_MMAP_THRESHOLD, initialMmapThreshold);
  setParam(P_TRIM_THRESHOLD, initialTrimThreshold);
  setParam(P_BRK, heapBaseAddress);
  setCurrentThread(0);
  setThreadArena(av);
  if (layoutSynced()) layoutSyncOut();
  optionsClose();
}

/** Linear memory for JS batch buffers (never freed); 0 when the instance cannot grow. */
export function allocBuffer(bytes: i32): usize {
  return vmBuffer(<usize>bytes);
}

/** The region tag of a pointer the model returned. */
function regionOf(mem: u64): i32 {
  if (mem == 0) return REGION_NONE;
  const p = mem2chunk(mem);
  if (isMmapped(p)) return REGION_MMAP;
  if (isMainArenaChunk(p)) return p >= heapBaseAddress && p < param(P_BRK) ? REGION_HEAP : REGION_MAIN_MAPPED;
  return REGION_ARENA + <i32>arenaIndex(arenaForChunk(p));
}

/** Writes the per-chunk notes of a block just handed out (notes.ts; a mapping record for a mmapped chunk). */
function writeNotes(mem: u64, requested: u64, object: i64): void {
  const p = mem2chunk(mem);
  if (isMmapped(p)) {
    const i = mapIndexOf(p - prevSize(p));
    if (i >= 0) setMapNotes(<u64>i, requested, <u64>(object + 1));
    return;
  }
  writeHeapNotes(mem, requested, object);
}

/** Marks the process multi-threaded the first time a second thread calls in. */
function enterThread(thread: u64): void {
  if (thread != 0 && singleThread()) setParam(P_MULTI_THREADED, 1);
  setCurrentThread(thread);
}

/** calloc's size: n × size, or u64.MAX_VALUE when the product exceeds PTRDIFF_MAX. */
function callocBytes(n: f64, size: f64): u64 {
  if (n * size >= SIZE_TOO_LARGE) return u64.MAX_VALUE;
  const product = sizeArg(n) * sizeArg(size);
  return product > PTRDIFF_MAX ? u64.MAX_VALUE : product;
}

/** Runs one operation; returns the result address (trim: 0/1) and leaves the region in `lastRegion`. */
function operation(ops: usize, i: i32): u64 {
  const op = <i32>opField(ops, i, 0);
  const object = <i64>opField(ops, i, 2);
  const a = opField(ops, i, 3);
  const b = opField(ops, i, 4);
  const raw = (<i32>opField(ops, i, 5) & FLAG_RAW_ADDRESS) != 0;
  enterThread(<u64>opField(ops, i, 1));
  let result: u64 = 0;
  let requested: u64 = 0;
  switch (op) {
    case OP_MALLOC: requested = sizeArg(a); result = libcMalloc(requested); break;
    case OP_CALLOC: {
      requested = callocBytes(a, b);
      result = requested > PTRDIFF_MAX ? 0 : libcCalloc(requested);
      break;
    }
    case OP_REALLOC: {
      const old = raw ? <u64>object : objectAddress(object);
      if (raw && old != 0 && !headerReadable(old)) return 0;
      requested = sizeArg(a);
      const oldRaw = raw ? heapNoteRawRequest(old) : -1;
      const holder = raw ? releaseRawBlock(old) : object;
      const oldRequested = old != 0 ? ledgerDisown(old, holder) : -1;
      result = libcRealloc(old, requested);
      if (failed()) return 0;
      if (result != 0) {
        writeNotes(result, requested, raw ? -1 : object);
        if (!raw) ledgerOwn(result, requested);
      } else if (requested != 0 && old != 0) {
        // A failed realloc leaves the old block to its holder.
        if (oldRequested >= 0) ledgerOwn(old, <u64>oldRequested);
        if (holder >= 0) setObjectAddress(holder, old);
        if (oldRaw >= 0) writeNotes(old, <u64>oldRaw, -1);
      }
      if (!raw && (result != 0 || (requested == 0 && old != 0))) setObjectAddress(object, result);
      lastRegion = regionOf(result);
      return result;
    }
    case OP_FREE: {
      if (raw && object > 0 && !headerReadable(<u64>object)) return 0;
      const mem = object < 0 ? 0 : raw ? <u64>object : objectAddress(object);
      if (mem != 0) ledgerDisown(mem, raw ? releaseRawBlock(mem) : object);
      libcFree(mem);
      if (!raw && object >= 0 && !failed()) setObjectAddress(object, 0);
      lastRegion = REGION_NONE;
      return 0;
    }
    case OP_MEMALIGN:
    case OP_ALIGNED_ALLOC: requested = sizeArg(b); result = midMemalign(sizeArg(a), requested); break;
    case OP_POSIX_MEMALIGN: requested = sizeArg(b); result = posixMemalign(sizeArg(a), requested); break;
    case OP_VALLOC: requested = sizeArg(a); result = midMemalign(PAGE, requested); break;
    case OP_PVALLOC: requested = sizeArg(a); result = pvalloc(requested); break;
    case OP_TRIM: {
      lastRegion = REGION_NONE;
      return mallocTrim(sizeArg(a)) ? 1 : 0;
    }
    case OP_THREAD_EXIT: {
      threadExit();
      lastRegion = REGION_NONE;
      return 0;
    }
    default: unknownOp(op); return 0;
  }
  if (failed()) return 0;
  if (result != 0) {
    // An object that still holds a block lost it to a free the trace missed: that block is no longer its.
    const displaced = objectAddress(object);
    if (displaced != 0) ledgerDisown(displaced, object);
    writeNotes(result, requested, object);
    setObjectAddress(object, result);
    if (object >= 0) ledgerOwn(result, requested);
  }
  lastRegion = regionOf(result);
  return result;
}

let lastRegion: i32 = REGION_NONE;

/** The exact address of the last operation's result (results travel as f64, exact only below 2^53). */
let lastAddress: u64 = 0;

/** Op `i` for the replay driver: runs it and writes its result; false on an error. */
function runOp(ops: usize, i: i32, results: usize): bool {
  if (layoutSynced()) layoutSyncIn();
  const address = operation(ops, i);
  if (layoutSynced()) layoutSyncOut();
  if (failed()) return false;
  lastAddress = address;
  putResult(results, i, address, lastRegion);
  return true;
}

/** The last completed operation's result, exact (a pointer a forged list handed out may exceed 2^53). */
export function lastResult(): u64 {
  return lastAddress;
}

/** Calls between batches (interactive ones included) come from the main thread until a batch says otherwise. */
function backToMainThread(): void {
  setCurrentThread(0);
}

replayUse(runOp, checkAfterOp, afterOp, backToMainThread, MAX_THREADS);
metricsUseUsableSize(usableSizeOf);

/** Replays `count` operations; returns how many completed (an integrity abort stops the batch). */
export function replay(ops: usize, count: i32, results: usize, journal: bool): i32 {
  return replayBatch(ops, count, results, journal);
}

/** The real allocator's message for the failed operation. */
export function lastErrorMessage(): string {
  return errorText();
}

/** malloc_usable_size(address); -1 when glibc would fault (lastErrorMessage says so). */
export function usableSize(address: f64): f64 {
  clearError();
  const size = usableSizeOf(<u64>address);
  return failed() ? -1 : <f64>size;
}

/** Start of arena k's first heap (k = 0: the brk heap). */
export function arenaBase(k: i32): f64 {
  if (k <= 0) return <f64>heapBaseAddress;
  if (<u64>k >= arenaCount()) return 0;
  return <f64>(arenaAt(<u64>k) - HEAP_INFO_SIZE);
}

/** The initial program break. */
export function heapBase(): f64 {
  return <f64>heapBaseAddress;
}

/** Names of the f64 fields of a walk record. */
export function walkFields(): string {
  return WALK_FIELDS;
}

/** Names of the walk records' states, in code order. */
export function walkStates(): string {
  return WALK_STATES;
}

/** Writes up to `capacity` walk records at `buffer`; returns the number of chunks. */
export function walk(buffer: usize, capacity: i32): i32 {
  if (layoutSynced()) layoutSyncIn(); // the program may have changed libc's variables since the last call
  return walkInto(buffer, capacity);
}

/** Names of the statistics `statsInto` writes. */
export function statNames(): string {
  return STAT_NAMES;
}

/** Writes the statistics at `buffer`; returns how many f64 were written. */
export function statsInto(buffer: usize): i32 {
  return writeStats(buffer);
}
