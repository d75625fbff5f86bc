// Where libc's malloc variables and the process's fixed regions sit: the model's default layout, or a Debian 12
// process under `setarch -R` (glibc 2.36, this machine), measured with a small C program that read main_arena from
// the fd of a freed unsorted chunk, the tcache key from a freed tcache entry, global_max_fast and mp_.top_pad by
// changing them with mallopt, the `tcache` thread variable by its value, and the regions from /proc/self/maps.
//
//   debian12 (x86-64, no ASLR)
//   0x5555_5555_9000            [heap]      brk heap (heap_base)
//   0x7fff_f7d9_0000 … ↓                    mmapped chunks and arena heaps, top-down below mmap_base
//   0x7fff_f7dd_1000 – …d4000   TLS         `tcache` (the thread's tcache_perthread_struct *) at +0x6f8 = mmap_base
//   0x7fff_f7fa_7000 – …a9000   libc .data  mp_ (main_arena − 0x920), main_arena (0x898 bytes)
//   0x7fff_f7fa_9000 – …b6000   libc .bss   tcache_key (main_arena + 0x6818), global_max_fast (main_arena + 0x6840)
//   0x7fff_fffd_e000 – …ff000   [stack]
//
// In the debian12 layout these variables live in simulated memory: `layoutSyncIn` reads them into the model's
// globals and parameters before every call, `layoutSyncOut` writes them back after it, so that a program (a lab
// script) that overwrites mp_.tcache_bins or global_max_fast changes what the next call does, as in glibc. The
// default layout keeps them in the model alone (no per-call cost), with main_arena in a libc data block at
// mmap_base.
//
//   struct malloc_par (mp_, glibc 2.36, 0x88 bytes)
//   ╒══════╤════════════════╤══════╤══════════════╤══════╤════════════════╤══════╤═══════════════════════╕
//   │ +0   │ trim_threshold │ +8   │ top_pad      │ +16  │ mmap_threshold │ +24  │ arena_test            │
//   │ +32  │ arena_max      │ +40  │ thp_pagesize │ +48  │ hp_pagesize    │ +56  │ hp_flags (i32)        │
//   │ +60  │ n_mmaps (i32)  │ +64  │ n_mmaps_max  │ +68  │ max_n_mmaps    │ +72  │ no_dyn_threshold (i32)│
//   │ +80  │ mmapped_mem    │ +88  │ max_mmapped  │ +96  │ sbrk_base      │ +104 │ tcache_bins           │
//   │ +112 │ tcache_max_b.  │ +120 │ tcache_count │ +128 │ tcache_unsorted_limit                        │
//   ╘══════╧════════════════╧══════╧══════════════╧══════╧════════════════╧══════╧═══════════════════════╛

import { ld64, st64, ld32, st32, vmMap, vmSetGuard } from "../common/vmem";
import { USER_SPACE_END } from "../common/kernel";
import {
  param, setParam, P_TRIM_THRESHOLD, P_MMAP_THRESHOLD, P_N_MMAPS, P_MAX_N_MMAPS, P_MMAPPED_MEM, P_MAX_MMAPPED_MEM,
  P_SBRK_BASE, P_BRK, THREADS_BASE, heapBaseAddress, mmapBaseAddress, setMmapBase, LIBC_DATA_SIZE,
  topPad, nMmapsMax, noDynThreshold, tcacheBins, tcacheMaxBytes, tcacheCount, tcacheUnsortedLimit, globalMaxFast, arenaMax, arenaTest,
  thpPageSize, tcacheKey, restoreTunables,
} from "./params";
import { mapIndexAt, mapStart, mapLength, mapKind, MAP_CHUNK } from "./mmap";

export const LAYOUT_DEFAULT: i32 = 0;
export const LAYOUT_DEBIAN12: i32 = 1;
export const LAYOUT_NAMES: string = "default,debian12";

let layout: i32 = LAYOUT_DEFAULT;

/** Offset of main_arena inside the default layout's libc data block at mmap_base. */
const DEFAULT_MAIN_ARENA_OFFSET: u64 = 0x1c80;

const DEBIAN12_MMAP_BASE: u64 = 0x7fff_f7dd_1000;
const DEBIAN12_TLS_END: u64 = 0x7fff_f7dd_4000;
const DEBIAN12_TCACHE_VAR: u64 = 0x7fff_f7dd_16f8;
const DEBIAN12_LIBC_DATA: u64 = 0x7fff_f7fa_7000;
const DEBIAN12_LIBC_BSS: u64 = 0x7fff_f7fa_9000;
const DEBIAN12_LIBC_END: u64 = 0x7fff_f7fb_6000;
const DEBIAN12_MAIN_ARENA: u64 = 0x7fff_f7fa_7c60;
const MP_FROM_MAIN_ARENA: u64 = 0x920;
const TCACHE_KEY_FROM_MAIN_ARENA: u64 = 0x6818;
const GLOBAL_MAX_FAST_FROM_MAIN_ARENA: u64 = 0x6840;
export const STACK_START: u64 = 0x7fff_fffd_e000;
export const STACK_END: u64 = 0x7fff_ffff_f000;

/** The fixed regions of the layout besides the heap and the mappings: [start, end) pairs. */
const REGIONS_MAX: i32 = 4;
const regionStart = new StaticArray<u64>(REGIONS_MAX);
const regionEnd = new StaticArray<u64>(REGIONS_MAX);
let regionCount: i32 = 0;

let mainArenaAddress: u64 = 0;
let mpAddress: u64 = 0;
let tcacheKeyAddress: u64 = 0;
let globalMaxFastAddress: u64 = 0;
let tcacheVarAddress: u64 = 0;

/** Chooses the layout by its index in LAYOUT_NAMES (before init); false for an unknown one. */
export function setLayout(v: u64): bool {
  if (v > <u64>LAYOUT_DEBIAN12) return false;
  layout = <i32>v;
  if (layout == LAYOUT_DEBIAN12) setMmapBase(DEBIAN12_MMAP_BASE);
  return true;
}

/** True when libc's variables live in simulated memory and are synced around every call. */
// @ts-ignore: decorator
@inline export function layoutSynced(): bool { return layout != LAYOUT_DEFAULT; }

function addRegion(start: u64, end: u64): void {
  unchecked(regionStart[regionCount] = start);
  unchecked(regionEnd[regionCount] = end);
  regionCount++;
  vmMap(start, end - start);
}

/** Maps the layout's fixed regions and places libc's variables; returns main_arena's address. */
export function layoutInit(): u64 {
  if (layout == LAYOUT_DEBIAN12) {
    addRegion(DEBIAN12_MMAP_BASE, DEBIAN12_TLS_END);
    addRegion(DEBIAN12_LIBC_DATA, DEBIAN12_LIBC_END);
    mainArenaAddress = DEBIAN12_MAIN_ARENA;
    tcacheVarAddress = DEBIAN12_TCACHE_VAR;
  } else {
    addRegion(mmapBaseAddress, mmapBaseAddress + LIBC_DATA_SIZE);
    mainArenaAddress = mmapBaseAddress + DEFAULT_MAIN_ARENA_OFFSET;
  }
  addRegion(STACK_START, STACK_END);
  if (layout == LAYOUT_DEBIAN12) {
    mpAddress = mainArenaAddress - MP_FROM_MAIN_ARENA;
    tcacheKeyAddress = mainArenaAddress + TCACHE_KEY_FROM_MAIN_ARENA;
    globalMaxFastAddress = mainArenaAddress + GLOBAL_MAX_FAST_FROM_MAIN_ARENA;
    // The store guard: a model store outside every region is the real process's segmentation fault.
    vmSetGuard(mayStore);
  }
  return mainArenaAddress;
}

/**
 * The end of the mapped region that holds `va` (the brk heap, a mapping, a fixed region), or 0 when `va` is
 * unmapped in the real process as far as the model knows it.
 */
export function mappedEnd(va: u64): u64 {
  if (va >= heapBaseAddress && va < param(P_BRK)) return param(P_BRK);
  const i = mapIndexAt(va);
  if (i >= 0) return mapStart(<u64>i) + mapLength(<u64>i);
  for (let r = 0; r < regionCount; r++) {
    if (va >= unchecked(regionStart[r]) && va < unchecked(regionEnd[r])) return unchecked(regionEnd[r]);
  }
  return 0;
}

/** What the address `va` is part of, by its index in REGION_KINDS (0: unmapped). */
export const REGION_KINDS: string = "unmapped,heap,mmapped,libc,stack";

export function regionKind(va: u64): i32 {
  if (va >= heapBaseAddress && va < param(P_BRK)) return 1;
  const i = mapIndexAt(va);
  if (i >= 0) return mapKind(<u64>i) == MAP_CHUNK ? 2 : 1;
  if (va >= STACK_START && va < STACK_END) return 4;
  return mappedEnd(va) != 0 ? 3 : 0;
}

/** True when [va, va + len) lies in mapped regions only. */
export function rangeMapped(va: u64, len: u64): bool {
  const end = va + len;
  if (end < va) return false;
  let at = va;
  while (at < end) {
    const e = mappedEnd(at);
    if (e == 0) return false;
    at = e;
  }
  return true;
}

/** The guard of simulated memory (vmem.ts): the model's own bookkeeping lies above user space. */
function mayStore(va: u64): bool {
  return va >= USER_SPACE_END || mappedEnd(va) != 0;
}

/** The symbols a lab can name, `name=address` comma separated (only the layout's own). */
export function layoutSymbols(): string {
  let out = "main_arena=" + mainArenaAddress.toString() + ",stack=" + STACK_START.toString()
    + ",stack_end=" + STACK_END.toString();
  if (layout == LAYOUT_DEBIAN12) {
    out += ",mp_=" + mpAddress.toString() + ",tcache=" + tcacheVarAddress.toString()
      + ",tcache_key=" + tcacheKeyAddress.toString() + ",global_max_fast=" + globalMaxFastAddress.toString();
  }
  return out;
}

/** The fixed regions, `start-end` comma separated (decimal). */
export function layoutRegions(): string {
  let out = "";
  for (let r = 0; r < regionCount; r++) {
    out += (r ? "," : "") + unchecked(regionStart[r]).toString() + "-" + unchecked(regionEnd[r]).toString();
  }
  return out;
}

// ── libc's variables in simulated memory ─────────────────────────────────────────────────────────────────

/** Writes the model's state into libc's variables (after every call, and once at init). */
export function layoutSyncOut(): void {
  const mp = mpAddress;
  st64(mp, param(P_TRIM_THRESHOLD));
  st64(mp + 8, topPad);
  st64(mp + 16, param(P_MMAP_THRESHOLD));
  st64(mp + 24, arenaTest);
  st64(mp + 32, arenaMax);
  st64(mp + 40, thpPageSize);
  st32(mp + 60, <u32>param(P_N_MMAPS));
  st32(mp + 64, <u32>nMmapsMax);
  st32(mp + 68, <u32>param(P_MAX_N_MMAPS));
  st32(mp + 72, noDynThreshold ? 1 : 0);
  st64(mp + 80, param(P_MMAPPED_MEM));
  st64(mp + 88, param(P_MAX_MMAPPED_MEM));
  st64(mp + 96, param(P_SBRK_BASE));
  st64(mp + 104, tcacheBins);
  st64(mp + 112, tcacheMaxBytes);
  st64(mp + 120, tcacheCount);
  st64(mp + 128, tcacheUnsortedLimit);
  st64(tcacheKeyAddress, tcacheKey);
  st64(globalMaxFastAddress, globalMaxFast);
  st64(tcacheVarAddress, ld64(THREADS_BASE));
}

/** Reads libc's variables into the model (before every call, the walk and the checker). */
export function layoutSyncIn(): void {
  const mp = mpAddress;
  setParam(P_TRIM_THRESHOLD, ld64(mp));
  setParam(P_MMAP_THRESHOLD, ld64(mp + 16));
  setParam(P_N_MMAPS, <u64>ld32(mp + 60));
  setParam(P_MAX_N_MMAPS, <u64>ld32(mp + 68));
  setParam(P_MMAPPED_MEM, ld64(mp + 80));
  setParam(P_MAX_MMAPPED_MEM, ld64(mp + 88));
  setParam(P_SBRK_BASE, ld64(mp + 96));
  if (ld64(THREADS_BASE) != ld64(tcacheVarAddress)) st64(THREADS_BASE, ld64(tcacheVarAddress));
  restoreTunables(ld64(mp + 8), ld64(mp + 24), ld64(mp + 32), ld64(mp + 40), <u64>ld32(mp + 64), ld32(mp + 72) != 0,
    ld64(mp + 104), ld64(mp + 112), ld64(mp + 120), ld64(mp + 128), ld64(globalMaxFastAddress), ld64(tcacheKeyAddress));
}
