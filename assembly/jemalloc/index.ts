// The wasm exports of the jemalloc model (jemalloc 5.3.0 as Debian 12 ships it): options, init, the batch
// replay loop, walks and statistics. See docs/design.md for the ABI every model shares.

import { vmInit } from "../common/vmem";
import { replayUse, replayBatch, optionsOpen, optionsClose, unknownOp } from "../common/replay";
import { countersInit } from "../common/counters";
import {
  OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_FREE, OP_MEMALIGN, OP_ALIGNED_ALLOC, OP_POSIX_MEMALIGN, OP_VALLOC,
  OP_PVALLOC, OP_TRIM, OP_THREAD_EXIT, FLAG_RAW_ADDRESS, REGION_NONE, REGION_MMAP, opField, putResult, sizeArg,
  objectAddress, setObjectAddress, objectRequested, setObjectRequested, clearError, failed, raise,
} from "../common/ops";
import { MAX_THREADS, G_TRIMMED, gld, gst } from "./globals";
import { sizeCount, index2size, s2u, binSlabSize, binNregs, NBINS, PAGE } from "./sz";
import { setMmapTop, getMmapTop, osReserve } from "./os";
import { setCtlArenas } from "./base";
import { setRetain, setLgExtentMaxActiveFit, setMuzzyDecayMs, setDirtyDecayMs } from "./pac";
import { setNarenas, getNarenas, setOversizeThreshold, setTsdAddress, setThreadTsd } from "./arena";
import {
  setTcache, setTcacheMax, setNslotsSmallMin, setNslotsSmallMax, setNslotsLarge, setLgNslotsMul, binCapacity,
  tcacheBins,
} from "./tcache";
import {
  startUp, jeMalloc, jeCalloc, jeRealloc, jeFree, jeAligned, jePosixMemalign, jeValloc, jeUsableSize, jeThreadExit,
  tcacheBlockOf, setStartupMalloc,
} from "./api";
import { STAT_NAMES, writeStats } from "./stats";
import { WALK_FIELDS, WALK_STATES, walkHeap } from "./walk";

export { lastErrorMessage, lastErrorCode, abiConstants } from "../common/ops";
export { check, checkMessage, setCheckEvery, debugLoad64, debugStore64 } from "./check";
import { checkAfterOp } from "./check";
import { afterOp } from "./decompose";

export { decompose, decomposeParts, footprintBytes } from "./decompose";
export * from "../common/metrics-abi";
export * from "../common/trace-abi";
import { metricsUseUsableSize } from "../common/metrics";

const OPTION_NAMES = "narenas,tcache,tcache_max,lg_tcache_nslots_mul,tcache_nslots_small_min,"
  + "tcache_nslots_small_max,tcache_nslots_large,lg_extent_max_active_fit,dirty_decay_ms,muzzy_decay_ms,retain,"
  + "oversize_threshold,cores,tsd_address,mmap_top,startup_malloc";

let narenasSet: bool = false;

/** Comma-separated option names (MALLOC_CONF's, plus the model's own); an option's id is its index. */
export function optionNames(): string {
  return OPTION_NAMES;
}

/** Sets option `id` before `init`; returns 0 when the option or value is rejected. */
export function setOption(id: i32, value: f64): i32 {
  if (!optionsOpen()) return 0;
  switch (id) {
    case 0: if (value < 1 || value > 128) return 0; setNarenas(<i32>value); narenasSet = true; break;
    case 1: setTcache(value != 0); break;
    case 2: if (value < 0 || value > 8388608) return 0; setTcacheMax(<u64>value); break;
    case 3: if (value < -16 || value > 16) return 0; setLgNslotsMul(<i32>value); break;
    case 4: if (value < 1 || value > 65535) return 0; setNslotsSmallMin(<u32>value); break;
    case 5: if (value < 1 || value > 65535) return 0; setNslotsSmallMax(<u32>value); break;
    case 6: if (value < 1 || value > 500) return 0; setNslotsLarge(<u32>value); break;
    case 7: if (value < 0 || value > 64) return 0; setLgExtentMaxActiveFit(<u64>value); break;
    // Decay on a clock is not modelled: dirty pages are purged never (-1) or at once (0).
    case 8: if (value != -1 && value != 0) return 0; setDirtyDecayMs(<i64>value); break;
    case 9: if (value < -1) return 0; setMuzzyDecayMs(<i64>value); break;
    case 10: setRetain(value != 0); break;
    case 11: if (value < <f64>PAGE) return 0; setOversizeThreshold(<u64>value); break;
    case 12: if (value < 1 || value > 1024) return 0; if (!narenasSet) setNarenas(value > 1 ? <i32>value * 4 : 1); break;
    case 13: if (value <= 0) return 0; setTsdAddress(<u64>value); break;
    case 14: if (value <= 0 || value % 4096 != 0) return 0; setMmapTop(<u64>value); break;
    case 15: if (value < 0 || value > 1048576) return 0; setStartupMalloc(<u64>value); break;
    default: return 0;
  }
  return 1;
}

/** Builds the state of a freshly started process: arena 0, its base, and the main thread's tcache. */
export function init(): void {
  setCtlArenas(<u64>getNarenas());
  vmInit();
  countersInit();
  startUp();
  optionsClose();
}

/**
 * After init, before the first operation: a mapping the program made itself once jemalloc had started (a
 * replayer's tables and output buffer, thread stacks), which later placements must avoid.
 */
export function reserveMapping(start: f64, end: f64): void {
  osReserve(<u64>start & ~(<u64>4095), (<u64>end + 4095) & ~(<u64>4095));
}

/** After init, before thread `t` runs: the address of its tsd (its thread pointer less the TLS offset). */
export function threadTsd(t: i32, address: f64): void {
  if (t >= 0 && t < MAX_THREADS) setThreadTsd(t, <u64>address);
}

/** Linear memory for batch buffers. */
export function allocBuffer(bytes: i32): usize {
  return heap.alloc(<usize>bytes);
}

// @ts-ignore: decorator
@inline function regionOf(address: u64): i32 {
  return address == 0 ? REGION_NONE : REGION_MMAP;
}

/** glibc's malloc_trim has run once (its later calls release nothing). */
// @ts-ignore: decorator
@inline function setTrimmed(): void {
  gst(G_TRIMMED, 1);
}

/** The bytes `object` asked for (0 for raw addresses, whose requests the model does not know). */
// @ts-ignore: decorator
@inline function requestedOf(object: i64): u64 {
  return object < 0 ? 0 : objectRequested(object);
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
  const trimmed = gld(G_TRIMMED) != 0;
  switch (code) {
    case OP_MALLOC: requested = sizeArg(a); address = jeMalloc(thread, requested); break;
    case OP_CALLOC: {
      const n = sizeArg(a);
      const s = sizeArg(b);
      requested = s != 0 && n > u64.MAX_VALUE / s ? 0 : n * s;
      address = jeCalloc(thread, n, s);
      break;
    }
    case OP_VALLOC: requested = sizeArg(a); address = jeValloc(thread, requested, false); break;
    case OP_PVALLOC: requested = sizeArg(a); address = jeValloc(thread, requested, true); break;
    case OP_MEMALIGN:
    case OP_ALIGNED_ALLOC: requested = sizeArg(b); address = jeAligned(thread, sizeArg(a), requested); break;
    case OP_POSIX_MEMALIGN: requested = sizeArg(b); address = jePosixMemalign(thread, sizeArg(a), requested); break;
    case OP_REALLOC: {
      const old = raw ? <u64>objectSlot : objectAddress(object);
      requested = sizeArg(a);
      address = jeRealloc(thread, old, requested, requestedOf(object)); // NULL with a size: the old block stays
      break;
    }
    case OP_FREE: {
      const old = raw ? <u64>objectSlot : objectAddress(object);
      if (!jeFree(thread, old, requestedOf(object))) return false;
      putResult(results, i, 0, REGION_NONE);
      if (!raw) setObjectAddress(object, 0);
      return true;
    }
    case OP_TRIM:
      // jemalloc has no malloc_trim: glibc's runs on glibc's own heap, which holds only what the process did
      // before jemalloc took over; its first call releases those free pages (1), later ones find nothing (0).
      putResult(results, i, trimmed ? 0 : 1, REGION_NONE);
      setTrimmed();
      return true;
    case OP_THREAD_EXIT:
      jeThreadExit(thread);
      putResult(results, i, 0, REGION_NONE);
      return true;
    default:
      unknownOp(code);
      return false;
  }
  if (failed()) return false;
  putResult(results, i, address, regionOf(address));
  if (!raw && (address != 0 || code == OP_REALLOC && sizeArg(a) == 0)) {
    setObjectAddress(object, address);
    setObjectRequested(object, address != 0 ? requested : 0);
  }
  return true;
}

/** Threads keep their tcache and arena between calls: nothing to do when a batch ends. */
function batchDone(): void {}

replayUse(runOp, checkAfterOp, afterOp, batchDone, MAX_THREADS);
metricsUseUsableSize(jeUsableSize);

/** Runs `count` operations of the batch at `ops`; stops at the first failure; returns how many completed. */
export function replay(ops: usize, count: i32, results: usize, journal: bool): i32 {
  return replayBatch(ops, count, results, journal);
}

/** malloc_usable_size: 0 when jemalloc does not own `address`. */
export function usableSize(address: f64): f64 {
  return <f64>jeUsableSize(<u64>address);
}

/** nallocx(size, 0). */
export function nallocx(size: f64): f64 {
  return <f64>s2u(sizeArg(size == 0 ? 1 : size));
}

/** Number of size classes (SC_NSIZES). */
export function classCount(): i32 {
  return sizeCount();
}

/** Bytes of size class `ind`. */
export function classSize(ind: i32): f64 {
  return ind >= 0 && ind < sizeCount() ? <f64>index2size(ind) : 0;
}

/** Bytes of a slab of bin `ind` (0 for large classes). */
export function classSlabBytes(ind: i32): f64 {
  return ind >= 0 && ind < NBINS ? <f64>binSlabSize(ind) : 0;
}

/** Regions per slab of bin `ind`. */
export function classRegions(ind: i32): i32 {
  return ind >= 0 && ind < NBINS ? <i32>binNregs(ind) : 0;
}

/** Slots of the tcache bin of class `ind` (0 when not cached). */
export function classCacheSlots(ind: i32): i32 {
  return ind >= 0 && ind < tcacheBins() ? <i32>binCapacity(ind) : 0;
}

/** The kernel's placement limit: mappings go below it (the address lines do not depend on it). */
export function heapBase(): f64 {
  return <f64>getMmapTop();
}

/** The main thread's tcache block (the first large extent of the process). */
export function tcacheBlock(): f64 {
  return <f64>tcacheBlockOf(0);
}

/** Arenas are not address regions here: every block prints as an mmap offset. */
export function arenaBase(k: i32): f64 {
  return 0;
}

/** Where the kernel's top-down placement starts (below the libraries). */
export function mmapBase(): f64 {
  return <f64>getMmapTop();
}

/** Comma-separated names of a walk record's fields. */
/** Names of the walk records' states, in code order. */
export function walkStates(): string {
  return WALK_STATES;
}

export function walkFields(): string {
  return WALK_FIELDS;
}

/** Heap walk: 8 f64 per record, up to `capacity`; returns the total number of records. */
export function walk(buffer: usize, capacity: i32): i32 {
  return walkHeap(buffer, capacity);
}

/** Comma-separated names of the statistics `statsInto` writes. */
export function statNames(): string {
  return STAT_NAMES;
}

/** Writes the statistics into `buffer` (statNames order); returns how many. */
export function statsInto(buffer: usize): i32 {
  return writeStats(buffer);
}
