// The kernel's side of pages.c: where Linux 6.x places jemalloc's anonymous mappings. jemalloc maps all its
// memory with mmap (base blocks, extent growth, and without opt.retain each extent on its own) and unmaps only
// without opt.retain, so every placement is the kernel's top-down search for the highest gap below mmap_base:
//
//   higher addresses ─────────────────────────────────────────────────────────────────────────────► lower
//   ┌──────────────────────────────┬──────────────────┬──────────────┬──────────────┬───────────────────┐
//   │ libraries, holes between them│ base block (2 MiB)│ extent grow │ base block   │ … next mapping    │
//   └──────────────────────────────┴──────────────────┴──────────────┴──────────────┴───────────────────┘
//   MMAP_BASE                      mmapTop: the lowest library address
//
// Until the program's mappings are given (reserveMapping: the replayer's --maps, taken when the replay begins),
// [mmapTop, MMAP_BASE) counts as one mapping: the libraries. Once they are known, the holes between them are
// gaps like any other — too small for 2 MiB blocks, but the small mappings of extents without opt.retain land
// there first.
//
// A length that is a multiple of 2 MiB is placed THP-aligned: the kernel searches for length + 2 MiB and, top
// down, returns the highest 2 MiB boundary that leaves `length` below the gap's end (thp_get_unmapped_area);
// without such a gap it falls back to the plain search. The table holds (start, end) pairs, sorted by start.
//
//   MAPS_BASE + 16 × i
//   ╒═════════════════╤═════════════════╕
//   │ start     (u64) │ end       (u64) │
//   ╘═════════════════╧═════════════════╛

import { ld64, st64 } from "../common/vmem";
import { count, SYS_MMAP, SYS_MUNMAP } from "../common/counters";
import { MAPS_BASE, MAPS_MAX, G_MAP_COUNT, G_MAPPED, G_LIBRARIES_KNOWN, gld, gst, gadd } from "./globals";
import { HUGEPAGE } from "./sz";

/** The lowest address below which the kernel places new mappings (the libraries sit above it). */
let mmapTop: u64 = 0x7fff_f760_0000;
/** mmap_min_addr and the program's own mappings: nothing goes below. */
const MMAP_FLOOR: u64 = 0x1000_0000;
/** mmap_base without ASLR: the top of the address space less the 128 MiB the kernel keeps for the stack. */
const MMAP_BASE: u64 = 0x7fff_f7ff_f000;

/** The `mmap_top` option: the lowest library address, below which mappings go. */
export function setMmapTop(top: u64): void {
  mmapTop = top;
}

/** The `mmap_top` option's value. */
export function getMmapTop(): u64 {
  return mmapTop;
}

// @ts-ignore: decorator
@inline function mapStart(i: u64): u64 {
  return ld64(MAPS_BASE + (i << 4));
}

// @ts-ignore: decorator
@inline function mapEnd(i: u64): u64 {
  return ld64(MAPS_BASE + (i << 4) + 8);
}

// @ts-ignore: decorator
@inline function setMap(i: u64, start: u64, end: u64): void {
  st64(MAPS_BASE + (i << 4), start);
  st64(MAPS_BASE + (i << 4) + 8, end);
}

/** Inserts [start, end) into the sorted table. */
function insertMap(start: u64, end: u64): void {
  const n = gld(G_MAP_COUNT);
  if (n >= MAPS_MAX) return; // beyond the table the model stops tracking holes; placements stay top-down
  let i = n;
  while (i > 0 && mapStart(i - 1) > start) {
    setMap(i, mapStart(i - 1), mapEnd(i - 1));
    i--;
  }
  setMap(i, start, end);
  gst(G_MAP_COUNT, n + 1);
}

/** Takes the table entry [start, end) out. */
function removeMap(start: u64, end: u64): void {
  const n = gld(G_MAP_COUNT);
  for (let i: u64 = 0; i < n; i++) {
    if (mapStart(i) != start || mapEnd(i) != end) continue;
    for (let j = i; j + 1 < n; j++) setMap(j, mapStart(j + 1), mapEnd(j + 1));
    gst(G_MAP_COUNT, n - 1);
    return;
  }
}

/** The top-down search for `len` bytes with its result aligned down to `align`, the gap needing `need`. */
function searchDown(len: u64, need: u64, align: u64): u64 {
  const n = gld(G_MAP_COUNT);
  let gapEnd = MMAP_BASE;
  for (let i = <i64>n - 1; i >= -1; i--) {
    const gapStart = i >= 0 ? mapEnd(<u64>i) : MMAP_FLOOR;
    if (gapEnd > gapStart && gapEnd - gapStart >= need) {
      return (gapEnd - len) & ~(align - 1);
    }
    if (i >= 0) {
      const s = mapStart(<u64>i);
      if (s < gapEnd) gapEnd = s;
    }
  }
  return 0;
}

/** Where mmap(NULL, len) lands; 0 when the address space is exhausted. */
export function osMap(len: u64): u64 {
  let at: u64 = 0;
  if ((len & (HUGEPAGE - 1)) == 0) at = searchDown(len, len + HUGEPAGE, HUGEPAGE);
  if (at == 0) at = searchDown(len, len, 1);
  if (at == 0) return 0;
  insertMap(at, at + len);
  gadd(G_MAPPED, len);
  count(SYS_MMAP, len);
  return at;
}

/** mmap(hint, len) without MAP_FIXED: true when the kernel honoured the hint (the range was free). */
export function osMapAt(at: u64, len: u64): bool {
  if (at + len > MMAP_BASE || at < MMAP_FLOOR) return false;
  const n = gld(G_MAP_COUNT);
  for (let i: u64 = 0; i < n; i++) {
    if (mapStart(i) < at + len && mapEnd(i) > at) return false;
  }
  insertMap(at, at + len);
  gadd(G_MAPPED, len);
  count(SYS_MMAP, len);
  return true;
}

/** munmap(at, len): removes the range from every mapping it overlaps. */
export function osUnmap(at: u64, len: u64): void {
  const end = at + len;
  let n = gld(G_MAP_COUNT);
  for (let i: u64 = 0; i < n; i++) {
    const s = mapStart(i);
    const e = mapEnd(i);
    if (e <= at || s >= end) continue;
    if (s < at && e > end) {
      setMap(i, s, at);
      insertMap(end, e);
      n = gld(G_MAP_COUNT);
      continue;
    }
    if (s < at) {
      setMap(i, s, at);
    } else if (e > end) {
      setMap(i, end, e);
    } else {
      for (let j = i; j + 1 < n; j++) setMap(j, mapStart(j + 1), mapEnd(j + 1));
      n--;
      gst(G_MAP_COUNT, n);
      i--;
    }
  }
  gst(G_MAPPED, gld(G_MAPPED) - len);
  count(SYS_MUNMAP, len);
}

/** Start-up: the libraries, as one mapping until the program's mappings are known. */
export function osBoot(): void {
  insertMap(mmapTop, MMAP_BASE);
}

/**
 * Records a mapping the library did not make (the program's own: its tables, buffers, thread stacks, and the
 * libraries with the holes between them), as the kernel would see it: only the parts not already mapped. The
 * first call replaces the libraries' stand-in mapping.
 */
export function osReserve(start: u64, end: u64): void {
  if (gld(G_LIBRARIES_KNOWN) == 0) {
    gst(G_LIBRARIES_KNOWN, 1);
    removeMap(mmapTop, MMAP_BASE);
  }
  if (end > MMAP_BASE) end = MMAP_BASE;
  while (start < end) {
    // The first existing mapping that overlaps [start, end) cuts the range.
    let cut = end;
    let skipTo = start;
    const n = gld(G_MAP_COUNT);
    for (let i: u64 = 0; i < n; i++) {
      const s = mapStart(i);
      const e = mapEnd(i);
      if (e <= start || s >= end) continue;
      if (s <= start) {
        skipTo = e > skipTo ? e : skipTo;
        cut = start;
      } else if (s < cut) {
        cut = s;
      }
    }
    if (cut > start) {
      insertMap(start, cut);
      start = cut;
    } else {
      start = skipTo > start ? skipTo : end;
    }
  }
}
