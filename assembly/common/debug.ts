// What the invariant checkers share: the violation records they write, the per-operation check switch of the
// replay loops, and raw access to simulated memory for the tests that corrupt a heap on purpose.
//
//   violation record (two f64 slots in a buffer JS provides)
//   ╒════════════════════╤═════════════════════════════════════════════════╕
//   │ code               │ address concerned (chunk, span, page, 0 = none) │
//   ╘════════════════════╧═════════════════════════════════════════════════╛
//
// A checker reports every violation it finds; records beyond the buffer's capacity are counted, not written,
// so the caller can retry with a larger buffer.

import { ld64, st64 } from "./vmem";

/** The error code of a replay stopped by a failed heap check (the model's own aborts use smaller codes). */
export const CHECK_FAILED: i32 = 100;

export const VIOLATION_SLOTS: i32 = 2;

let sinkBuffer: usize = 0;
let sinkCapacity: i32 = 0;
let sinkCount: i32 = 0;
let firstCode: i32 = 0;
let firstAddress: u64 = 0;

/** Starts a check: violations go to `buffer` (up to `capacity` records; 0 = count only). */
export function violationsBegin(buffer: usize, capacity: i32): void {
  sinkBuffer = buffer;
  sinkCapacity = buffer == 0 ? 0 : capacity;
  sinkCount = 0;
  firstCode = 0;
  firstAddress = 0;
}

/** Records one violation of invariant `code` at `address`. */
export function violation(code: i32, address: u64): void {
  if (sinkCount == 0) {
    firstCode = code;
    firstAddress = address;
  }
  if (sinkCount < sinkCapacity) {
    const at = sinkBuffer + (<usize>(sinkCount * VIOLATION_SLOTS) << 3);
    store<f64>(at, <f64>code);
    store<f64>(at, <f64>address, 8);
  }
  sinkCount++;
}

/** Violations found since `violationsBegin`. */
export function violationCount(): i32 {
  return sinkCount;
}

/** The code of the first violation of the last check (0 when it found none). */
export function firstViolationCode(): i32 {
  return firstCode;
}

/** The address of the first violation of the last check. */
export function firstViolationAddress(): u64 {
  return firstAddress;
}

// ── checks during replay ─────────────────────────────────────────────────────────────────────────────────

let checkEvery: i32 = 0;
let opsSinceCheck: i32 = 0;

/** Makes the replay loops check the heap after every `n` operations (0 = never). */
export function setCheckEvery(n: i32): void {
  checkEvery = n < 0 ? 0 : n;
  opsSinceCheck = 0;
}

/** Counts one operation; true when the heap is due for a check. */
// @ts-ignore: decorator
@inline export function checkDue(): bool {
  if (checkEvery == 0) return false;
  if (++opsSinceCheck < checkEvery) return false;
  opsSinceCheck = 0;
  return true;
}

/** The message of a replay stopped by a failed check: `heap check: <what> at 0x<address>`. */
export function checkFailureMessage(message: string, address: u64): string {
  return "heap check: " + message + " at 0x" + address.toString(16);
}

// ── marks: one epoch stamp per granule of an address range, to find what a checker reaches twice ─────────
//
//   marks (u8 per granule)                   granule g covers [markBase + g << markShift, … + 1 << markShift)
//   ╒═════╤═════╤═════╤═════╤═════╕
//   │ e₀  │ e₁  │ e₂  │ …   │     │          e = epoch of the check that reached it (0 = never)
//   ╘═════╧═════╧═════╧═════╧═════╛
//
// A new check bumps the epoch instead of clearing the table; the table is cleared only when the epoch wraps.

let marks: usize = 0;
let marksCapacity: usize = 0;
let markBase: u64 = 0;
let markShift: u64 = 3;
let markGranules: u64 = 0;
let markEpoch: u8 = 0;

/** Starts a round of marks over [base, base + bytes) in granules of 2^shift bytes. */
export function marksBegin(base: u64, bytes: u64, shift: u64): void {
  const granules = (bytes + (<u64>1 << shift) - 1) >> shift;
  if (<usize>granules > marksCapacity) {
    const capacity = max(<usize>granules, marksCapacity << 1);
    marks = heap.alloc(capacity);
    memory.fill(marks, 0, capacity);
    marksCapacity = capacity;
    markEpoch = 0;
  }
  if (markEpoch == 255) {
    memory.fill(marks, 0, marksCapacity);
    markEpoch = 0;
  }
  markEpoch++;
  markBase = base;
  markShift = shift;
  markGranules = granules;
}

/** True when `va` lies in the marked range. */
// @ts-ignore: decorator
@inline export function markable(va: u64): bool {
  return va >= markBase && ((va - markBase) >> markShift) < markGranules;
}

/** Marks the granule of `va` (which must be markable); false when this round had marked it already. */
export function mark(va: u64): bool {
  const at = marks + <usize>((va - markBase) >> markShift);
  if (load<u8>(at) == markEpoch) return false;
  store<u8>(at, markEpoch);
  return true;
}

/** True when this round has marked the granule of `va` (which must be markable). */
export function marked(va: u64): bool {
  return load<u8>(marks + <usize>((va - markBase) >> markShift)) == markEpoch;
}

// ── raw access for corruption tests ──────────────────────────────────────────────────────────────────────

/** The 8-byte word at simulated address `va`. */
export function debugLoad64(va: f64): u64 {
  return ld64(<u64>va);
}

/** Overwrites the 8-byte word at simulated address `va` (bypassing every allocator check). */
export function debugStore64(va: f64, value: u64): void {
  st64(<u64>va, value);
}
