// Arenas (arena.c): memory reserved up front with MIMALLOC_RESERVE_OS_MEMORY, handed out in blocks of one segment
// size. Segments (and huge segments) of at least half a block come from the arena first, at the lowest run of free
// blocks; a freed huge segment's blocks are reused at once, where without an arena its address is never hinted
// again. What the arena cannot serve goes to the OS, unless MIMALLOC_LIMIT_OS_ALLOC forbids it.
//
//   arena (reserved at start-up, hinted like a segment: the first blocks of aligned_base)
//   ┌──────────┬──────────┬──────────┬──────────┬──────────┬─────
//   │ block 0  │ block 1  │ block 2  │ block 3  │ block 4  │ …        32 MiB each; in use: one bit each
//   └──────────┴──────────┴──────────┴──────────┴──────────┴─────
//   ARENA_BITS: the in-use bitmap, one u64 per 64 blocks (runs never span two words, as mimalloc's search)

import { ld64, st64 } from "../common/vmem";
import { gld, gst, STATICS_BASE, G_ARENA_START, G_ARENA_BLOCKS } from "./globals";
import { SEGMENT_SIZE, alignUp, osAllocAligned, osAllocAlignedOffset, osFreeAligned } from "./os";

// @ts-ignore: decorator
@inline const ARENA_BITS: u64 = STATICS_BASE + 0x100000;
// @ts-ignore: decorator
@inline const BLOCK: u64 = SEGMENT_SIZE;
/** 64 bitmap words: arenas of up to 4096 blocks (128 GiB). */
// @ts-ignore: decorator
@inline const MAX_BLOCKS: u64 = 64 * 64;

/** MIMALLOC_RESERVE_OS_MEMORY, in KiB as mimalloc keeps it (0: no arena). */
let reserveKiB: u64 = 0;
/** MIMALLOC_LIMIT_OS_ALLOC: only the arena serves; every other OS allocation fails. */
let limitOsAlloc: bool = false;

/** MIMALLOC_RESERVE_OS_MEMORY=<bytes>: a number without a unit is bytes, kept in KiB rounded up. */
export function setReserveBytes(bytes: u64): bool {
  const kib = (bytes + 1023) >> 10;
  if (alignUp(kib << 10, BLOCK) / BLOCK > MAX_BLOCKS) return false;
  reserveKiB = kib;
  return true;
}

/** MIMALLOC_LIMIT_OS_ALLOC. */
export function setLimitOsAlloc(on: bool): void {
  limitOsAlloc = on;
}

/** mi_reserve_os_memory at process start (committed, like mimalloc's own start-up call). */
export function arenaInit(): void {
  if (reserveKiB == 0) return;
  const size = alignUp(reserveKiB << 10, BLOCK);
  const start = osAllocAligned(size, SEGMENT_SIZE);
  if (start == 0) return;
  gst(G_ARENA_START, start);
  const blocks = size / BLOCK;
  gst(G_ARENA_BLOCKS, blocks);
  // the bits past the last block stay claimed forever
  const words = (blocks + 63) / 64;
  const post = words * 64 - blocks;
  if (post > 0) st64(ARENA_BITS + (words - 1) * 8, ~((<u64>-1) >> post));
}

/** The lowest run of `n` free blocks inside one bitmap word, claimed; its first block index, or -1. */
function claimRun(n: u64): i64 {
  if (n > 64) return -1;
  const words = (gld(G_ARENA_BLOCKS) + 63) / 64;
  const mask = n == 64 ? <u64>-1 : ((<u64>1 << n) - 1);
  for (let w: u64 = 0; w < words; w++) {
    const bits = ld64(ARENA_BITS + w * 8);
    for (let b: u64 = 0; b + n <= 64; b++) {
      if ((bits & (mask << b)) != 0) continue;
      st64(ARENA_BITS + w * 8, bits | (mask << b));
      return <i64>(w * 64 + b);
    }
  }
  return -1;
}

/** _mi_arena_alloc_aligned: from the arena when large enough and plainly aligned, else from the OS. */
export function arenaAllocAligned(size: u64, alignment: u64, alignOffset: u64): u64 {
  if (gld(G_ARENA_BLOCKS) != 0 && size >= BLOCK / 2 && alignment <= SEGMENT_SIZE && alignOffset == 0) {
    const first = claimRun((size + BLOCK - 1) / BLOCK);
    if (first >= 0) return gld(G_ARENA_START) + <u64>first * BLOCK;
  }
  if (limitOsAlloc) return 0;
  return osAllocAlignedOffset(size, alignment, alignOffset);
}

/** _mi_arena_free: arena blocks are released to the arena, anything else unmapped. */
export function arenaFree(p: u64, size: u64, alignment: u64, alignOffset: u64): void {
  const start = gld(G_ARENA_START);
  if (start != 0 && p >= start && p < start + gld(G_ARENA_BLOCKS) * BLOCK) {
    const first = (p - start) / BLOCK;
    const n = (size + BLOCK - 1) / BLOCK;
    const at = ARENA_BITS + (first / 64) * 8;
    const mask = (n == 64 ? <u64>-1 : ((<u64>1 << n) - 1)) << (first % 64);
    st64(at, ld64(at) & ~mask);
    return;
  }
  osFreeAligned(p, size, alignment, alignOffset);
}
