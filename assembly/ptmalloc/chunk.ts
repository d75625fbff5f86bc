// Chunks: the unit glibc's malloc carves memory into. All addresses are simulated (see common/vmem.ts).
//
//   chunk ─► ╒═════════════════════════════════════════════╕
//            │ prev_size   (valid only if P of this is 0)  │ +0
//            ├─────────────────────────────────────┬─┬─┬─┤
//            │ size                                │A│M│P│ +8   A NON_MAIN_ARENA · M IS_MMAPPED · P PREV_INUSE
//   mem ──►  ├─────────────────────────────────────┴─┴─┴─┤
//            │ fd        (free) · tcache next · the program's bytes (in use)│ +16
//            │ bk        (free) · tcache key  · the program's bytes (in use)│ +24
//            │ fd_nextsize, bk_nextsize (free, large bins only)            │ +32, +40
//            ╘═════════════════════════════════════════════╛
//
// A free chunk of size S writes S into the prev_size of the chunk S bytes further (its footer).

import { ld64, st64 } from "../common/vmem";

export const SIZE_SZ: u64 = 8;
export const CHUNK_HDR_SZ: u64 = 16;
export const MINSIZE: u64 = 32;
export const MALLOC_ALIGN_MASK: u64 = 15;
export const PREV_INUSE: u64 = 1;
export const IS_MMAPPED: u64 = 2;
export const NON_MAIN_ARENA: u64 = 4;
export const SIZE_BITS: u64 = 7;
export const MIN_LARGE_SIZE: u64 = 0x400;
export const FASTBIN_CONSOLIDATION_THRESHOLD: u64 = 65536;
/** sizeof (struct malloc_chunk) */
export const MALLOC_CHUNK_SIZE: u64 = 48;
/** Largest request: PTRDIFF_MAX. */
export const PTRDIFF_MAX: u64 = 0x7fffffffffffffff;

// @ts-ignore: decorator
@inline export function sizeField(p: u64): u64 { return ld64(p + 8); }
// @ts-ignore: decorator
@inline export function chunkSize(p: u64): u64 { return ld64(p + 8) & ~SIZE_BITS; }
// @ts-ignore: decorator
@inline export function setHead(p: u64, v: u64): void { st64(p + 8, v); }
/** set_head_size: the size changes, the flag bits stay. */
// @ts-ignore: decorator
@inline export function setHeadSize(p: u64, s: u64): void { st64(p + 8, (ld64(p + 8) & SIZE_BITS) | s); }
// @ts-ignore: decorator
@inline export function prevSize(p: u64): u64 { return ld64(p); }
// @ts-ignore: decorator
@inline export function setPrevSize(p: u64, v: u64): void { st64(p, v); }
// @ts-ignore: decorator
@inline export function setFoot(p: u64, s: u64): void { st64(p + s, s); }
// @ts-ignore: decorator
@inline export function prevInuse(p: u64): bool { return (ld64(p + 8) & PREV_INUSE) != 0; }
// @ts-ignore: decorator
@inline export function isMmapped(p: u64): bool { return (ld64(p + 8) & IS_MMAPPED) != 0; }
// @ts-ignore: decorator
@inline export function isMainArenaChunk(p: u64): bool { return (ld64(p + 8) & NON_MAIN_ARENA) == 0; }
// @ts-ignore: decorator
@inline export function inuseBitAt(p: u64, s: u64): bool { return (ld64(p + s + 8) & PREV_INUSE) != 0; }
// @ts-ignore: decorator
@inline export function setInuseBitAt(p: u64, s: u64): void { st64(p + s + 8, ld64(p + s + 8) | PREV_INUSE); }
// @ts-ignore: decorator
@inline export function clearInuseBitAt(p: u64, s: u64): void { st64(p + s + 8, ld64(p + s + 8) & ~PREV_INUSE); }

// @ts-ignore: decorator
@inline export function fd(p: u64): u64 { return ld64(p + 16); }
// @ts-ignore: decorator
@inline export function bk(p: u64): u64 { return ld64(p + 24); }
// @ts-ignore: decorator
@inline export function fdNextsize(p: u64): u64 { return ld64(p + 32); }
// @ts-ignore: decorator
@inline export function bkNextsize(p: u64): u64 { return ld64(p + 40); }
// @ts-ignore: decorator
@inline export function setFd(p: u64, v: u64): void { st64(p + 16, v); }
// @ts-ignore: decorator
@inline export function setBk(p: u64, v: u64): void { st64(p + 24, v); }
// @ts-ignore: decorator
@inline export function setFdNextsize(p: u64, v: u64): void { st64(p + 32, v); }
// @ts-ignore: decorator
@inline export function setBkNextsize(p: u64, v: u64): void { st64(p + 40, v); }

// @ts-ignore: decorator
@inline export function chunk2mem(p: u64): u64 { return p + CHUNK_HDR_SZ; }
// @ts-ignore: decorator
@inline export function mem2chunk(m: u64): u64 { return m - CHUNK_HDR_SZ; }
// @ts-ignore: decorator
@inline export function misaligned(p: u64): bool { return (p & MALLOC_ALIGN_MASK) != 0; }

/** Safe-linking: PROTECT_PTR(pos, ptr). */
// @ts-ignore: decorator
@inline export function protectPtr(pos: u64, ptr: u64): u64 { return (pos >> 12) ^ ptr; }

/** request2size; the caller has already rejected requests above PTRDIFF_MAX. */
// @ts-ignore: decorator
@inline export function request2size(req: u64): u64 {
  return req + SIZE_SZ + MALLOC_ALIGN_MASK < MINSIZE ? MINSIZE : (req + SIZE_SZ + MALLOC_ALIGN_MASK) & ~MALLOC_ALIGN_MASK;
}

// @ts-ignore: decorator
@inline export function inSmallbinRange(sz: u64): bool { return sz < MIN_LARGE_SIZE; }

/** csize2tidx */
// @ts-ignore: decorator
@inline export function tcacheIndex(sz: u64): u64 { return (sz - MINSIZE + MALLOC_ALIGN_MASK) >> 4; }

// @ts-ignore: decorator
@inline export function fastbinIndex(sz: u64): u64 { return (sz >> 4) - 2; }

/** largebin_index_64 */
export function largebinIndex(sz: u64): u64 {
  if ((sz >> 6) <= 48) return 48 + (sz >> 6);
  if ((sz >> 9) <= 20) return 91 + (sz >> 9);
  if ((sz >> 12) <= 10) return 110 + (sz >> 12);
  if ((sz >> 15) <= 4) return 119 + (sz >> 15);
  if ((sz >> 18) <= 2) return 124 + (sz >> 18);
  return 126;
}
