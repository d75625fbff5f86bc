// Per-object notes of the model (not of the library): the requested size and the object id of each allocated
// object, in a side table in simulated memory so that the journal covers them and the heap is not disturbed.
//
//   NOTES_BASE + (address − heap start) × 2, for every 8-byte granule that starts an object
//   ╒════════════════════╤══════════════════════════════════════════╕
//   │ requested bytes    │ ALLOCATED flag (bit 63) │ object id + 1  │
//   ╘════════════════════╧══════════════════════════════════════════╛

import { vmMap, vmIsMapped, ld64, st64 } from "../common/vmem";
import { gld, G_HEAP_START } from "./globals";

const NOTES_BASE: u64 = 0x9000_0000_0000;
// @ts-ignore: decorator
@inline const ALLOCATED: u64 = <u64>1 << 63;

// @ts-ignore: decorator
@inline function noteAt(address: u64): u64 {
  return NOTES_BASE + ((address - gld(G_HEAP_START)) << 1);
}

/** Marks `address` allocated for `requested` bytes by object `object` (-1: none). */
export function noteAllocated(address: u64, requested: u64, object: i64): void {
  const at = noteAt(address);
  vmMap(at, 16);
  st64(at, requested);
  st64(at + 8, ALLOCATED | <u64>(object + 1));
}

/** Marks `address` free. */
export function noteFreed(address: u64): void {
  const at = noteAt(address);
  st64(at + 8, 0);
}

/** True when `address` is the start of an allocated object. */
export function isAllocated(address: u64): bool {
  if (address < gld(G_HEAP_START)) return false;
  const at = noteAt(address);
  if (!vmIsMapped(at)) return false;
  return (ld64(at + 8) & ALLOCATED) != 0;
}

export function noteRequested(address: u64): u64 {
  return ld64(noteAt(address));
}

/** The object id of an allocated object (-1 when none). */
export function noteObject(address: u64): i64 {
  return <i64>(ld64(noteAt(address) + 8) & ~ALLOCATED) - 1;
}
