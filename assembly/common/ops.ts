// The batch format shared by every model and by `src/lab`: the replay hot path crosses the JS/wasm boundary once
// per batch, never once per operation.
//
// An operation is six f64 slots (48 bytes) in a batch buffer that JS fills:
//
//   ╒════════╤════════╤════════╤════════╤════════╤════════╕
//   │ opcode │ thread │ object │ arg a  │ arg b  │ flags  │
//   ╘════════╧════════╧════════╧════════╧════════╧════════╛
//
//   opcode  OP_* below
//   thread  dense thread index (0 = the main thread); JS maps trace tids to indices
//   object  object id: the object the result is stored in (allocations, realloc) or the object freed
//           (free, realloc); -1 = NULL. With FLAG_RAW_ADDRESS, `object` is a simulated address instead
//   a, b    malloc/valloc/pvalloc: a = size · calloc: a = nmemb, b = size · realloc: a = size
//           memalign/aligned_alloc/posix_memalign: a = alignment, b = size · trim: a = pad
//   flags   FLAG_* below
//
// Sizes travel as f64: every size up to 2^53 is exact, and anything larger fails in the model exactly as it would
// in the real allocator (SIZE_TOO_LARGE stands for "more than PTRDIFF_MAX").
//
// Results are two f64 slots per operation, written by the model:
//
//   ╒════════════════════╤════════════╕
//   │ address (0 = NULL) │ region tag │
//   ╘════════════════════╧════════════╛
//
//   region  REGION_* below; for a non-main arena REGION_ARENA + k, k = 1, 2, … in order of creation.
//           trim ops put their return value (0/1) in the address slot.

export const OP_MALLOC: i32 = 1;
export const OP_CALLOC: i32 = 2;
export const OP_REALLOC: i32 = 3;
export const OP_FREE: i32 = 4;
export const OP_MEMALIGN: i32 = 5;
export const OP_ALIGNED_ALLOC: i32 = 6;
export const OP_POSIX_MEMALIGN: i32 = 7;
export const OP_VALLOC: i32 = 8;
export const OP_PVALLOC: i32 = 9;
export const OP_TRIM: i32 = 10;
/** A thread ends: what the real allocator does when a thread exits (no result; never counted as a call). */
export const OP_THREAD_EXIT: i32 = 11;

/**
 * Error codes of a batch the model cannot run, not the allocator's own aborts (those are below 100): an op code
 * the model does not know, a thread index beyond the threads the model keeps state for.
 */
export const ERR_UNKNOWN_OP: i32 = 300;
export const ERR_THREAD: i32 = 301;

/** `object` holds a simulated address, not an object id (interactive calls). */
export const FLAG_RAW_ADDRESS: i32 = 1;

export const REGION_NONE: i32 = 0;
export const REGION_HEAP: i32 = 1;
export const REGION_MMAP: i32 = 2;
/** The main arena's space outside the brk heap (mapped because the break could not move). */
export const REGION_MAIN_MAPPED: i32 = 3;
export const REGION_ARENA: i32 = 16;

export const OP_SLOTS: i32 = 6;
export const RESULT_SLOTS: i32 = 2;

/** Region tag of an op the trace itself rules out (trace-objects.ts; never a model's). */
export const REGION_SKIPPED: i32 = -1;
/** The trace columns (trace-objects.ts): this many f64 columns, then the u8 columns code and skipped. */
export const TRACE_F64_COLUMNS: i32 = 7;
/** The trace counts (trace-objects.ts): ops by trace code, this many, then TRACE_COUNTS named counts. */
export const TRACE_CODES: i32 = 16;
export const TRACE_COUNTS: i32 = 6;
/** The longest address line address-lines.ts writes: JS gives it this many bytes per op. */
export const LINE_ROOM: i32 = 96;

/** Requests above this size are treated as exceeding PTRDIFF_MAX. */
export const SIZE_TOO_LARGE: f64 = 9223372036854775807.0;

/**
 * The batch format's constants by name (`NAME=value`, comma separated): src/ keeps its own copy of them and checks
 * it against this once, when an instance is made, so the two cannot drift apart unnoticed.
 */
export function abiConstants(): string {
  const names = ["OP_MALLOC", "OP_CALLOC", "OP_REALLOC", "OP_FREE", "OP_MEMALIGN", "OP_ALIGNED_ALLOC",
    "OP_POSIX_MEMALIGN", "OP_VALLOC", "OP_PVALLOC", "OP_TRIM", "OP_THREAD_EXIT", "FLAG_RAW_ADDRESS", "REGION_NONE",
    "REGION_HEAP", "REGION_MMAP", "REGION_MAIN_MAPPED", "REGION_ARENA", "OP_SLOTS", "RESULT_SLOTS", "REGION_SKIPPED",
    "TRACE_F64_COLUMNS", "TRACE_CODES", "TRACE_COUNTS", "LINE_ROOM"];
  const values: i32[] = [OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_FREE, OP_MEMALIGN, OP_ALIGNED_ALLOC,
    OP_POSIX_MEMALIGN, OP_VALLOC, OP_PVALLOC, OP_TRIM, OP_THREAD_EXIT, FLAG_RAW_ADDRESS, REGION_NONE,
    REGION_HEAP, REGION_MMAP, REGION_MAIN_MAPPED, REGION_ARENA, OP_SLOTS, RESULT_SLOTS, REGION_SKIPPED,
    TRACE_F64_COLUMNS, TRACE_CODES, TRACE_COUNTS, LINE_ROOM];
  let out = "";
  for (let i = 0; i < names.length; i++) out += (i ? "," : "") + names[i] + "=" + values[i].toString();
  return out;
}

// @ts-ignore: decorator
@inline export function opField(ops: usize, i: i32, slot: i32): f64 {
  return load<f64>(ops + ((<usize>(i * OP_SLOTS + slot)) << 3));
}

// @ts-ignore: decorator
@inline export function putResult(results: usize, i: i32, address: u64, region: i32): void {
  const at = results + ((<usize>(i * RESULT_SLOTS)) << 3);
  store<f64>(at, <f64>address);
  store<f64>(at, <f64>region, 8);
}

/** Converts an f64 size to u64, saturating anything beyond PTRDIFF_MAX to u64.MAX_VALUE. */
// @ts-ignore: decorator
@inline export function sizeArg(v: f64): u64 {
  return v >= SIZE_TOO_LARGE ? u64.MAX_VALUE : <u64>v;
}

// ── object table ─────────────────────────────────────────────────────────────────────────────────────────
// Object id → simulated address and the bytes the program requested. Lives in simulated memory at OBJECTS_BASE
// (above any user address), so the journal covers it too.
//
//   OBJECTS_BASE + 16 × id
//   ╒═════════════════╤═════════════════╕
//   │ address   (u64) │ requested (u64) │
//   ╘═════════════════╧═════════════════╛

import { vmMap, ld64, st64, vmFailure, vmClearFailure, vmFaultAddress, VM_LIMIT, VM_UNMAPPED } from "./vmem";

const OBJECTS_BASE: u64 = 0xfff0_0000_0000;
let objectsMapped: u64 = 0;

/** Address currently held by object `id` (0 when none). */
export function objectAddress(id: i64): u64 {
  if (id < 0) return 0;
  const at = <u64>id << 4;
  if (at >= objectsMapped) return 0;
  return ld64(OBJECTS_BASE + at);
}

/** Object ids the table has room for so far: every id ever given an address lies below. */
export function objectSlots(): i64 {
  return <i64>(objectsMapped >> 4);
}

/** Maps the table far enough to hold object `id`. */
function reachObject(id: i64): u64 {
  const at = <u64>id << 4;
  if (at >= objectsMapped) {
    const grown = (at + 0x10000) & ~(<u64>0xffff);
    vmMap(OBJECTS_BASE + objectsMapped, grown - objectsMapped);
    objectsMapped = grown;
  }
  return OBJECTS_BASE + at;
}

/** Records that object `id` now lives at `address`. */
export function setObjectAddress(id: i64, address: u64): void {
  if (id < 0) return;
  st64(reachObject(id), address);
}

/** Bytes the program requested for object `id` (0 when none). */
export function objectRequested(id: i64): u64 {
  if (id < 0) return 0;
  const at = <u64>id << 4;
  if (at >= objectsMapped) return 0;
  return ld64(OBJECTS_BASE + at + 8);
}

/** Records the bytes the program requested for object `id`. */
export function setObjectRequested(id: i64, requested: u64): void {
  if (id < 0) return;
  st64(reachObject(id) + 8, requested);
}

// ── error state ──────────────────────────────────────────────────────────────────────────────────────────
//
// Error codes below 100 are the allocator's own aborts; JS names the kind of a HeapError by the code.

/** The wasm instance cannot back the simulated memory the operation needs. */
export const ERR_LIMIT: i32 = 200;
/** The real process would take a segmentation fault. */
export const ERR_SEGV: i32 = 201;

let errorCode: i32 = 0;
let errorMessageText: string = "";

/** Records a heap-misuse error (glibc's or TCMalloc's own message) for the operation being replayed. */
export function raise(code: i32, message: string): void {
  if (errorCode != 0) return;
  errorCode = code;
  errorMessageText = message;
}

/** True once `raise` has been called for the current operation. */
// @ts-ignore: decorator
@inline export function failed(): bool {
  return errorCode != 0;
}

export function clearError(): void {
  errorCode = 0;
  errorMessageText = "";
}

export function lastErrorCode(): i32 {
  return errorCode;
}

export function lastErrorMessage(): string {
  return errorMessageText;
}

/**
 * Turns a store that simulated memory could not take during the operation into the operation's error; returns
 * true when it did. The failure is then cleared for the next operation.
 */
export function settleMemory(): bool {
  const f = vmFailure();
  if (f == 0) return false;
  vmClearFailure();
  if (f == VM_LIMIT) {
    raise(ERR_LIMIT, "out of memory: the model's wasm instance cannot grow (4 GiB of linear memory) to back this call");
  } else if (f == VM_UNMAPPED) {
    clearError(); // the fault came first: whatever the model checked after it, the process was already dead
    raise(ERR_SEGV, "Segmentation fault: a store to unmapped memory at 0x" + vmFaultAddress().toString(16));
  } else {
    raise(ERR_SEGV, "Segmentation fault: a store above the 48-bit address space");
  }
  return true;
}
