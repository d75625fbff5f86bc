// The simulated mmap area: Linux's top-down allocator below `mmap_base`. A new mapping takes the highest gap
// that fits; munmap leaves holes that later mappings reuse; mremap grows in place when the space above is free.
//
// Mapping records, sorted by address, at MAPS_BASE (count in the P_MAPPINGS parameter):
//
//   ╒═══════════╤═══════════╤══════════════════════╤═══════════════╤══════════════╤════════╕
//   │ start u64 │ length u64│ chunk (mmapped chunk)│ requested u64 │ object + 1   │ kind   │
//   ╘═══════════╧═══════════╧══════════════════════╧═══════════════╧══════════════╧════════╛
//     +0          +8          +16                    +24             +32            +40
//
// Only the first frame of a mapping is backed by simulated memory: a mmapped chunk's header lives there, and an
// arena heap backs its pages as it grows (see arena.ts).

import { ld64, st64, vmMap } from "../common/vmem";
import { MAPS_BASE, P_MAPPINGS, P_BRK, PAGE, param, setParam, mmapBaseAddress, alignUp } from "./params";

export const MAP_CHUNK: u64 = 1;
export const MAP_HEAP: u64 = 2;
/** Main-arena space mapped because the break could not move (sysmalloc's mmap as morecore); never unmapped. */
export const MAP_MAIN: u64 = 3;
export const MAP_RECORD: u64 = 48;

let recordsMapped: u64 = 0;

// @ts-ignore: decorator
@inline export function mapCount(): u64 { return param(P_MAPPINGS); }
// @ts-ignore: decorator
@inline export function mapRecord(i: u64): u64 { return MAPS_BASE + i * MAP_RECORD; }
// @ts-ignore: decorator
@inline export function mapStart(i: u64): u64 { return ld64(mapRecord(i)); }
// @ts-ignore: decorator
@inline export function mapLength(i: u64): u64 { return ld64(mapRecord(i) + 8); }
// @ts-ignore: decorator
@inline export function mapChunk(i: u64): u64 { return ld64(mapRecord(i) + 16); }
// @ts-ignore: decorator
@inline export function mapRequested(i: u64): u64 { return ld64(mapRecord(i) + 24); }
// @ts-ignore: decorator
@inline export function mapObject(i: u64): u64 { return ld64(mapRecord(i) + 32); }
// @ts-ignore: decorator
@inline export function mapKind(i: u64): u64 { return ld64(mapRecord(i) + 40); }

/** Lowest address a mapping may take: the page above the program break. */
// @ts-ignore: decorator
@inline function floorAddress(): u64 { return alignUp(param(P_BRK), PAGE); }

/** Lowest mapped address (mmap_base when nothing is mapped): the ceiling of brk growth. */
export function lowestMapping(): u64 {
  return mapCount() == 0 ? mmapBaseAddress : mapStart(0);
}

/** Index of the mapping that contains `va`, or -1. */
export function mapIndexAt(va: u64): i64 {
  let lo: i64 = 0;
  let hi: i64 = <i64>mapCount() - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = mapStart(<u64>mid);
    if (va < s) hi = mid - 1;
    else if (va - s >= mapLength(<u64>mid)) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** Index of the mapping that starts at `start`, or -1. */
export function mapIndexOf(start: u64): i64 {
  let lo: i64 = 0;
  let hi: i64 = <i64>mapCount() - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = mapStart(<u64>mid);
    if (s == start) return mid;
    if (s < start) lo = mid + 1; else hi = mid - 1;
  }
  return -1;
}

/** get_unmapped_area, top-down: the highest `len`-byte gap; 0 when none fits. */
export function findGap(len: u64): u64 {
  if (len == 0) return 0;
  let upper = mmapBaseAddress;
  for (let i = <i64>mapCount() - 1; i >= 0; i--) {
    const end = mapStart(<u64>i) + mapLength(<u64>i);
    if (end <= upper && upper - end >= len) return upper - len;
    const s = mapStart(<u64>i);
    if (s < upper) upper = s;
  }
  const floor = floorAddress();
  if (upper > floor && upper - floor >= len) return upper - len;
  return 0;
}

/** True when [start, start + len) overlaps no mapping, the brk heap or the region above mmap_base. */
export function rangeFree(start: u64, len: u64): bool {
  if (start < floorAddress() || start + len < start || start + len > mmapBaseAddress) return false;
  for (let i: u64 = 0, n = mapCount(); i < n; i++) {
    const s = mapStart(i);
    if (s < start + len && start < s + mapLength(i)) return false;
  }
  return true;
}

function ensureRecords(n: u64): void {
  const need = n * MAP_RECORD;
  if (need <= recordsMapped) return;
  const grown = (need + 0xffff) & ~(<u64>0xffff);
  vmMap(MAPS_BASE + recordsMapped, grown - recordsMapped);
  recordsMapped = grown;
}

/** Records a new mapping; returns its index. */
export function mapInsert(start: u64, len: u64, chunk: u64, kind: u64): u64 {
  const n = mapCount();
  ensureRecords(n + 1);
  let i = n;
  while (i > 0 && mapStart(i - 1) > start) {
    copyRecord(i, i - 1);
    i--;
  }
  const r = mapRecord(i);
  st64(r, start);
  st64(r + 8, len);
  st64(r + 16, chunk);
  st64(r + 24, 0);
  st64(r + 32, 0);
  st64(r + 40, kind);
  setParam(P_MAPPINGS, n + 1);
  vmMap(start, 64);
  return i;
}

/** Forgets mapping `i`. */
export function mapRemove(i: u64): void {
  const n = mapCount();
  for (let j = i; j + 1 < n; j++) copyRecord(j, j + 1);
  setParam(P_MAPPINGS, n - 1);
}

function copyRecord(to: u64, from: u64): void {
  const a = mapRecord(to);
  const b = mapRecord(from);
  for (let k: u64 = 0; k < MAP_RECORD; k += 8) st64(a + k, ld64(b + k));
}

/** Moves the start of mapping `i` up (its front was unmapped); the records stay in address order. */
// @ts-ignore: decorator
@inline export function setMapStart(i: u64, start: u64): void { st64(mapRecord(i), start); }
// @ts-ignore: decorator
@inline export function setMapLength(i: u64, len: u64): void { st64(mapRecord(i) + 8, len); }
// @ts-ignore: decorator
@inline export function setMapChunk(i: u64, chunk: u64): void { st64(mapRecord(i) + 16, chunk); }
// @ts-ignore: decorator
@inline export function setMapNotes(i: u64, requested: u64, objectPlusOne: u64): void {
  st64(mapRecord(i) + 24, requested);
  st64(mapRecord(i) + 32, objectPlusOne);
}

/** The room above mapping `i` up to the next mapping (or mmap_base). */
export function roomAbove(i: u64): u64 {
  const end = mapStart(i) + mapLength(i);
  const next = i + 1 < mapCount() ? mapStart(i + 1) : mmapBaseAddress;
  return next > end ? next - end : 0;
}
