// The ledger: running totals of where the footprint sits, kept as chunks change hands (handed to the program, put
// on a free list, taken off one), so that decomposing the footprint costs O(arenas) at any operation instead of a
// walk of every heap. A report decomposes at every new peak and every timeline sample; a heap that keeps growing
// has a new peak at almost every op, so a walk there would cost O(ops × chunks).
//
//   LEDGER_BASE (u64 each, inside the parameter frame, so the journal undoes them with the heap)
//   ╒══════╤════════════════╤══════════════════════════════════════════════════════════════╕
//   │ +0   │ heap requested │ bytes the program asked for, in allocated heap chunks         │
//   │ +8   │ heap bytes     │ those chunks' sizes                                          │
//   │ +16  │ heap chunks    │ how many                                                     │
//   │ +24  │ mmap requested │ the same for mmapped chunks                                  │
//   │ +32  │ mmap bytes     │                                                              │
//   │ +40  │ mmap chunks    │                                                              │
//   │ +48  │ free bytes     │ one word per list: tcache, fastbins, unsorted, small, large  │
//   ╘══════╧════════════════╧══════════════════════════════════════════════════════════════╛
//
// "Allocated" means held by a trace object, as the heap walk counts it (walk.ts): blocks of interactive calls
// and the tcache structure are the allocator's, and fall into the metadata part with the other unaccounted bytes.
//
// unlink_chunk takes a chunk out of whichever bin holds it, and a chunk of a given size may sit in the unsorted bin
// or in the bin its size selects. So the ledger marks unsorted chunks, one bit per 16-byte granule of the address
// space (chunk addresses are 16-aligned and below 2^47):
//
//   UNSORTED_BITS_BASE + (chunk >> 7), bit (chunk >> 4) & 7 — set while the chunk is in an unsorted bin

import { ld64, st64, ld8, st8, vmMap } from "../common/vmem";
import { objectAddress, objectRequested } from "../common/ops";
import { chunkSize, prevSize, isMmapped, mem2chunk, inSmallbinRange } from "./chunk";
import { PARAMS_BASE } from "./params";
import { mapIndexOf, mapRequested, mapObject } from "./mmap";

const LEDGER_BASE: u64 = PARAMS_BASE + 0x400;
const UNSORTED_BITS_BASE: u64 = 0xf000_0000_0000;

const L_HEAP_REQUESTED: u64 = 0;
const L_HEAP_BYTES: u64 = 8;
const L_HEAP_CHUNKS: u64 = 16;
const L_MMAP_REQUESTED: u64 = 24;
const L_MMAP_BYTES: u64 = 32;
const L_MMAP_CHUNKS: u64 = 40;

/** The free lists the ledger counts, in the order of the decomposition's parts. */
export const LIST_TCACHE: u64 = 0;
export const LIST_FASTBINS: u64 = 1;
export const LIST_UNSORTED: u64 = 2;
export const LIST_SMALL: u64 = 3;
export const LIST_LARGE: u64 = 4;
export const LIST_COUNT: i32 = 5;

// @ts-ignore: decorator
@inline function slot(field: u64): u64 { return LEDGER_BASE + field; }
// @ts-ignore: decorator
@inline function add(field: u64, delta: u64): void { st64(slot(field), ld64(slot(field)) + delta); }

/** One of the ledger's totals (the `L_*` and list words). */
// @ts-ignore: decorator
@inline export function ledgerWord(field: u64): u64 { return ld64(slot(field)); }

/** Free bytes on list `list` (LIST_*). */
// @ts-ignore: decorator
@inline export function listBytes(list: u64): u64 { return ld64(slot(48 + (list << 3))); }

// ── free lists ───────────────────────────────────────────────────────────────────────────────────────────

/** Chunk `p` of `size` bytes joined list `list`. */
// @ts-ignore: decorator
@inline export function listed(list: u64, size: u64): void { add(48 + (list << 3), size); }

/** Chunk of `size` bytes left list `list`. */
// @ts-ignore: decorator
@inline export function delisted(list: u64, size: u64): void { add(48 + (list << 3), 0 - size); }

// @ts-ignore: decorator
@inline function unsortedByte(p: u64): u64 { return UNSORTED_BITS_BASE + (p >> 7); }
// @ts-ignore: decorator
@inline function unsortedBit(p: u64): u8 { return <u8>1 << <u8>((p >> 4) & 7); }

/**
 * Backs the unsorted marks of [start, start + len) when the heap grows there, so that marking a chunk later never
 * needs memory the wasm instance may no longer have (1/128 of the heap).
 */
export function ledgerCover(start: u64, len: u64): void {
  vmMap(unsortedByte(start), (len >> 7) + 1);
}

/** Free chunk `p` of `size` bytes joined an unsorted bin. */
export function listedUnsorted(p: u64, size: u64): void {
  listed(LIST_UNSORTED, size);
  const at = unsortedByte(p);
  st8(at, ld8(at) | unsortedBit(p));
}

/** Free chunk `p` of `size` bytes left an unsorted bin. */
export function delistedUnsorted(p: u64, size: u64): void {
  delisted(LIST_UNSORTED, size);
  const at = unsortedByte(p);
  st8(at, ld8(at) & ~unsortedBit(p));
}

/** Free chunk `p` was put in the bin its size selects (placeInBin). */
export function listedSorted(size: u64): void {
  listed(inSmallbinRange(size) ? LIST_SMALL : LIST_LARGE, size);
}

/** unlink_chunk took free chunk `p` out of its bin, unsorted or sorted. */
export function unlinked(p: u64): void {
  const size = chunkSize(p);
  if ((ld8(unsortedByte(p)) & unsortedBit(p)) != 0) delistedUnsorted(p, size);
  else delisted(inSmallbinRange(size) ? LIST_SMALL : LIST_LARGE, size);
}

// ── blocks held by the program ───────────────────────────────────────────────────────────────────────────

/** Index of the mapping record of mmapped chunk `p`, or -1. */
// @ts-ignore: decorator
@inline function mappingOf(p: u64): i64 { return mapIndexOf(p - prevSize(p)); }

/** The block at `mem` (a heap chunk) was handed to a trace object that asked for `requested` bytes. */
function ownHeap(p: u64, requested: u64, sign: u64): void {
  add(L_HEAP_REQUESTED, requested * sign);
  add(L_HEAP_BYTES, chunkSize(p) * sign);
  add(L_HEAP_CHUNKS, sign);
}

function ownMmapped(p: u64, requested: u64, sign: u64): void {
  add(L_MMAP_REQUESTED, requested * sign);
  add(L_MMAP_BYTES, chunkSize(p) * sign);
  add(L_MMAP_CHUNKS, sign);
}

/** Counts the block at `mem` as a trace object's, `requested` bytes asked for (after its notes are written). */
export function ledgerOwn(mem: u64, requested: u64): void {
  const p = mem2chunk(mem);
  if (!isMmapped(p)) {
    ownHeap(p, requested, 1);
  } else if (mappingOf(p) >= 0) {
    ownMmapped(p, requested, 1);
  }
}

/**
 * Stops counting the block at `mem` as object `object`'s, before it is freed or reallocated; returns the bytes the
 * object had asked for. A block the ledger never counted (an interactive call's, or one `object` does not hold)
 * changes nothing: -1.
 */
export function ledgerDisown(mem: u64, object: i64): i64 {
  const p = mem2chunk(mem);
  if (isMmapped(p)) {
    const i = mappingOf(p);
    if (i < 0 || mapObject(<u64>i) == 0) return -1;
    const requested = mapRequested(<u64>i);
    ownMmapped(p, requested, <u64>-1);
    return <i64>requested;
  }
  if (object < 0 || objectAddress(object) != mem) return -1;
  const requested = objectRequested(object);
  ownHeap(p, requested, <u64>-1);
  return <i64>requested;
}

/** Bytes asked for, chunk bytes and chunk count of the program's heap (`mmapped` false) or mmapped blocks. */
export function ownedRequested(mmapped: bool): u64 { return ledgerWord(mmapped ? L_MMAP_REQUESTED : L_HEAP_REQUESTED); }
export function ownedBytes(mmapped: bool): u64 { return ledgerWord(mmapped ? L_MMAP_BYTES : L_HEAP_BYTES); }
export function ownedChunks(mmapped: bool): u64 { return ledgerWord(mmapped ? L_MMAP_CHUNKS : L_HEAP_CHUNKS); }
