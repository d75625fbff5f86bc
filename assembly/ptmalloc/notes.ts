// The model's per-chunk notes (which object holds a block, what it asked for), kept beside the heap rather than in
// it, so that payload bytes stay the program's as in glibc.
//
// A trace object's block needs no note of its own: the object table (common/ops.ts) holds object → address and
// the request, every call of a trace names its object, and the heap walk turns the table around once per walk
// (`objectsByAddress`). Blocks of interactive calls (no object) are noted in a side table keyed by chunk:
//
//   NOTES_HEADER (parameter frame)        table (open addressing, linear probing, at NOTES_A or NOTES_B)
//   ╒══════════╤═══════╤══════════╕       ╒════════════════╤══════════════════╕
//   │ capacity │ count │ base     │  ──►  │ mem (0 = free) │ requested bytes  │  × capacity (a power of two)
//   ╘══════════╧═══════╧══════════╛       ╘════════════════╧══════════════════╛
//
// The table lives in simulated memory, so the journal undoes it with the heap. It doubles at half full into the
// other base, emptying the old one as it moves the entries, so each base is all zeros whenever it is taken again.

import { ld64, st64 } from "../common/vmem";
import { objectAddress, objectRequested, setObjectAddress, setObjectRequested, objectSlots } from "../common/ops";
import { ScratchBytes } from "../common/scratch";
import { PARAMS_BASE } from "./params";

const NOTES_HEADER: u64 = PARAMS_BASE + 0x600;
const NOTES_A: u64 = 0xb000_0000_0000;
const NOTES_B: u64 = 0xb800_0000_0000;
const FIRST_CAPACITY: u64 = 1024;

// @ts-ignore: decorator
@inline function capacity(): u64 { return ld64(NOTES_HEADER); }
// @ts-ignore: decorator
@inline function count(): u64 { return ld64(NOTES_HEADER + 8); }
// @ts-ignore: decorator
@inline function base(): u64 { return ld64(NOTES_HEADER + 16); }

/** The home slot of `mem` in a table of `cap` slots. */
// @ts-ignore: decorator
@inline function home(mem: u64, cap: u64): u64 { return ((mem >> 4) * 0x9e3779b97f4a7c15 >> 20) & (cap - 1); }

/** The slot address that holds `mem`, or the empty one where it would go, in the table at `at` of `cap` slots. */
function slotOf(at: u64, cap: u64, mem: u64): u64 {
  let s = at + (home(mem, cap) << 4);
  let k = ld64(s);
  while (k != mem && k != 0) {
    s = at + ((((s - at) >> 4) + 1) & (cap - 1)) * 16;
    k = ld64(s);
  }
  return s;
}

/** Doubles the table (or makes the first one), moving every entry into the other base. */
function grow(): void {
  const oldCap = capacity();
  const oldBase = base();
  const cap = oldCap == 0 ? FIRST_CAPACITY : oldCap << 1;
  const fresh = oldBase == NOTES_A ? NOTES_B : NOTES_A;
  for (let i: u64 = 0; i < oldCap; i++) {
    const s = oldBase + (i << 4);
    const k = ld64(s);
    if (k == 0) continue;
    const t = slotOf(fresh, cap, k);
    st64(t, k);
    st64(t + 8, ld64(s + 8));
    st64(s, 0);
    st64(s + 8, 0);
  }
  st64(NOTES_HEADER, cap);
  st64(NOTES_HEADER + 16, fresh);
}

/** Notes that the block at `mem` went to an interactive call that asked for `requested` bytes. */
function noteRaw(mem: u64, requested: u64): void {
  if ((count() + 1) << 1 > capacity()) grow();
  const s = slotOf(base(), capacity(), mem);
  if (ld64(s) == 0) st64(NOTES_HEADER + 8, count() + 1);
  st64(s, mem);
  st64(s + 8, requested);
}

/** The request noted for the interactive call's block at `mem`, or -1. */
function rawRequest(mem: u64): i64 {
  if (capacity() == 0 || mem == 0) return -1;
  const s = slotOf(base(), capacity(), mem);
  return ld64(s) == mem ? <i64>ld64(s + 8) : -1;
}

/** Forgets the note of `mem` (backward-shift deletion: the probe chains stay unbroken, no tombstones). */
function forgetRaw(mem: u64): void {
  if (capacity() == 0 || mem == 0) return;
  const at = base();
  const cap = capacity();
  let hole = slotOf(at, cap, mem);
  if (ld64(hole) != mem) return;
  st64(NOTES_HEADER + 8, count() - 1);
  let i = (hole - at) >> 4;
  let j = i;
  for (;;) {
    j = (j + 1) & (cap - 1);
    const s = at + (j << 4);
    const k = ld64(s);
    if (k == 0) break;
    const h = home(k, cap);
    // The entry at j may fill the hole at i unless its home lies cyclically in (i, j].
    if (i <= j ? (h <= i || h > j) : (h <= i && h > j)) {
      st64(hole, k);
      st64(hole + 8, ld64(s + 8));
      hole = s;
      i = j;
    }
  }
  st64(hole, 0);
  st64(hole + 8, 0);
}

// ── the notes the model keeps ────────────────────────────────────────────────────────────────────────────

/** Notes that the heap block at `mem` went to object `object` (-1: an interactive call) for `requested` bytes. */
export function writeHeapNotes(mem: u64, requested: u64, object: i64): void {
  if (object >= 0) setObjectRequested(object, requested);
  else noteRaw(mem, requested);
}

/**
 * The block at `mem` stops being anyone's (freed, or moved by realloc) by an interactive call: the note of an
 * interactive block goes, and a trace object that still held the block no longer does. Returns that object, or -1.
 */
export function releaseRawBlock(mem: u64): i64 {
  forgetRaw(mem);
  const object = objectHolding(mem);
  if (object >= 0) setObjectAddress(object, 0);
  return object;
}

/** The trace object that holds `mem` (a scan of the object table: interactive calls only), or -1. */
export function objectHolding(mem: u64): i64 {
  if (mem == 0) return -1;
  for (let id: i64 = 0, n = objectSlots(); id < n; id++) if (objectAddress(id) == mem) return id;
  return -1;
}

/** Bytes requested for the interactive call's block at `mem`, or -1 when none is noted there. */
export function heapNoteRawRequest(mem: u64): i64 {
  return rawRequest(mem);
}

// ── the walk's view: object by address ───────────────────────────────────────────────────────────────────
//
//   scratch (linear memory, rebuilt per walk): open addressing of (mem, object id + 1), 16 bytes a slot

const byAddress = new ScratchBytes();
let byAddressCapacity: u64 = 0;

/** Indexes every live object by its address, for `objectAt` during one walk. */
export function objectsByAddress(): void {
  const n = objectSlots();
  let cap: u64 = 1024;
  while (cap < <u64>n << 1) cap <<= 1;
  const table = byAddress.reserve(<usize>cap << 4);
  memory.fill(table, 0, <usize>cap << 4);
  byAddressCapacity = cap;
  for (let id: i64 = 0; id < n; id++) {
    const mem = objectAddress(id);
    if (mem == 0) continue;
    let i = home(mem, cap);
    while (load<u64>(table + (<usize>i << 4)) != 0) i = (i + 1) & (cap - 1);
    store<u64>(table + (<usize>i << 4), mem);
    store<u64>(table + (<usize>i << 4), <u64>(id + 1), 8);
  }
}

/** The object whose block starts at `mem` (after `objectsByAddress`), or -1. */
export function objectAt(mem: u64): i64 {
  const cap = byAddressCapacity;
  const table = byAddress.ptr;
  let i = home(mem, cap);
  let k = load<u64>(table + (<usize>i << 4));
  while (k != mem && k != 0) {
    i = (i + 1) & (cap - 1);
    k = load<u64>(table + (<usize>i << 4));
  }
  return k == mem ? <i64>load<u64>(table + (<usize>i << 4), 8) - 1 : -1;
}

/** Bytes object `object` asked for. */
// @ts-ignore: decorator
@inline export function objectRequest(object: i64): u64 {
  return objectRequested(object);
}
