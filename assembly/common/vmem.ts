// Simulated virtual memory: 64-bit addresses of the modelled process, backed by linear memory.
//
// A model works with the addresses the real allocator would hand out (a brk heap at 0x5555…, arena heaps at
// 64 MiB-aligned addresses, …). Every byte the model writes lives in linear memory, found through a two-level
// table of 64 KiB frames:
//
//   virtual address (48 bits used)
//   ╒═══════════════╤═══════════════╤═══════════════╕
//   │ bits 47..32   │ bits 31..16   │ bits 15..0    │
//   │ L1 index      │ L2 index      │ frame offset  │
//   ╘═══════╤═══════╧═══════╤═══════╧═══════╤═══════╛
//           │               │               │
//   L1 (65536 × u32) ──► L2 (65536 × u32) ──► frame (64 KiB) + offset
//
// Unmapped addresses resolve to a scratch frame that is only ever read: a never-written address reads as zero,
// like fresh memory from the kernel, and a model that follows a corrupted pointer reads zeros. The scratch frame and
// the empty L2 table are both linear address 0: the first 256 KiB of linear memory lie below the module's data
// (`memoryBase` in asconfig.json) and are never written, so a zero table entry means "unmapped" and new tables
// need no filling. The first store into a frame backs it with real memory, so a simulated heap of gigabytes costs
// only the frames it writes (its chunk headers and links); fresh frames come straight from memory.grow, already
// zero, and a page of one that the model never writes is never touched. Frames are recycled through a free list and
// zeroed when reused.
//
// Every store goes through `st8/16/32/64`. While the journal is on, each store first records the aligned 8-byte
// word it overwrites, so that a call that fails half way (an integrity check) can be rolled back exactly.
//
// Two things can stop a store that the real process would have made: an address above the 48 bits the tables
// cover (the real process faults there too), and a wasm instance that cannot grow (the engine caps linear memory at
// 4 GiB). Neither may trap: the store lands in a sink frame, `vmFailure()` tells the model, and the model abandons
// the operation, which the journal then undoes. Frames and tables stop `RESERVE` bytes short of the cap so that
// the journal, the batch buffers and the checkers' scratch space still fit; once the cap has been reached
// (`vmAtCeiling`), a batch replay journals every operation so that the one that runs out can be undone.

// @ts-ignore: decorator
@inline const FRAME_BITS: u64 = 16;
// @ts-ignore: decorator
@inline const FRAME_SIZE: usize = 1 << 16;
// @ts-ignore: decorator
@inline const TABLE_BYTES: usize = 65536 * 4;

/** The scratch frame and the empty L2 table (see above). */
// @ts-ignore: decorator
@inline const UNMAPPED: usize = 0;

/** Linear memory kept free below the engine's cap for everything but frames and tables (see above). */
// @ts-ignore: decorator
@inline const RESERVE: u64 = 32 << 20;
/** What batch buffers leave free of the reserve: room for the journal of the operation that runs out. */
// @ts-ignore: decorator
@inline const JOURNAL_RESERVE: u64 = 2 << 20;

/** vmFailure(): the wasm instance cannot grow (a frame or table could not be had). */
export const VM_LIMIT: i32 = 1;
/** vmFailure(): a store above the 48-bit address space. */
export const VM_FAULT: i32 = 2;
/** vmFailure(): a store the model's guard refused: memory the real process has not mapped (`vmFaultAddress`). */
export const VM_UNMAPPED: i32 = 3;

let l1: usize = 0;
let freeFrames: usize = 0;
/** End of the highest block rawAlloc has handed out. */
let freshFrom: usize = 0;
let framesInUse: u32 = 0;
let sink: usize = 0;
let failure: i32 = 0;
let faultAddress: u64 = 0;
let atCeiling: bool = false;

/** Says whether the model may store at a never-written frame (a model that knows the process's regions). */
type StoreGuard = (va: u64) => bool;
function anyStore(va: u64): bool { return true; }
let guard: StoreGuard = anyStore;
let guarded: bool = false;

/** Where the stub runtime's next block will start (its bump pointer moves back when the last block is freed). */
function runtimeTop(): u64 {
  const probe = heap.alloc(0);
  heap.free(probe);
  return <u64>probe;
}

/**
 * The most pages linear memory may have. The engine allows 65536 (4 GiB), but at 65536 the stub runtime computes
 * its end of memory as 0 (`pages << 16` wraps in 32 bits) and traps on its next allocation.
 */
// @ts-ignore: decorator
@inline const MAX_PAGES: u64 = 65535;

/**
 * Grows linear memory so that `bytes` more can be had with `keep` bytes to spare; false at the cap. Already when
 * another RESERVE could not be had on top, `vmAtCeiling` turns on, so that batch replays journal every operation
 * before the one that runs out begins.
 */
function roomFor(bytes: u64, keep: u64): bool {
  const need = runtimeTop() + bytes + 64 + keep;
  if (!atCeiling && !grownTo(need + RESERVE)) atCeiling = true;
  return grownTo(need);
}

/** Grows linear memory to at least `end` bytes; false when it cannot. */
function grownTo(end: u64): bool {
  const pages = <u64>memory.size();
  if (end <= pages << 16) return true;
  const more = (end - (pages << 16) + 0xffff) >> 16;
  // Doubling, as the stub runtime grows, but never past the cap: one large step instead of one per frame, since
  // the engine may copy the whole memory on each growth.
  const wanted = min(max(more, pages), MAX_PAGES - pages);
  return more <= wanted && (memory.grow(<i32>wanted) >= 0 || memory.grow(<i32>more) >= 0);
}

/**
 * Allocates `bytes` of zeroed linear memory that is never returned (tables, frames); 0 when only the reserve is
 * left. The stub runtime's bump pointer only moves down when its last block is freed, which nothing here does, so
 * each block lies above all earlier ones, in memory fresh from memory.grow: zero already, and left untouched.
 */
function rawAlloc(bytes: usize, keep: u64 = RESERVE): usize {
  if (!roomFor(<u64>bytes, keep)) return 0;
  const p = heap.alloc(bytes);
  if (p < freshFrom) memory.fill(p, 0, bytes);
  if (p + bytes > freshFrom) freshFrom = p + bytes;
  return p;
}

/** Linear memory for the batch and scratch buffers JS asks for; 0 when the instance cannot grow that far. */
export function vmBuffer(bytes: usize): usize {
  return rawAlloc(bytes, JOURNAL_RESERVE);
}

/** Prepares the tables; called once by a model's `init`. */
export function vmInit(): void {
  if (l1 != 0) return;
  l1 = rawAlloc(TABLE_BYTES);
  sink = rawAlloc(FRAME_SIZE);
}

/** VM_LIMIT or VM_FAULT when a store could not land since the last `vmClearFailure`, else 0. */
// @ts-ignore: decorator
@inline export function vmFailure(): i32 {
  return failure;
}

export function vmClearFailure(): void {
  failure = 0;
}

/** The address of the store that set VM_UNMAPPED. */
export function vmFaultAddress(): u64 {
  return faultAddress;
}

/**
 * Installs the guard asked on the first store into each frame: a refused store lands in the sink and sets
 * VM_UNMAPPED, as the real process faults on memory it has not mapped (a poisoned pointer). Frames the model maps
 * itself (`vmMap`) are not asked about, and frames already backed are not asked again, so the cost is one call per
 * frame the model backs.
 */
export function vmSetGuard(check: StoreGuard): void {
  guard = check;
  guarded = true;
}

/** True once linear memory has reached the engine's cap: the next frame may be refused. */
// @ts-ignore: decorator
@inline export function vmAtCeiling(): bool {
  return atCeiling;
}

/**
 * L2 table of `va`. Addresses above 48 bits read the empty table, without a branch: the masked load stays inside
 * L1 and the select throws its value away.
 */
// @ts-ignore: decorator
@inline function l2Of(va: u64): usize {
  const hi = va >> 32;
  return select<usize>(<usize>load<u32>(l1 + (<usize>(hi & 0xffff) << 2)), UNMAPPED, hi < 0x10000);
}

/** Linear address of the byte at virtual address `va`. */
// @ts-ignore: decorator
@inline export function lin(va: u64): usize {
  const frame = <usize>load<u32>(l2Of(va) + (<usize>((va >> FRAME_BITS) & 0xffff) << 2));
  return frame + <usize>(va & 0xffff);
}

/** True when `va` lies in a mapped frame. */
export function vmIsMapped(va: u64): bool {
  return <usize>load<u32>(l2Of(va) + (<usize>((va >> FRAME_BITS) & 0xffff) << 2)) != UNMAPPED;
}

/** A zeroed frame, or 0 when the instance cannot grow. */
function takeFrame(): usize {
  if (freeFrames != 0) {
    framesInUse++;
    const f = freeFrames;
    freeFrames = <usize>load<u32>(f);
    memory.fill(f, 0, FRAME_SIZE);
    return f;
  }
  const f = rawAlloc(FRAME_SIZE);
  if (f != 0) framesInUse++;
  return f;
}

/**
 * Backs every frame that overlaps [va, va + len) with zeroed linear memory (frames already mapped are kept). Frames
 * above 48 bits or beyond the instance's memory stay unmapped and set `vmFailure()`.
 */
export function vmMap(va: u64, len: u64): void {
  if (len == 0) return;
  const first = va >> FRAME_BITS;
  const last = (va + len - 1) >> FRAME_BITS;
  if (last >> 32 != 0 || last < first) {
    failure = VM_FAULT;
    return;
  }
  for (let f = first; f <= last; f++) {
    const slot1 = l1 + (<usize>(f >> 16) << 2);
    let l2 = <usize>load<u32>(slot1);
    if (l2 == UNMAPPED) {
      l2 = rawAlloc(TABLE_BYTES);
      if (l2 == 0) {
        failure = VM_LIMIT;
        return;
      }
      store<u32>(slot1, <u32>l2);
    }
    const slot2 = l2 + (<usize>(f & 0xffff) << 2);
    if (<usize>load<u32>(slot2) == UNMAPPED) {
      const frame = takeFrame();
      if (frame == 0) {
        failure = VM_LIMIT;
        return;
      }
      store<u32>(slot2, <u32>frame);
    }
  }
}

/** Releases the frames that lie entirely inside [va, va + len); partial frames stay mapped. */
export function vmUnmap(va: u64, len: u64): void {
  if (len == 0) return;
  const first = (va + FRAME_SIZE - 1) >> FRAME_BITS;
  const end = (va + len) >> FRAME_BITS;
  for (let f = first; f < end && f >> 32 == 0; f++) {
    const l2 = <usize>load<u32>(l1 + (<usize>(f >> 16) << 2));
    if (l2 == UNMAPPED) continue;
    const slot2 = l2 + (<usize>(f & 0xffff) << 2);
    const frame = <usize>load<u32>(slot2);
    if (frame == UNMAPPED) continue;
    store<u32>(frame, <u32>freeFrames);
    freeFrames = frame;
    framesInUse--;
    store<u32>(slot2, <u32>UNMAPPED);
  }
}

/** Number of 64 KiB frames currently backing simulated memory. */
export function vmFramesInUse(): u32 {
  return framesInUse;
}

// ── journal ──────────────────────────────────────────────────────────────────────────────────────────────
//
//   journal page (64 KiB) = 4096 entries of
//   ╒════════════════════╤════════════════════╕
//   │ linear address u64 │ previous word u64  │
//   ╘════════════════════╧════════════════════╛

const JOURNAL_PAGES_MAX: i32 = 4096;
const journalPages = new StaticArray<usize>(JOURNAL_PAGES_MAX);
let journalPageCount: i32 = 0;
let journalLength: i32 = 0;
let journalOn: bool = false;

/** Starts recording stores; the previous journal is discarded. */
export function journalBegin(): void {
  journalOn = true;
  journalLength = 0;
}

/** Stops recording and forgets what was recorded (the call succeeded). */
export function journalCommit(): void {
  journalOn = false;
  journalLength = 0;
}

/** Undoes every recorded store, newest first, and stops recording. */
export function journalRollback(): void {
  journalOn = false;
  for (let i = journalLength - 1; i >= 0; i--) {
    const e = unchecked(journalPages[i >> 12]) + (<usize>(i & 4095) << 4);
    store<u64>(<usize>load<u64>(e), load<u64>(e, 8));
  }
  journalLength = 0;
}

function journalRecord(at: usize): void {
  const word = at & ~(<usize>7);
  const page = journalLength >> 12;
  if (page >= JOURNAL_PAGES_MAX) return; // beyond 16 M stores a call is no longer undoable; keep going
  if (page == journalPageCount) {
    const fresh = rawAlloc(FRAME_SIZE, 0);
    if (fresh == 0) {
      failure = VM_LIMIT;
      return;
    }
    unchecked(journalPages[page] = fresh);
    journalPageCount++;
  }
  const e = unchecked(journalPages[page]) + (<usize>(journalLength & 4095) << 4);
  store<u64>(e, <u64>word);
  store<u64>(e, load<u64>(word), 8);
  journalLength++;
}

// ── typed access at virtual addresses ────────────────────────────────────────────────────────────────────

/** Linear address for a store at `va`: backs the frame on its first write. */
// @ts-ignore: decorator
@inline function linForStore(va: u64): usize {
  const p = lin(va);
  return p - UNMAPPED < FRAME_SIZE ? backFrame(va) : p;
}

/** Backs the frame of `va`; the sink frame when it cannot be backed (the operation is then abandoned). */
function backFrame(va: u64): usize {
  if (guarded && !guard(va)) {
    if (failure == 0) {
      failure = VM_UNMAPPED;
      faultAddress = va;
    }
    return sink + <usize>(va & 0xffff);
  }
  vmMap(va, 1);
  const p = lin(va);
  return p - UNMAPPED < FRAME_SIZE ? sink + <usize>(va & 0xffff) : p;
}

/**
 * Stores `byte` over [va, va + len), frame by frame (calloc's clearing, glibc.malloc.perturb). A zero fill skips
 * frames never written, which read as zero already, and journals only the words it changes.
 */
export function vmFill(va: u64, len: u64, byte: u8): void {
  const end = va + len;
  let at = va;
  while (at < end && at >= va) {
    const frameEnd = (at | 0xffff) + 1;
    const stop = frameEnd < end && frameEnd > at ? frameEnd : end;
    let p = lin(at);
    if (p - UNMAPPED < FRAME_SIZE) {
      if (byte == 0) {
        at = stop;
        continue;
      }
      p = backFrame(at);
    }
    const n = <usize>(stop - at);
    if (journalOn) {
      const fill = <u64>byte * 0x0101_0101_0101_0101;
      for (let w = p & ~(<usize>7); w < p + n; w += 8) if (load<u64>(w) != fill) journalRecord(w);
    }
    memory.fill(p, byte, n);
    at = stop;
  }
}

// @ts-ignore: decorator
@inline export function ld64(va: u64): u64 { return load<u64>(lin(va)); }
// @ts-ignore: decorator
@inline export function ld32(va: u64): u32 { return load<u32>(lin(va)); }
// @ts-ignore: decorator
@inline export function ld16(va: u64): u16 { return load<u16>(lin(va)); }
// @ts-ignore: decorator
@inline export function ld8(va: u64): u8 { return load<u8>(lin(va)); }

// @ts-ignore: decorator
@inline export function st64(va: u64, v: u64): void {
  const p = linForStore(va);
  if (journalOn) journalRecord(p);
  store<u64>(p, v);
}
// @ts-ignore: decorator
@inline export function st32(va: u64, v: u32): void {
  const p = linForStore(va);
  if (journalOn) journalRecord(p);
  store<u32>(p, v);
}
// @ts-ignore: decorator
@inline export function st16(va: u64, v: u16): void {
  const p = linForStore(va);
  if (journalOn) journalRecord(p);
  store<u16>(p, v);
}
// @ts-ignore: decorator
@inline export function st8(va: u64, v: u8): void {
  const p = linForStore(va);
  if (journalOn) journalRecord(p);
  store<u8>(p, v);
}
