// Replay metrics, computed exactly while the model replays: live bytes, footprint, resident pages, the
// Johnstone & Wilson accumulators, both peaks with the footprint decomposed where they happen, a timeline, and
// the cost of each operation class in system calls and locks.
//
// A model's replay loop calls `metricsAfterOp` once per completed operation with its footprint (the bytes it
// holds from the system). Live bytes come from the operation itself: the bytes each object counts for are kept
// in a table of their own at COUNTED_BASE (two u64 per object id: the bytes and the op that allocated it; the
// models may rewrite the object table's requested sizes during an op), so a free or a realloc knows what it gives
// back, and a free knows the object's lifetime. A model that can explain its
// footprint registers a decomposer (`metricsUseDecomposer`): it fills one f64 per part, parts adding up to the
// footprint, and is called at every new peak and every sample.
//
// Timeline rows live in simulated memory at TIMELINE_BASE; JS drains them between batches:
//
//   row (f64 each)
//   ╒════╤═══════╤══════╤═══════════╤══════════╤════════╤═════╤══════════╕
//   │ op │ kinds │ live │ footprint │ resident │ part 0 │ ... │ part n−1 │
//   ╘════╧═══════╧══════╧═══════════╧══════════╧════════╧═════╧══════════╛
//
//   op     operations completed when the row was taken (1-based index of the last one)
//   kinds  ROW_SAMPLE | ROW_PEAK_LIVE | ROW_PEAK_FOOTPRINT | ROW_PEAK_RESIDENT
//
// Resident pages (resident.ts): a page becomes resident when an allocation hands it out (its header and the
// requested bytes: the program writes what it asks for) and stops being resident when the model releases it
// (`metricsRelease`: trim, munmap, madvise).

import { OP_CALLOC, OP_REALLOC, OP_FREE, OP_MEMALIGN, OP_ALIGNED_ALLOC, OP_POSIX_MEMALIGN, OP_TRIM, OP_SLOTS,
  RESULT_SLOTS, FLAG_RAW_ADDRESS } from "./ops";
import {
  SYS_BRK, SYS_MADVISE, LOCK_ARENA, LOCK_PAGEHEAP, COUNTER_COUNT, COUNTER_NAMES, counterCount, counterBytes,
} from "./counters";
import { vmMap, lin } from "./vmem";
import { residentTouch, residentRelease, residentPageCount } from "./resident";

export const ROW_SAMPLE: i32 = 1;
export const ROW_PEAK_LIVE: i32 = 2;
export const ROW_PEAK_FOOTPRINT: i32 = 4;
export const ROW_PEAK_RESIDENT: i32 = 8;

/** Fields of a row before the decomposition parts. */
const ROW_FIXED: i32 = 5;
const PARTS_MAX: i32 = 32;
const PAGE_BITS: u64 = 12;

const TIMELINE_BASE: u64 = 0xfff8_0000_0000;
const COUNTED_BASE: u64 = 0xfffc_0000_0000;

// ── operation classes ────────────────────────────────────────────────────────────────────────────────────
//
//   class c at classStats + 32 c (f64 each)
//   ╒═══════╤═════════════════╤══════════╤═══════╕
//   │ calls │ calls in kernel │ syscalls │ locks │
//   ╘═══════╧═════════════════╧══════════╧═══════╛

export const CLASS_SMALL_ALLOC: i32 = 0;
export const CLASS_LARGE_ALLOC: i32 = 1;
export const CLASS_FREE: i32 = 2;
export const CLASS_OTHER: i32 = 3;
const CLASS_COUNT: i32 = 4;
const CLASS_FIELDS: i32 = 4;

const classStats = memory.data(CLASS_COUNT * CLASS_FIELDS * 8);
const parts = memory.data(PARTS_MAX * 8);
const partsAtPeakLive = memory.data(PARTS_MAX * 8);
const partsAtPeakFootprint = memory.data(PARTS_MAX * 8);

let decomposer: ((buffer: usize) => i32) | null = null;
let partCount: i32 = 0;

/** Timeline rows and decompositions are taken only once JS asked for them (`metricsConfigure`). */
let recording: bool = false;
/** False for a lab that never reads its metrics (see metricsOff): every hook returns at once. */
let enabled: bool = true;
let every: u64 = 1000;
let largeThreshold: u64 = 131072;

let opIndex: u64 = 0;
let live: u64 = 0;
let footprint: u64 = 0;
let maxLive: u64 = 0;
let maxLiveOp: u64 = 0;
let footprintAtMaxLive: u64 = 0;
let maxFootprint: u64 = 0;
let maxFootprintOp: u64 = 0;
let liveAtMaxFootprint: u64 = 0;
let maxResidentPages: u64 = 0;
let ratioSum: f64 = 0;
let ratioCount: u64 = 0;
let syscallsSeen: f64 = 0;
let locksSeen: f64 = 0;
let rows: u64 = 0;
let rowsMapped: u64 = 0;
let countedMapped: u64 = 0;
let liveObjects: u64 = 0;

/** Registers the model's decomposer: `fn(buffer)` writes `count` f64 parts adding up to the footprint. */
export function metricsUseDecomposer(fn: (buffer: usize) => i32, count: i32): void {
  decomposer = fn;
  partCount = min(count, PARTS_MAX);
}

/** Turns the metrics off for good: a lab that wants only addresses, stats or checks skips the per-op hook. */
export function metricsOff(): void {
  enabled = false;
}

/** Whether the per-op hook runs (models skip computing its arguments otherwise). */
// @ts-ignore: decorator
@inline export function metricsEnabled(): bool {
  return enabled;
}

/**
 * Starts recording timeline rows and decompositions, a row every `k` ops (0 = peaks only), and sets the
 * small/large boundary of the operation classes. Until then only the accumulators run, so a lab that never asks
 * for a report pays no heap walks.
 */
export function metricsConfigure(k: f64, large: f64): void {
  recording = true;
  every = <u64>k;
  largeThreshold = <u64>large;
}

// ── live bytes ───────────────────────────────────────────────────────────────────────────────────────────

/** Bytes an allocation op asks for: calloc nmemb × size, the memalign family its size, the others `a`. */
// @ts-ignore: decorator
@inline function requestOf(code: i32, a: f64, b: f64): u64 {
  if (code == OP_CALLOC) return <u64>(a * b);
  if (code == OP_MEMALIGN || code == OP_ALIGNED_ALLOC || code == OP_POSIX_MEMALIGN) return <u64>b;
  return <u64>a;
}

/** The class of an op: trims are "other", frees and realloc(p, 0) free, allocations small or large. */
function classOf(code: i32, a: f64, b: f64): i32 {
  if (code == OP_TRIM) return CLASS_OTHER;
  if (code == OP_FREE || (code == OP_REALLOC && a == 0)) return CLASS_FREE;
  return requestOf(code, a, b) >= largeThreshold ? CLASS_LARGE_ALLOC : CLASS_SMALL_ALLOC;
}

/** The counted-table word of object `id`: the bytes it counts for in `live` plus 1 while live, else 0. */
function countedWord(id: i64): u64 {
  const at = <u64>id << 4;
  return at < countedMapped ? load<u64>(lin(COUNTED_BASE + at)) : 0;
}

/** The linear address of object `id`'s entry (counted word, then the op that allocated it), backed. */
function countedEntry(id: i64): usize {
  const at = <u64>id << 4;
  if (at >= countedMapped) {
    const grown = (at + 0x10000) & ~(<u64>0xffff);
    vmMap(COUNTED_BASE + countedMapped, grown - countedMapped);
    countedMapped = grown;
  }
  return lin(COUNTED_BASE + at);
}

/**
 * Updates live bytes, resident pages and the histograms for one completed op of class `opClass` on `object`
 * (op number `op`). A realloc keeps its object, so an object's lifetime runs from its first allocation to its free.
 */
function trackLive(opClass: i32, code: i32, object: i64, a: f64, b: f64, address: u64, op: u64): void {
  if (opClass == CLASS_OTHER) return;
  if (opClass == CLASS_FREE) {
    const word = object < 0 ? 0 : countedWord(object);
    if (word == 0) return;
    const entry = countedEntry(object);
    live -= word - 1;
    liveObjects--;
    bump(lifetimeBuckets, op - load<u64>(entry, 8));
    store<u64>(entry, 0);
    return;
  }
  const requested = requestOf(code, a, b);
  bump(sizeBuckets, requested);
  if (address == 0) return; // a failed allocation changes nothing else
  residentTouch(address - 16, requested + 16);
  // An allocation without an object (an interactive call, or a call the recording saw fail) is never freed by
  // id: it is not counted as live.
  if (object < 0) return;
  const entry = countedEntry(object);
  const word = load<u64>(entry);
  if (word != 0) live -= word - 1;
  else liveObjects++;
  // A realloc keeps its object's birth; an allocation into a live object (whose free the trace missed) starts anew.
  if (word == 0 || code != OP_REALLOC) store<u64>(entry, op, 8);
  live += requested;
  store<u64>(entry, requested + 1);
}

// ── usable sizes ─────────────────────────────────────────────────────────────────────────────────────────
//
// Asked for (call-site reports, which share out the footprint by the blocks each site holds), the hook writes each
// op's usable size, as malloc_usable_size reports it, into a buffer beside the results:
//
//   usableSizes + 8 i   f64: op i's block's usable size; 0 for frees, trims and failed calls

let usableSizes: usize = 0;
let usableSizeOf: ((address: u64) => u64) | null = null;

/** Registers the model's malloc_usable_size. */
export function metricsUseUsableSize(fn: (address: u64) => u64): void {
  usableSizeOf = fn;
}

/** Asks for each op's usable size, written at `buffer` (one f64 per op of a batch); 0 stops it. */
export function metricsUsableSizes(buffer: usize): void {
  usableSizes = buffer;
}

/** Writes op `i`'s usable size when asked: its block's, for an allocation that returned one. */
function noteUsableSize(i: i32, opClass: i32, address: u64): void {
  const usable = opClass == CLASS_SMALL_ALLOC || opClass == CLASS_LARGE_ALLOC ? address : 0;
  store<f64>(usableSizes + (<usize>i << 3), usable != 0 && usableSizeOf ? <f64>usableSizeOf!(usable) : 0);
}

// ── histograms ───────────────────────────────────────────────────────────────────────────────────────────
//
//   sizeBuckets, lifetimeBuckets: BUCKETS × (count f64, total f64)
//   bucket 0 holds 0, bucket 1 holds 1, bucket k ≥ 2 holds (2^(k−2), 2^(k−1)]: the last, 65, ends at 2^64
//
// Request sizes of every allocation (calloc: nmemb × size; failed ones too), lifetimes in operations of every
// object freed.

const BUCKETS: i32 = 66;
const sizeBuckets = memory.data(BUCKETS * 16);
const lifetimeBuckets = memory.data(BUCKETS * 16);

/** The bucket of `v`. */
// @ts-ignore: decorator
@inline function bucketOf(v: u64): i32 {
  return v <= 1 ? <i32>v : 65 - <i32>clz(v - 1);
}

function bump(buckets: usize, v: u64): void {
  const at = buckets + (<usize>bucketOf(v) << 4);
  store<f64>(at, load<f64>(at) + 1);
  store<f64>(at, load<f64>(at, 8) + <f64>v, 8);
}

/**
 * Writes the size buckets, then the lifetime buckets (BUCKETS × count, total each), then the objects still live;
 * returns the number of f64 written.
 */
export function histogramsInto(buffer: usize): i32 {
  memory.copy(buffer, sizeBuckets, <usize>BUCKETS << 4);
  memory.copy(buffer + (<usize>BUCKETS << 4), lifetimeBuckets, <usize>BUCKETS << 4);
  store<f64>(buffer + (<usize>BUCKETS << 5), <f64>liveObjects);
  return BUCKETS * 4 + 1;
}

// ── resident pages ───────────────────────────────────────────────────────────────────────────────────────

/** Called by a model when it gives [va, va + len) back to the system (brk shrink, munmap, madvise). */
export function metricsRelease(va: u64, len: u64): void {
  if (len == 0 || !enabled) return;
  residentRelease(va, len);
}

// ── operation classes ────────────────────────────────────────────────────────────────────────────────────

// @ts-ignore: decorator
@inline function classField(c: i32, field: i32): usize {
  return classStats + (<usize>(c * CLASS_FIELDS + field) << 3);
}

function totalSyscalls(): f64 {
  let n: f64 = 0;
  for (let c = SYS_BRK; c <= SYS_MADVISE; c++) n += counterCount(c);
  return n;
}

function totalLocks(): f64 {
  let n: f64 = 0;
  for (let c = LOCK_ARENA; c <= LOCK_PAGEHEAP; c++) n += counterCount(c);
  return n;
}

/** Charges the system calls and locks made since the previous op to class `c`. */
function chargeClass(c: i32): void {
  const syscalls = totalSyscalls();
  const locks = totalLocks();
  const newSyscalls = syscalls - syscallsSeen;
  store<f64>(classField(c, 0), load<f64>(classField(c, 0)) + 1);
  if (newSyscalls > 0) store<f64>(classField(c, 1), load<f64>(classField(c, 1)) + 1);
  store<f64>(classField(c, 2), load<f64>(classField(c, 2)) + newSyscalls);
  store<f64>(classField(c, 3), load<f64>(classField(c, 3)) + locks - locksSeen);
  syscallsSeen = syscalls;
  locksSeen = locks;
}

// ── timeline ─────────────────────────────────────────────────────────────────────────────────────────────

// @ts-ignore: decorator
@inline function rowWidth(): i32 {
  return ROW_FIXED + partCount;
}

/** Fills `parts` with the decomposition of the current footprint, or NaN before JS asked for decompositions. */
function decomposeIfRecording(): void {
  if (recording) decomposeNow();
  else for (let k = 0; k < partCount; k++) store<f64>(parts + (<usize>k << 3), NaN);
}

/** Fills `parts` with the decomposition of the current footprint (zeros without a decomposer). */
function decomposeNow(): void {
  if (decomposer) decomposer!(parts);
}

function putRowField(row: u64, field: i32, v: f64): void {
  const at = TIMELINE_BASE + ((row * <u64>rowWidth() + <u64>field) << 3);
  if (at + 8 > TIMELINE_BASE + rowsMapped) {
    vmMap(TIMELINE_BASE + rowsMapped, 0x10000);
    rowsMapped += 0x10000;
  }
  store<f64>(lin(at), v);
}

/** Appends a row for the current op; `parts` must hold the current decomposition. */
function appendRow(kinds: i32): void {
  const row = rows++;
  putRowField(row, 0, <f64>opIndex);
  putRowField(row, 1, <f64>kinds);
  putRowField(row, 2, <f64>live);
  putRowField(row, 3, <f64>footprint);
  putRowField(row, 4, <f64>(residentPageCount() << PAGE_BITS));
  for (let k = 0; k < partCount; k++) putRowField(row, ROW_FIXED + k, load<f64>(parts + (<usize>k << 3)));
}

// ── the hook ─────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Records op `i` of the batch at `ops` (its result at `results`), completed with the model now holding
 * `bytes` from the system. Interactive calls (raw addresses, no object ids) change no live bytes.
 */
export function metricsAfterOp(ops: usize, i: i32, results: usize, bytes: u64): void {
  const at = ops + (<usize>(i * OP_SLOTS) << 3);
  const code = <i32>load<f64>(at);
  const a = load<f64>(at, 24);
  const b = load<f64>(at, 32);
  const opClass = classOf(code, a, b);
  if ((<i32>load<f64>(at, 40) & FLAG_RAW_ADDRESS) == 0) {
    const address = <u64>load<f64>(results + (<usize>(i * RESULT_SLOTS) << 3));
    trackLive(opClass, code, <i64>load<f64>(at, 16), a, b, address, opIndex + 1);
    if (usableSizes != 0) noteUsableSize(i, opClass, address);
  }
  opIndex++;
  footprint = bytes;
  chargeClass(opClass);
  if (live > 0) {
    ratioSum += <f64>footprint / <f64>live;
    ratioCount++;
  }
  recordPeaksAndSamples();
}

function recordPeaksAndSamples(): void {
  let kinds = 0;
  // Ties move a peak later: the first op of a plateau says when memory was taken, not when it was most used. Live's
  // peak is the last op at its maximum; footprint's the op at its maximum with the most live bytes, the last of those.
  if (live > maxLive || (live == maxLive && live > 0)) kinds |= ROW_PEAK_LIVE;
  if (footprint > maxFootprint || (footprint == maxFootprint && footprint > 0 && live >= liveAtMaxFootprint)) {
    kinds |= ROW_PEAK_FOOTPRINT;
  }
  if (residentPageCount() > maxResidentPages) kinds |= ROW_PEAK_RESIDENT;
  if (every != 0 && opIndex % every == 0) kinds |= ROW_SAMPLE;
  if (!recording) kinds &= ~ROW_SAMPLE;
  if (kinds == 0) return;
  const rowKinds = kinds & ~ROW_PEAK_RESIDENT; // a resident peak alone is summarised, not sampled
  if (rowKinds != 0) decomposeIfRecording();
  if (kinds & ROW_PEAK_LIVE) {
    maxLive = live;
    maxLiveOp = opIndex;
    footprintAtMaxLive = footprint;
    memory.copy(partsAtPeakLive, parts, <usize>partCount << 3);
  }
  if (kinds & ROW_PEAK_FOOTPRINT) {
    maxFootprint = footprint;
    maxFootprintOp = opIndex;
    liveAtMaxFootprint = live;
    memory.copy(partsAtPeakFootprint, parts, <usize>partCount << 3);
  }
  if (kinds & ROW_PEAK_RESIDENT) maxResidentPages = residentPageCount();
  if (recording && rowKinds != 0) appendRow(kinds);
}

// ── reading the metrics from JS ──────────────────────────────────────────────────────────────────────────

const SCALAR_NAMES = "ops,live,footprint,resident,maxLive,maxLiveOp,footprintAtMaxLive,maxFootprint,"
  + "maxFootprintOp,liveAtMaxFootprint,maxResident,ratioSum,ratioCount,parts,rowWidth";
const SCALAR_COUNT: i32 = 15;

/** Names of the scalars `metricsInto` writes, then 16 class fields (class-major), then the parts twice. */
export function metricNames(): string {
  return SCALAR_NAMES;
}

/**
 * Writes the scalars (named by `metricNames`), the class table (4 classes × calls, calls in kernel, syscalls,
 * locks), the parts at the live peak and the parts at the footprint peak; returns the number of f64 written.
 */
export function metricsInto(buffer: usize): i32 {
  putScalar(buffer, 0, <f64>opIndex);
  putScalar(buffer, 1, <f64>live);
  putScalar(buffer, 2, <f64>footprint);
  putScalar(buffer, 3, <f64>(residentPageCount() << PAGE_BITS));
  putScalar(buffer, 4, <f64>maxLive);
  putScalar(buffer, 5, <f64>maxLiveOp);
  putScalar(buffer, 6, <f64>footprintAtMaxLive);
  putScalar(buffer, 7, <f64>maxFootprint);
  putScalar(buffer, 8, <f64>maxFootprintOp);
  putScalar(buffer, 9, <f64>liveAtMaxFootprint);
  putScalar(buffer, 10, <f64>(maxResidentPages << PAGE_BITS));
  putScalar(buffer, 11, ratioSum);
  putScalar(buffer, 12, <f64>ratioCount);
  putScalar(buffer, 13, <f64>partCount);
  putScalar(buffer, 14, <f64>rowWidth());
  let n = SCALAR_COUNT;
  memory.copy(buffer + (<usize>n << 3), classStats, CLASS_COUNT * CLASS_FIELDS * 8);
  n += CLASS_COUNT * CLASS_FIELDS;
  memory.copy(buffer + (<usize>n << 3), partsAtPeakLive, <usize>partCount << 3);
  n += partCount;
  memory.copy(buffer + (<usize>n << 3), partsAtPeakFootprint, <usize>partCount << 3);
  return n + partCount;
}

// @ts-ignore: decorator
@inline function putScalar(buffer: usize, k: i32, v: f64): void {
  store<f64>(buffer + (<usize>k << 3), v);
}

/** Writes the decomposition of the current footprint into `buffer`; returns the number of parts. */
export function metricsDecompose(buffer: usize): i32 {
  decomposeNow();
  memory.copy(buffer, parts, <usize>partCount << 3);
  return partCount;
}

/** Names of the counters `countersInto` writes, in its order. */
export function counterNames(): string {
  return COUNTER_NAMES;
}

/** Writes every event counter of counters.ts as (count, bytes) pairs; returns the number of counters. */
export function countersInto(buffer: usize): i32 {
  for (let c = 0; c < COUNTER_COUNT; c++) {
    store<f64>(buffer + (<usize>c << 4), counterCount(c));
    store<f64>(buffer + (<usize>c << 4), counterBytes(c), 8);
  }
  return COUNTER_COUNT;
}

/** Timeline rows waiting to be drained. */
export function timelineRows(): f64 {
  return <f64>rows;
}

/** Copies rows [first, first + count) into `buffer` (row width: `rowWidth` in `metricsInto`). */
export function timelineInto(buffer: usize, first: f64, count: f64): void {
  const width = <u64>rowWidth();
  const from = <u64>first * width;
  const to = (<u64>first + <u64>count) * width;
  for (let k = from; k < to; k++) {
    store<f64>(buffer + (<usize>(k - from) << 3), load<f64>(lin(TIMELINE_BASE + (k << 3))));
  }
}

/** Forgets the drained rows (their memory is reused). */
export function timelineClear(): void {
  rows = 0;
}
