// The `--addresses` lines of a replayed window, written in wasm from the trace columns (trace-objects.ts) and the
// results: `<seq> <op> <size> <where>`, byte for byte what src/lab/addresses.ts specifies, which writes the lines
// this file leaves to it. A trace of millions of ops then makes no JS work per line.
//
//   where = heap+0x… | mmap±0x… | main±0x… | arena<k>+0x… | null          (offsets in lowercase hex)
//   a malloc_trim op: `<seq> t <pad> <0|1>`
//
// Left to JS (`formatLines` stops before the op): a number beyond 2^53 (JS writes its exact digits from the
// trace's wide sizes), an arena not yet numbered (JS numbers it by first appearance and registers it with
// `linesArena`, so the arena's later lines are written here), a region tag no model names.
//
// Formatter state, kept across windows:
//
//   origins   first mmapped address · first main-mapped address   (0: none yet; JS may set them: `linesOrigin`)
//   arenas    arena k → (number shown, first heap address), for k < MAX_ARENAS

import {
  OP_FREE, OP_TRIM, OP_CALLOC, OP_MEMALIGN, OP_ALIGNED_ALLOC, OP_POSIX_MEMALIGN, RESULT_SLOTS, REGION_HEAP, REGION_MMAP,
  REGION_MAIN_MAPPED, REGION_ARENA,
} from "./ops";
import { column, opCode, opSkipped, COLUMN_A, COLUMN_B, COLUMN_SEQ } from "./trace-objects";

/** Arenas whose lines are written here; later ones go to JS. */
const MAX_ARENAS: i32 = 1024;
const SAFE: f64 = 9007199254740991;

let firstMmap: f64 = 0;
let firstMainMapped: f64 = 0;
/** Arena k: [2k] the number its lines show (0: not yet numbered), [2k + 1] its first heap's address. */
const arenas = new StaticArray<f64>(2 * MAX_ARENAS);

/** Forgets the origins and arena numbers: a new output starts. */
export function linesReset(): void {
  firstMmap = 0;
  firstMainMapped = 0;
  for (let k = 0; k < 2 * MAX_ARENAS; k++) unchecked(arenas[k] = 0);
}

/** The first mmapped (which 0) or main-mapped (which 1) address an output showed, 0 when none yet. */
export function linesOrigin(which: i32): f64 {
  return which == 0 ? firstMmap : firstMainMapped;
}

/** Sets an origin (see linesOrigin): JS wrote the line that showed it first. */
export function setLinesOrigin(which: i32, address: f64): void {
  if (which == 0) firstMmap = address;
  else firstMainMapped = address;
}

/** Arena `k` is shown as arena<`shown`>, its offsets from `base`. */
export function linesArena(k: i32, shown: f64, base: f64): void {
  if (k < 0 || k >= MAX_ARENAS) return;
  unchecked(arenas[2 * k] = shown);
  unchecked(arenas[2 * k + 1] = base);
}

// ── writers: each writes at `at` and returns the position after what it wrote ─────────────────────────────

// @ts-ignore: decorator
@inline function putByte(at: usize, c: i32): usize {
  store<u8>(at, <u8>c);
  return at + 1;
}

/** The decimal digits of `v` (below 2^53). */
function putDecimal(at: usize, v: u64): usize {
  if (v <= 0xffffffff) return putDigits(at, <u32>v, decimalCount32(<u32>v));
  // Below 2^53, the digits above the last nine fit in 32 bits.
  const high = <u32>(v / 1000000000);
  at = putDigits(at, high, decimalCount32(high));
  return putDigits(at, <u32>(v % 1000000000), 9);
}

/** The last `digits` decimal digits of `v`, zeros in front. */
function putDigits(at: usize, v: u32, digits: u32): usize {
  const end = at + <usize>digits;
  for (let p = end; p > at;) {
    store<u8>(--p, <u8>(48 + v % 10));
    v /= 10;
  }
  return end;
}

// @ts-ignore: decorator
@inline function decimalCount32(v: u32): u32 {
  if (v < 100000) return v < 100 ? (v < 10 ? 1 : 2) : v < 1000 ? 3 : v < 10000 ? 4 : 5;
  return v < 10000000 ? (v < 1000000 ? 6 : 7) : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
}

/** The lowercase hex digits of `v`. */
function putHex(at: usize, v: u64): usize {
  const digits: usize = v == 0 ? 1 : <usize>((<u64>67 - clz(v)) >> 2);
  let p = at + digits;
  do {
    const d = <i32>(v & 15);
    store<u8>(--p, <u8>(d < 10 ? 48 + d : 87 + d));
    v >>= 4;
  } while (v != 0);
  return at + digits;
}

/** +0x… or -0x… of `delta`. */
function putOffset(at: usize, delta: f64): usize {
  at = putByte(at, delta < 0 ? 45 : 43);
  at = putByte(at, 48);
  at = putByte(at, 120);
  return putHex(at, <u64>Math.abs(delta));
}

/** `word` (four letters) followed by the offset `delta`. */
function putPlace(at: usize, word: u32, delta: f64): usize {
  store<u32>(at, word); // four ASCII letters, little-endian
  return putOffset(at + 4, delta);
}

// "heap", "mmap", "main", "null" as little-endian u32s
const HEAP: u32 = 0x70616568;
const MMAP: u32 = 0x70616d6d;
const MAIN: u32 = 0x6e69616d;
const NULL: u32 = 0x6c6c756e;
const ARENA: u64 = 0x616e657261; // "arena"

/** The letters of the trace op codes 1…10 (src/trace/types.ts LETTER_OF_CODE), "?" for others. */
const LETTERS = "?mcrfaAPvVt";

/** The bytes a program asked for in op `i` (calloc's product); a value beyond SAFE when JS must write it. */
// @ts-ignore: decorator
@inline function requested(code: i32, i: i32): f64 {
  if (code == OP_CALLOC) return column(COLUMN_A, i) * column(COLUMN_B, i);
  if (code == OP_MEMALIGN || code == OP_ALIGNED_ALLOC || code == OP_POSIX_MEMALIGN) return column(COLUMN_B, i);
  return column(COLUMN_A, i);
}

/**
 * Writes the line of op `i` (its results at `result`) at `at`; returns the position after it, `at` itself for an
 * op without a line, or 0 when the line is JS's to write.
 */
function formatLine(at: usize, i: i32, result: usize, heapBase: f64): usize {
  const code = opCode(i);
  if (code == OP_FREE || opSkipped(i)) return at;
  const seq = column(COLUMN_SEQ, i);
  const size = code == OP_TRIM ? column(COLUMN_A, i) : requested(code, i);
  if (!(seq >= 0 && seq <= SAFE && size >= 0 && size <= SAFE && seq == Math.floor(seq) && size == Math.floor(size))) {
    return 0;
  }
  const address = load<f64>(result);
  const region = <i32>load<f64>(result, 8);
  let p = putDecimal(at, <u64>seq);
  p = putByte(p, 32);
  p = putByte(p, code >= 1 && code <= 10 ? LETTERS.charCodeAt(code) : 63);
  p = putByte(p, 32);
  p = putDecimal(p, <u64>size);
  p = putByte(p, 32);
  if (code == OP_TRIM) {
    p = putDecimal(p, <u64>address);
  } else if (address == 0) {
    store<u32>(p, NULL);
    p += 4;
  } else if (region == REGION_HEAP) {
    p = putPlace(p, HEAP, address - heapBase);
  } else if (region == REGION_MMAP) {
    if (firstMmap == 0) firstMmap = address;
    p = putPlace(p, MMAP, address - firstMmap);
  } else if (region == REGION_MAIN_MAPPED) {
    if (firstMainMapped == 0) firstMainMapped = address;
    p = putPlace(p, MAIN, address - firstMainMapped);
  } else if (region >= REGION_ARENA && region - REGION_ARENA < MAX_ARENAS
    && unchecked(arenas[2 * (region - REGION_ARENA)]) > 0) {
    const k = region - REGION_ARENA;
    store<u64>(p, ARENA); // "arena" and three bytes the number overwrites
    p = putDecimal(p + 5, <u64>unchecked(arenas[2 * k]));
    p = putOffset(p, address - unchecked(arenas[2 * k + 1]));
  } else {
    return 0;
  }
  return putByte(p, 10);
}

let written: usize = 0;

/**
 * Writes the lines of window ops [from, count) at `out` (room for ops.ts's LINE_ROOM bytes per op), results at `results`
 * (RESULT_SLOTS per op, op 0 first); stops before an op whose line is JS's to write. Returns the op it stopped at
 * (`count` when none); `linesWritten` tells the bytes.
 */
export function formatLines(from: i32, count: i32, heapBase: f64, results: usize, out: usize): i32 {
  let p = out;
  let i = from;
  for (; i < count; i++) {
    const next = formatLine(p, i, results + (<usize>(i * RESULT_SLOTS) << 3), heapBase);
    if (next == 0) break;
    p = next;
  }
  written = p - out;
  return i;
}

/** Bytes the last `formatLines` wrote. */
export function linesWritten(): i32 {
  return <i32>written;
}
