// Per-object notes of the model (not of the library), kept in the first word of each allocated object: the
// program's data is not modelled, so that word is free while the object is allocated, and it becomes the
// free-list link once the object is freed. Links are addresses below 2^48 (or 0), so the tag bit tells an
// allocated object from a free one.
//
//   first word of an allocated object
//   ╒═════╤═════╤══════════════════════════════════════════════════════════════╕
//   │ tag │ raw │ object id + 1            (the object table holds its request) │
//   │ 63  │ 62  │ requested bytes          (raw: an allocation without object)  │
//   ╘═════╧═════╧══════════════════════════════════════════════════════════════╛
//
// The notes also keep running totals of the requested and usable bytes of the objects of the trace (raw
// allocations excluded), so that the footprint decomposes without a heap walk.

import { vmMap, vmIsMapped, ld64, st64 } from "../common/vmem";
import { objectRequested, setObjectRequested } from "../common/ops";
import { gadd, G_LIVE_REQUESTED, G_LIVE_USABLE } from "./globals";

// @ts-ignore: decorator
@inline const TAG: u64 = <u64>1 << 63;
// @ts-ignore: decorator
@inline const RAW: u64 = <u64>1 << 62;
// @ts-ignore: decorator
@inline const VALUE: u64 = RAW - 1;

/** Takes the object whose note is `word` (`usable` bytes) out of the running totals. */
// @ts-ignore: decorator
@inline function uncount(word: u64, usable: u64): void {
  if ((word & (TAG | RAW)) != TAG) return;
  gadd(G_LIVE_REQUESTED, 0 - objectRequested(<i64>(word & VALUE) - 1));
  gadd(G_LIVE_USABLE, 0 - usable);
}

/** Marks `address` (`usable` bytes) allocated for `requested` bytes by object `object` (-1: none). */
export function noteAllocated(address: u64, requested: u64, object: i64, usable: u64): void {
  if (!vmIsMapped(address)) vmMap(address, 8); // the first page of a large span
  uncount(ld64(address), usable); // realloc in place: the object's previous request
  if (object >= 0) {
    st64(address, TAG | <u64>(object + 1));
    setObjectRequested(object, requested);
    gadd(G_LIVE_REQUESTED, requested);
    gadd(G_LIVE_USABLE, usable);
  } else {
    st64(address, TAG | RAW | (requested & VALUE));
  }
}

/** Marks `address` (`usable` bytes) free; a small object's link then overwrites the word, a large span keeps 0. */
export function noteFreed(address: u64, usable: u64): void {
  uncount(ld64(address), usable);
  st64(address, 0);
}

/** True when `address` is the start of an allocated object. */
export function isAllocated(address: u64): bool {
  return vmIsMapped(address) && (ld64(address) & TAG) != 0;
}

/** Bytes requested for the allocated object at `address`. */
export function noteRequested(address: u64): u64 {
  const word = ld64(address);
  return (word & RAW) != 0 ? word & VALUE : objectRequested(<i64>(word & VALUE) - 1);
}

/** The object id of the allocated object at `address` (-1 when none). */
export function noteObject(address: u64): i64 {
  const word = ld64(address);
  return (word & RAW) != 0 ? -1 : <i64>(word & VALUE) - 1;
}
