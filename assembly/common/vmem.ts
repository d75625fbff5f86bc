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

// @ts-ignore: decorator
@inline const FRAME_BITS: u64 = 16;
// @ts-ignore: decorator
@inline const FRAME_SIZE: usize = 1 << 16;
// @ts-ignore: decorator
@inline const TABLE_BYTES: usize = 65536 * 4;

/** The scratch frame and the empty L2 table (see above). */
// @ts-ignore: decorator
@inline const UNMAPPED: usize = 0;

let l1: usize = 0;
let freeFrames: usize = 0;
/** End of the highest block rawAlloc has handed out. */
let freshFrom: usize = 0;
let framesInUse: u32 = 0;

/**
 * Allocates `bytes` of zeroed linear memory that is never returned (tables, frames). The stub runtime's bump
 * pointer only moves down when its last block is freed, which nothing here does, so each block lies above all
 * earlier ones, in memory fresh from memory.grow: zero already, and left untouched.
 */
function rawAlloc(bytes: usize): usize {
  const p = heap.alloc(bytes);
  if (p < freshFrom) memory.fill(p, 0, bytes);
  if (p + bytes > freshFrom) freshFrom = p + bytes;
  return p;
}

/** Prepares the tables; called once by a model's `init`. */
export function vmInit(): void {
  if (l1 != 0) return;
  l1 = rawAlloc(TABLE_BYTES);
}

/** Linear address of the byte at virtual address `va`. */
// @ts-ignore: decorator
@inline export function lin(va: u64): usize {
  const l2 = <usize>load<u32>(l1 + (<usize>(va >> 32) << 2));
  const frame = <usize>load<u32>(l2 + (<usize>((va >> FRAME_BITS) & 0xffff) << 2));
  return frame + <usize>(va & 0xffff);
}

/** True when `va` lies in a mapped frame. */
export function vmIsMapped(va: u64): bool {
  const l2 = <usize>load<u32>(l1 + (<usize>(va >> 32) << 2));
  return <usize>load<u32>(l2 + (<usize>((va >> FRAME_BITS) & 0xffff) << 2)) != UNMAPPED;
}

function takeFrame(): usize {
  framesInUse++;
  if (freeFrames != 0) {
    const f = freeFrames;
    freeFrames = <usize>load<u32>(f);
    memory.fill(f, 0, FRAME_SIZE);
    return f;
  }
  return rawAlloc(FRAME_SIZE);
}

/** Backs every frame that overlaps [va, va + len) with zeroed linear memory (frames already mapped are kept). */
export function vmMap(va: u64, len: u64): void {
  if (len == 0) return;
  const first = va >> FRAME_BITS;
  const last = (va + len - 1) >> FRAME_BITS;
  for (let f = first; f <= last; f++) {
    const slot1 = l1 + (<usize>(f >> 16) << 2);
    let l2 = <usize>load<u32>(slot1);
    if (l2 == UNMAPPED) {
      l2 = rawAlloc(TABLE_BYTES);
      store<u32>(slot1, <u32>l2);
    }
    const slot2 = l2 + (<usize>(f & 0xffff) << 2);
    if (<usize>load<u32>(slot2) == UNMAPPED) store<u32>(slot2, <u32>takeFrame());
  }
}

/** Releases the frames that lie entirely inside [va, va + len); partial frames stay mapped. */
export function vmUnmap(va: u64, len: u64): void {
  if (len == 0) return;
  const first = (va + FRAME_SIZE - 1) >> FRAME_BITS;
  const end = (va + len) >> FRAME_BITS;
  for (let f = first; f < end; f++) {
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
    unchecked(journalPages[page] = rawAlloc(FRAME_SIZE));
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

function backFrame(va: u64): usize {
  vmMap(va, 1);
  return lin(va);
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
