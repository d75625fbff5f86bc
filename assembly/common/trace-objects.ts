// Trace addresses → object ids: the step between a trace's columns and the batch format (ops.ts), run in wasm so
// that a replay's per-op work never runs in JS. The lab copies a window of trace columns here (one copy per
// column), `replayTrace` encodes them into the op batch and replays it, and JS reads back counts and the errors
// the trace itself makes (a double free, a free of an address it never allocated), which src/lab/replay.ts names.
//
// Each live trace address names an object id; ids are recycled when their object ends, and the model keeps
// id → simulated address (ops.ts, "object table"). The rules for what the trace cannot explain are src/lab/replay.ts's.
//
// Trace columns, for `capacity` ops (JS writes all but `skipped`):
//
//   columns ─▶ ┌────────┬────────┬────────┬────────┬────────┬────────┬────────┬────────┬─────────┐
//              │ thread │  ptr   │   a    │   b    │  res   │  line  │  seq   │  code  │ skipped │
//              │  f64   │  f64   │  f64   │  f64   │  f64   │  f64   │  f64   │   u8   │   u8    │
//              └────────┴────────┴────────┴────────┴────────┴────────┴────────┴────────┴─────────┘
//   thread: the dense thread index JS gave the op's tid · code: the trace's op code (src/trace/types.ts OpCode,
//   the batch format's codes) · skipped: 1 for an op the trace rules out (its result region becomes SKIPPED)
//
// The address table: open addressing with linear probing, tombstone-free (an ended object keeps its slot, marked
// with its free line, until its address is allocated again):
//
//   slot i:  ┌──────────────────────────────┬─────────────────────────────────────────────────────┐
//   slots    │ address u64 (0 = empty)      │ f64: object id ≥ 0, or −(line of the ending free)   │
//            │                              │      (−0.5 when that line is unknown)               │
//            └──────────────────────────────┴─────────────────────────────────────────────────────┘
// Key and value share a cache line: a lookup in a table larger than the cache costs one miss, and a window's
// lookups have their lines loaded together first (`touchSlots`). The table grows at 3/4 load, fourfold up to 2^20
// slots and twofold beyond. Neighbouring addresses get neighbouring slots while that keeps probe runs short (see
// `slotOf`), so a replay's lookups, which follow the heap's own locality, land on table lines used just before.
// Ended addresses are kept only while they are not the bulk of the table: past `forgetAfter` slots in use, a table
// that would grow mostly because of ended addresses is rebuilt without them, so memory stays bounded on traces of
// any length (a later free of a forgotten address then counts as one the trace never allocated).

import {
  OP_MALLOC, OP_REALLOC, OP_FREE, OP_TRIM, OP_SLOTS, RESULT_SLOTS, REGION_SKIPPED, TRACE_F64_COLUMNS, TRACE_CODES,
  TRACE_COUNTS, raise, clearError, ERR_LIMIT,
} from "./ops";
import { vmBuffer } from "./vmem";
import { replayBatch } from "./replay";

/** Probes of one insertion beyond which the table stops keeping neighbours together. */
const LONG_RUN: u32 = 64;
const FIRST_CAPACITY: u32 = 1 << 12;
/** Tables below this many slots grow fourfold, larger ones twofold (see `rebuild`). */
const QUADRUPLE_BELOW: u32 = 1 << 20;

/** The f64 columns, in order (see the diagram above); the u8 columns code and skipped follow them. */
export const COLUMN_THREAD: i32 = 0;
export const COLUMN_PTR: i32 = 1;
export const COLUMN_A: i32 = 2;
export const COLUMN_B: i32 = 3;
export const COLUMN_RES: i32 = 4;
export const COLUMN_LINE: i32 = 5;
export const COLUMN_SEQ: i32 = 6;
const F64_COLUMNS: usize = <usize>TRACE_F64_COLUMNS;

/** `replayTrace` flags. */
const LENIENT: i32 = 1;
const STRICT: i32 = 2;

/** What stopped an encoding (`traceErrorKind`). */
const DOUBLE_FREE: i32 = 1;
const NEVER_ALLOCATED: i32 = 2;

// ── counts (read by JS through `traceCounts`) ─────────────────────────────────────────────────────────────
//
//   counts ─▶ ┌──────────────────────────┐
//             │ ops by trace code (0…15) │  16 × f64
//             ├──────────────────────────┤
//             │ unknownFrees             │
//             │ unknownReallocs          │
//             │ failedReallocs           │  1 × f64 each
//             │ doubleFreesSkipped       │
//             │ pointerReuse             │
//             │ forgotten                │
//             └──────────────────────────┘
const CODES: i32 = TRACE_CODES;
const UNKNOWN_FREES: i32 = CODES;
const UNKNOWN_REALLOCS: i32 = CODES + 1;
const FAILED_REALLOCS: i32 = CODES + 2;
const DOUBLE_FREES_SKIPPED: i32 = CODES + 3;
const POINTER_REUSE: i32 = CODES + 4;
const FORGOTTEN: i32 = CODES + 5;
const COUNTS: i32 = CODES + TRACE_COUNTS;

let counts: usize = 0;
let columns: usize = 0;
let columnCapacity: i32 = 0;

let slots: usize = 0;
let mask: u32 = 0;
let used: u32 = 0;
let liveCount: u32 = 0;
let forgetAfter: u32 = 1 << 22;
let scattered: bool = false;
/** The address `slotOf` last looked up (0: none) and the slot it found, until a key lands elsewhere. */
let lastAddress: u64 = 0;
let lastSlot: usize = 0;
let lastProbes: u32 = 0;

/** Object id → the trace line that allocated it (0: ended or unknown). */
let lines: usize = 0;
let lineCapacity: i32 = 0;
let nextId: i32 = 0;
/** Ended ids, reused last-in first-out. */
let freeIds: usize = 0;
let freeCapacity: i32 = 0;
let freeCount: i32 = 0;

let errorKind: i32 = 0;
/** A table could not grow: the op that needed it stops the batch with the limit error. */
let outOfMemory: bool = false;
let errorAddress: u64 = 0;
let errorEndedLine: f64 = 0;

// @ts-ignore: decorator
@inline function tally(k: i32): void {
  const at = counts + (<usize>k << 3);
  store<f64>(at, load<f64>(at) + 1);
}

/** Zeroed linear memory for a table; 0 (and `outOfMemory`) when the instance cannot grow that far. */
function tableMemory(bytes: usize): usize {
  const p = vmBuffer(bytes);
  if (p == 0) outOfMemory = true;
  return p;
}

/** Sets up the counts and an empty table of `capacity` slots (a power of two); true when memory held them. */
export function traceObjectsReset(capacity: u32, forgetAfterSlots: u32): bool {
  if (counts == 0) counts = tableMemory(<usize>COUNTS << 3);
  else memory.fill(counts, 0, <usize>COUNTS << 3);
  slots = tableMemory(<usize>capacity << 4);
  if (counts == 0 || slots == 0) return false;
  mask = capacity - 1;
  used = 0;
  liveCount = 0;
  forgetAfter = forgetAfterSlots;
  scattered = false;
  lastAddress = 0;
  nextId = 0;
  freeCount = 0;
  return true;
}

/** The trace columns for `capacity` ops (see the diagram above); 0 when memory cannot hold them. */
export function traceColumns(capacity: i32): usize {
  if (capacity > columnCapacity) {
    columns = tableMemory(<usize>capacity * (F64_COLUMNS * 8 + 2));
    columnCapacity = columns ? capacity : 0;
  }
  return columns;
}

/** The counts (see the diagram above), COUNTS f64 values; 0 before the first replay. */
export function traceCounts(): usize {
  return counts;
}

// ── the address table ─────────────────────────────────────────────────────────────────────────────────────

/** The first slot the search for `address` probes. */
// @ts-ignore: decorator
@inline function home(address: u64): u32 {
  const lo = (<u32>address) >> 4;
  const hi = <u32>(address >> 32);
  return (scattered ? (lo ^ (hi * 0x85ebca6b)) * 0x9e3779b1 : lo + hi * 0x9e3779b1) & mask;
}

/**
 * The slot `address` has or would have. Addresses 16 bytes apart start in neighbouring slots; addresses closer
 * than that (8-byte blocks) or aliasing ranges can pile up into long runs: the first insertion that probes more
 * than LONG_RUN slots makes the table scatter its keys with a multiplicative hash instead.
 */
function slotOf(address: u64): usize {
  if (address == lastAddress) return lastSlot;
  let i = home(address);
  let probes: u32 = 0;
  for (;;) {
    const key = load<u64>(slots + (<usize>i << 4));
    if (key == 0 || key == address) break;
    i = (i + 1) & mask;
    probes++;
  }
  lastProbes = probes;
  lastAddress = address;
  lastSlot = slots + (<usize>i << 4);
  return lastSlot;
}

/** The live object at `address`, or -1. */
export function addressLive(address: u64): f64 {
  const s = slotOf(address);
  const value = load<f64>(s, 8);
  return load<u64>(s) == address && value >= 0 ? value : -1;
}

/** The line of the free that ended the object last at `address`, or 0 when there is none. */
export function addressEndedAt(address: u64): f64 {
  const s = slotOf(address);
  const value = load<f64>(s, 8);
  return load<u64>(s) == address && value < 0 ? Math.floor(-value) : 0;
}

/**
 * Binds `address` to object `id`; returns the id it replaces (a live object whose free was missed), else -1, or -2
 * when memory cannot hold the table.
 */
export function addressBind(address: u64, id: f64): f64 {
  let s = slotOf(address);
  if (load<u64>(s) == address) {
    const previous = load<f64>(s, 8);
    store<f64>(s, id, 8);
    if (previous < 0) {
      liveCount++;
      return -1;
    }
    return previous;
  }
  if ((used + 1) * 4 > (mask + 1) * 3) {
    if (!rebuild(true)) return -2;
    s = slotOf(address);
  } else if (lastProbes > LONG_RUN && !scattered) {
    scattered = true;
    if (!rebuild(false)) return -2;
    s = slotOf(address);
  }
  store<u64>(s, address);
  store<f64>(s, id, 8);
  used++;
  liveCount++;
  return -1;
}

/** Marks the object at `address` as ended by the free on `line` (0: unknown, which addressEndedAt reports as 0). */
export function addressEnd(address: u64, line: f64): void {
  const s = slotOf(address);
  if (load<u64>(s) != address || load<f64>(s, 8) < 0) return;
  store<f64>(s, line > 0 ? -line : -0.5, 8);
  liveCount--;
}

/**
 * Doubles the table (`grow`) or rebuilds it at its size; when ended addresses are most of a large table, drops
 * them at the same size. False (the error raised, the table unchanged) when memory cannot hold the new table.
 */
function rebuild(grow: bool): bool {
  const old = slots;
  const capacity = mask + 1;
  const forget = used >= forgetAfter && liveCount * 4 < used;
  // Every table a growing one leaves behind stays in linear memory, and fresh memory costs a page fault per page:
  // growing fourfold while small leaves a third of the final table behind instead of all of it.
  const grown = forget || !grow ? capacity : capacity < QUADRUPLE_BELOW ? capacity << 2 : capacity << 1;
  const fresh = tableMemory(<usize>grown << 4);
  if (fresh == 0) return false;
  slots = fresh;
  mask = grown - 1;
  lastAddress = 0;
  if (forget) {
    store<f64>(counts + (<usize>FORGOTTEN << 3), load<f64>(counts + (<usize>FORGOTTEN << 3)) + <f64>(used - liveCount));
    used = liveCount;
  }
  const end = old + (<usize>capacity << 4);
  for (let p = old; p < end; p += 16) {
    const ahead = p + (TOUCH_AHEAD << 4);
    if (ahead < end) touchSink += load<u64>(slots + (<usize>home(load<u64>(ahead)) << 4));
    const key = load<u64>(p);
    const value = load<f64>(p, 8);
    if (key == 0 || (forget && value < 0)) continue;
    const s = slotOf(key);
    store<u64>(s, key);
    store<f64>(s, value, 8);
  }
  return true;
}

// ── object ids ────────────────────────────────────────────────────────────────────────────────────────────

/** The trace line that allocated object `id` (0 when unknown or ended). */
export function objectLine(id: i32): f64 {
  return id >= 0 && id < lineCapacity ? load<f64>(lines + (<usize>id << 3)) : 0;
}

/** Object ids handed out so far: every id lies below. */
export function objectIds(): i32 {
  return nextId;
}

/** A new object id allocated on `line` (a recycled one first); -1 when memory cannot hold it. */
function newObject(line: f64): i32 {
  let id: i32;
  if (freeCount > 0) id = load<i32>(freeIds + (<usize>(--freeCount) << 2));
  else {
    id = nextId;
    if (id >= lineCapacity) {
      const capacity = max(1024, lineCapacity << 1);
      const grown = tableMemory(<usize>capacity << 3);
      if (grown == 0) return -1;
      if (lineCapacity) memory.copy(grown, lines, <usize>lineCapacity << 3);
      lines = grown;
      lineCapacity = capacity;
    }
    nextId++;
  }
  store<f64>(lines + (<usize>id << 3), line);
  return id;
}

/** Ends object `id` at `address` by the free on `line`; its id is free for the next allocation. */
function endObject(address: u64, id: i32, line: f64): bool {
  addressEnd(address, line);
  store<f64>(lines + (<usize>id << 3), 0);
  if (freeCount == freeCapacity) {
    const capacity = max(1024, freeCapacity << 1);
    const grown = tableMemory(<usize>capacity << 2);
    if (grown == 0) return false;
    if (freeCapacity) memory.copy(grown, freeIds, <usize>freeCapacity << 2);
    freeIds = grown;
    freeCapacity = capacity;
  }
  store<i32>(freeIds + (<usize>(freeCount++) << 2), id);
  return true;
}

/**
 * Starts the object a successful allocation returned at `address` (none when the trace says it failed). An
 * address the trace still holds live was freed by a call the recording missed: the new block takes over that
 * object's id (src/lab/replay.ts explains why), counted once in pointerReuse. -2 when memory cannot hold it.
 */
function bindObject(address: u64, line: f64): i32 {
  if (address == 0) return -1;
  const displaced = addressLive(address);
  if (displaced >= 0) {
    tally(POINTER_REUSE);
    store<f64>(lines + (<usize><i32>displaced << 3), line);
    return <i32>displaced;
  }
  const id = newObject(line);
  if (id < 0 || addressBind(address, <f64>id) == -2) return -2;
  return id;
}

/**
 * The object a free (or a realloc that frees) names: its id, -1 when the op is to be skipped (and counted), -2
 * when the trace is wrong (`traceErrorKind`).
 */
function lookup(address: u64, flags: i32, frees: bool): i32 {
  const id = addressLive(address);
  if (id >= 0) return <i32>id;
  const ended = addressEndedAt(address);
  if (ended > 0) {
    if (flags & LENIENT) {
      tally(DOUBLE_FREES_SKIPPED);
      return -1;
    }
    errorKind = DOUBLE_FREE;
    errorAddress = address;
    errorEndedLine = ended;
    return -2;
  }
  if (flags & STRICT) {
    errorKind = NEVER_ALLOCATED;
    errorAddress = address;
    return -2;
  }
  tally(frees ? UNKNOWN_FREES : UNKNOWN_REALLOCS);
  return -1;
}

/** Field `k` (COLUMN_*) of op `i` of the window. */
// @ts-ignore: decorator
@inline export function column(k: i32, i: i32): f64 {
  return load<f64>(columns + ((<usize>k * <usize>columnCapacity + <usize>i) << 3));
}

/** The trace's op code of op `i` of the window. */
// @ts-ignore: decorator
@inline export function opCode(i: i32): i32 {
  return <i32>load<u8>(columns + <usize>columnCapacity * (F64_COLUMNS << 3) + <usize>i);
}

/** Where op `i` of the window keeps whether the trace rules it out. */
// @ts-ignore: decorator
@inline function skippedAt(i: i32): usize {
  return columns + <usize>columnCapacity * ((F64_COLUMNS << 3) + 1) + <usize>i;
}

/** Whether the trace rules op `i` of the window out (its result region is SKIPPED). */
// @ts-ignore: decorator
@inline export function opSkipped(i: i32): bool {
  return load<u8>(skippedAt(i)) != 0;
}

// @ts-ignore: decorator
@inline function putOp(ops: usize, i: i32, code: i32, thread: f64, object: i32, a: f64, b: f64): void {
  const at = ops + (<usize>(i * OP_SLOTS) << 3);
  store<f64>(at, <f64>code);
  store<f64>(at, thread, 8);
  store<f64>(at, <f64>object, 16);
  store<f64>(at, a, 24);
  store<f64>(at, b, 32);
  store<f64>(at, 0, 40);
}

/**
 * Encodes op `i` of the columns into the batch at `ops`; false when the trace is wrong there (`traceErrorKind`)
 * or memory ran out (`outOfMemory`).
 */
function encode(ops: usize, i: i32, flags: i32): bool {
  const skipped = skippedAt(i);
  const code = opCode(i);
  const line = column(COLUMN_LINE, i);
  tally(code & (CODES - 1));
  store<u8>(skipped, 0);
  let opcode = code;
  let object: i32 = -1;
  let a = column(COLUMN_A, i);
  if (code == OP_FREE) {
    const ptr = <u64>column(COLUMN_PTR, i);
    if (ptr != 0) {
      object = lookup(ptr, flags, true);
      if (object == -2) return false;
      if (object >= 0 && !endObject(ptr, object, line)) return false;
      if (object < 0) object = -1;
    }
  } else if (code == OP_REALLOC) {
    const ptr = <u64>column(COLUMN_PTR, i);
    const res = <u64>column(COLUMN_RES, i);
    if (ptr == 0) {
      opcode = OP_MALLOC;
      object = bindObject(res, line);
      if (object == -2) return false;
    } else {
      object = lookup(ptr, flags, a == 0);
      if (object == -2) return false;
      if (object < 0) {
        // Realloc of an address the trace never allocated: the slot stays, as a no-op.
        store<u8>(skipped, 1);
        opcode = OP_FREE;
        object = -1;
        a = 0;
      } else {
        if (res == 0 && a != 0) tally(FAILED_REALLOCS);
        if (a == 0) {
          if (!endObject(ptr, object, line)) return false;
        } else if (res != 0 && res != ptr) {
          addressEnd(ptr, line);
          const displaced = addressBind(res, <f64>object);
          if (displaced == -2) return false;
          if (displaced >= 0) tally(POINTER_REUSE);
        }
      }
    }
  } else if (code != OP_TRIM) {
    object = bindObject(<u64>column(COLUMN_RES, i), line);
    if (object == -2) return false;
  }
  putOp(ops, i, opcode, column(COLUMN_THREAD, i), object, a, column(COLUMN_B, i));
  return true;
}

/** Keeps the loads of `touchSlots` and `rebuild` from being optimised away. */
let touchSink: u64 = 0;
/** How many entries ahead of the one it inserts `rebuild` loads the new table's slot. */
const TOUCH_AHEAD: usize = 16;

/**
 * Loads the home slot of every address the first `count` ops name, before any op needs it. A table larger than
 * the cache misses on nearly every lookup; these loads wait on nothing, so the processor overlaps their misses,
 * and the lookups that follow find the lines in the cache.
 */
function touchSlots(count: i32): void {
  let sum: u64 = 0;
  for (let i = 0; i < count; i++) {
    sum += load<u64>(slots + (<usize>home(<u64>column(COLUMN_PTR, i)) << 4));
    sum += load<u64>(slots + (<usize>home(<u64>column(COLUMN_RES, i)) << 4));
  }
  touchSink += sum;
}

/**
 * Encodes the first `count` ops of the trace columns into the batch at `ops` and replays them (replay.ts);
 * returns how many completed. Fewer than `count`: the model's error (`lastErrorCode`), or else the trace's own at
 * the next op (`traceErrorKind`).
 */
export function replayTrace(count: i32, flags: i32, ops: usize, results: usize): i32 {
  clearError();
  errorKind = 0;
  outOfMemory = false;
  if (slots == 0 && !traceObjectsReset(FIRST_CAPACITY, forgetAfter)) count = 0;
  touchSlots(count);
  let encoded = 0;
  while (encoded < count && encode(ops, encoded, flags)) encoded++;
  const done = replayBatch(ops, encoded, results, false);
  if (done == encoded && outOfMemory) {
    raise(ERR_LIMIT, "out of memory: the model's wasm instance cannot grow to hold the trace's addresses");
  }
  for (let i = 0; i < done; i++) {
    if (opSkipped(i)) store<f64>(results + (<usize>(i * RESULT_SLOTS + 1) << 3), <f64>REGION_SKIPPED);
  }
  return done;
}

/** What stopped the last `replayTrace` short of its count when the model raised nothing (DOUBLE_FREE, NEVER_ALLOCATED). */
export function traceErrorKind(): i32 {
  return errorKind;
}

/** The address of the trace's error. */
export function traceErrorAddress(): f64 {
  return <f64>errorAddress;
}

/** The line of the free that already ended the address of a double free. */
export function traceErrorEndedLine(): f64 {
  return errorEndedLine;
}
