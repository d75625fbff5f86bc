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

// ── marks: the granules of an address range a checker has reached, to find what it reaches twice ────────
//
//   marks (open addressing, linear probing)   a slot holds granule + 1 (0 = empty);
//   ╒═════════╤═════════╤═════════╤═════╕     granule g covers [markBase + g << markShift, … + 1 << markShift)
//   │ g₀ + 1  │ 0       │ g₁ + 1  │ …   │
//   ╘═════════╧═════════╧═════════╧═════╛
//
// A set of the granules reached, not a table over the whole range: a heap of gigabytes with a chunk every 64 KiB
// would need a byte per 8 of them, more than the wasm instance can hold, and the checker reaches only chunk starts.
// The set grows at half full; each round clears it.

let marks: usize = 0;
let marksCapacity: u64 = 0;
let markCount: u64 = 0;
let markBase: u64 = 0;
let markShift: u64 = 3;
let markGranules: u64 = 0;

/** Starts a round of marks over [base, base + bytes) in granules of 2^shift bytes. */
export function marksBegin(base: u64, bytes: u64, shift: u64): void {
  if (marksCapacity == 0) {
    marksCapacity = 4096;
    marks = heap.alloc(<usize>marksCapacity << 3);
  }
  memory.fill(marks, 0, <usize>marksCapacity << 3);
  markCount = 0;
  markBase = base;
  markShift = shift;
  markGranules = (bytes + (<u64>1 << shift) - 1) >> shift;
}

/** True when `va` lies in the marked range. */
// @ts-ignore: decorator
@inline export function markable(va: u64): bool {
  return va >= markBase && ((va - markBase) >> markShift) < markGranules;
}

/** The slot of granule key `key` (granule + 1): where it is, or the empty slot where it would go. */
function markSlot(key: u64): usize {
  const mask = marksCapacity - 1;
  let i = (key * 0x9e3779b97f4a7c15) >> 32 & mask;
  let at = marks + (<usize>i << 3);
  let k = load<u64>(at);
  while (k != key && k != 0) {
    i = (i + 1) & mask;
    at = marks + (<usize>i << 3);
    k = load<u64>(at);
  }
  return at;
}

function growMarks(): void {
  const old = marks;
  const oldCapacity = marksCapacity;
  marksCapacity = oldCapacity << 1;
  marks = heap.alloc(<usize>marksCapacity << 3);
  memory.fill(marks, 0, <usize>marksCapacity << 3);
  for (let i: u64 = 0; i < oldCapacity; i++) {
    const k = load<u64>(old + (<usize>i << 3));
    if (k != 0) store<u64>(markSlot(k), k);
  }
  heap.free(old);
}

/** Marks the granule of `va` (which must be markable); false when this round had marked it already. */
export function mark(va: u64): bool {
  const key = ((va - markBase) >> markShift) + 1;
  const at = markSlot(key);
  if (load<u64>(at) == key) return false;
  store<u64>(at, key);
  markCount++;
  if (markCount << 1 > marksCapacity) growMarks();
  return true;
}

/** True when this round has marked the granule of `va` (which must be markable). */
export function marked(va: u64): bool {
  const key = ((va - markBase) >> markShift) + 1;
  return load<u64>(markSlot(key)) == key;
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
