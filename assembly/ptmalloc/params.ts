// Process-wide allocator parameters: glibc's `mp_` plus the few globals malloc.c keeps beside it.
//
// Tunables are fixed once `init` has run, so they stay in plain globals. Everything an operation can change
// lives in simulated memory at PARAMS_BASE, where the journal sees it:
//
//   PARAMS_BASE
//   ╒══════╤══════════════════╤═══════════════════════════════════════════════════════════════╕
//   │ +0   │ mmap_threshold   │ rises on free of a mmapped chunk unless no_dyn_threshold      │
//   │ +8   │ trim_threshold   │                                                               │
//   │ +16  │ n_mmaps          │ +24 max_n_mmaps · +32 mmapped_mem · +40 max_mmapped_mem       │
//   │ +48  │ sbrk_base        │ first break the heap obtained                                 │
//   │ +56  │ brk              │ current program break                                         │
//   │ +64  │ narenas          │ arenas created so far, main included                          │
//   │ +72  │ aligned_heap_area│ the mmap hint for the next arena heap                         │
//   │ +80  │ consolidations   │ +88 trims (statistics)                                        │
//   │ +96  │ next_to_use      │ reused_arena's round-robin cursor                             │
//   │ +104 │ multi_threaded   │ set for good once a second thread ran (SINGLE_THREAD_P false) │
//   │ +112 │ free_list        │ arenas no thread is attached to, left by exited threads        │
//   │ +120 │ mappings         │ records in the mmap area table                                │
//   │ +128 │ narenas_limit    │ arena_get2's limit, fixed once narenas exceeds arena_test     │
//   ╘══════╧══════════════════╧═══════════════════════════════════════════════════════════════╛

import { ld64, st64 } from "../common/vmem";

export const PARAMS_BASE: u64 = 0xfff2_0000_0000;

/** Per-thread state, 16 bytes per dense thread index: tcache struct (mem address), thread arena. */
export const THREADS_BASE: u64 = 0xfff2_0001_0000;
/** Arena k's malloc_state address, 8 bytes per arena, k = 0 the main arena. */
export const ARENAS_BASE: u64 = 0xfff2_0002_0000;
/** The mmap area's mapping records (see mmap.ts). */
export const MAPS_BASE: u64 = 0xfff2_1000_0000;

export const PAGE: u64 = 4096;
export const DEFAULT_MMAP_THRESHOLD_MAX: u64 = 0x2000000;
/** heap_max_size(): the size and alignment of a non-main heap, 4 huge pages with glibc.malloc.hugetlb ≥ 2. */
export let heapMaxSize: u64 = 0x4000000;
/** heap_min_size(): a new heap's least usable size, one huge page with glibc.malloc.hugetlb ≥ 2. */
export let heapMinSize: u64 = 0x8000;
/** MMAP_AS_MORECORE_SIZE: the unit of the mappings the main arena grows into when the break cannot move. */
export const MMAP_AS_MORECORE_SIZE: u64 = 1 << 20;

// ── tunables (fixed after init) ─────────────────────────────────────────────────────────────────────────

export let topPad: u64 = 0x20000;
export let nMmapsMax: u64 = 65536;
export let noDynThreshold: bool = false;
export let tcacheBins: u64 = 64;
export let tcacheCount: u64 = 7;
/** mp_.tcache_max_bytes: the tunable as given (MAX_TCACHE_SIZE, 1032, by default); only the lab's mp_ shows it. */
export let tcacheMaxBytes: u64 = 1032;
export let tcacheUnsortedLimit: u64 = 0;
export let globalMaxFast: u64 = 0x80;
export let arenaMax: u64 = 0;
export let arenaTest: u64 = 8;
export let perturbByte: u64 = 0;
export let heapBaseAddress: u64 = 0x555555559000;
export let mmapBaseAddress: u64 = 0x7ffff7fc0000;
/** Bytes of libc's data (main_arena, mp_) the model maps at mmap_base. */
export const LIBC_DATA_SIZE: u64 = 0x4000;
export let cores: u64 = 2;
/**
 * mp_.thp_pagesize: with glibc.malloc.hugetlb=1 on a kernel whose transparent huge pages are in "madvise" mode
 * (this one's), the PMD size; 0 otherwise. brk growth then ends on a huge-page boundary, trims release whole huge
 * pages, and every region of at least one huge page is madvised MADV_HUGEPAGE.
 */
export let thpPageSize: u64 = 0;
const THP_PMD_SIZE: u64 = 2 << 20;
/**
 * mp_.hp_pagesize: with glibc.malloc.hugetlb=2 (or the page size itself, 2097152, the one hugetlbfs size this
 * kernel offers) the hugetlbfs page size. glibc then never moves the break (__always_fail_morecore): the main arena
 * lives in mappings, and every mapping is first asked for in huge pages. This machine reserves none
 * (vm.nr_hugepages = 0), so each such request fails and glibc falls back to ordinary pages.
 */
export let hpPageSize: u64 = 0;
/**
 * The lowest mapping above the initial break (brk_blocked_at; 0: none but the mmap area): the kernel refuses a
 * break that would come within a page of it, and glibc then grows the main arena into mappings.
 */
export let brkBlockedAt: u64 = 0;

/**
 * tcache_key: the value glibc draws from getrandom for tcache entry keys. The lab draws it from its seed
 * (`setTcacheKey`); any fixed value will do for addresses.
 */
export let tcacheKey: u64 = 0x6b8b4567327b23c6;

export function setTcacheKey(v: u64): void { tcacheKey = v; }

export let initialMmapThreshold: u64 = 0x20000;
export let initialTrimThreshold: u64 = 0x20000;

export function setTopPad(v: u64): void { topPad = v; noDynThreshold = true; }
export function setMmapThreshold(v: u64): void { initialMmapThreshold = v; noDynThreshold = true; }
export function setTrimThreshold(v: u64): void { initialTrimThreshold = v; noDynThreshold = true; }
export function setMmapMax(v: u64): void { nMmapsMax = v; noDynThreshold = true; }
export function setArenaMax(v: u64): void { if (v > 0) arenaMax = v; }
export function setArenaTest(v: u64): void { if (v > 0) arenaTest = v; }
export function setPerturb(v: u64): void { perturbByte = v & 0xff; }
export function setHeapBase(v: u64): void { heapBaseAddress = v; }
export function setMmapBase(v: u64): void { mmapBaseAddress = v; }
export function setCores(v: u64): void { if (v > 0) cores = v; }
/**
 * do_set_hugetlb: 1 asks for transparent huge pages; 2 for hugetlbfs pages of the default size, any other value
 * for hugetlbfs pages of that size, ignored when the kernel has no such size (here: all but 2 MiB).
 */
export function setHugetlb(v: u64): void {
  thpPageSize = v == 1 ? THP_PMD_SIZE : 0;
  hpPageSize = v == 2 || v == THP_PMD_SIZE ? THP_PMD_SIZE : 0;
  heapMinSize = hpPageSize != 0 ? hpPageSize : 0x8000;
  heapMaxSize = hpPageSize != 0 ? hpPageSize * 4 : 0x4000000;
}

export function setBrkBlockedAt(v: u64): void { brkBlockedAt = v; }

/** do_set_tcache_max: requests up to `v` bytes (≤ 1032) are cached. */
export function setTcacheMax(v: u64): void {
  if (v > 1032) return;
  tcacheMaxBytes = v;
  const nb = v + 23 < 32 ? <u64>32 : (v + 23) & ~(<u64>15);
  tcacheBins = ((nb - 17) >> 4) + 1;
}

/** Takes the tunables back from libc's variables in simulated memory, as a program may have overwritten them. */
export function restoreTunables(pad: u64, test: u64, max: u64, thp: u64, mmapsMax: u64, noDyn: bool, bins: u64,
  maxBytes: u64, count: u64, unsortedLimit: u64, maxFast: u64, key: u64): void {
  tcacheMaxBytes = maxBytes;
  topPad = pad;
  arenaTest = test;
  arenaMax = max;
  thpPageSize = thp;
  nMmapsMax = mmapsMax;
  noDynThreshold = noDyn;
  tcacheBins = bins;
  tcacheCount = count;
  tcacheUnsortedLimit = unsortedLimit;
  globalMaxFast = maxFast;
  tcacheKey = key;
}

export function setTcacheCount(v: u64): void { if (v <= 65535) tcacheCount = v; }
export function setTcacheUnsortedLimit(v: u64): void { tcacheUnsortedLimit = v; }

/** do_set_mxfast: 0..160, rounded like set_max_fast. */
export function setMxfast(v: u64): void {
  if (v > 160) return;
  globalMaxFast = v < 8 ? 16 : (v + 8) & ~(<u64>15);
}

// ── mutable parameters (simulated memory) ───────────────────────────────────────────────────────────────

// @ts-ignore: decorator
@inline export const P_MMAP_THRESHOLD: u64 = 0;
// @ts-ignore: decorator
@inline export const P_TRIM_THRESHOLD: u64 = 8;
// @ts-ignore: decorator
@inline export const P_N_MMAPS: u64 = 16;
// @ts-ignore: decorator
@inline export const P_MAX_N_MMAPS: u64 = 24;
// @ts-ignore: decorator
@inline export const P_MMAPPED_MEM: u64 = 32;
// @ts-ignore: decorator
@inline export const P_MAX_MMAPPED_MEM: u64 = 40;
// @ts-ignore: decorator
@inline export const P_SBRK_BASE: u64 = 48;
// @ts-ignore: decorator
@inline export const P_BRK: u64 = 56;
// @ts-ignore: decorator
@inline export const P_NARENAS: u64 = 64;
// @ts-ignore: decorator
@inline export const P_ALIGNED_HEAP_AREA: u64 = 72;
// @ts-ignore: decorator
@inline export const P_CONSOLIDATIONS: u64 = 80;
// @ts-ignore: decorator
@inline export const P_TRIMS: u64 = 88;
// @ts-ignore: decorator
@inline export const P_NEXT_TO_USE: u64 = 96;
// @ts-ignore: decorator
@inline export const P_MULTI_THREADED: u64 = 104;
// @ts-ignore: decorator
@inline export const P_FREE_LIST: u64 = 112;
// @ts-ignore: decorator
@inline export const P_MAPPINGS: u64 = 120;
// @ts-ignore: decorator
@inline export const P_NARENAS_LIMIT: u64 = 128;

// @ts-ignore: decorator
@inline export function param(field: u64): u64 { return ld64(PARAMS_BASE + field); }
// @ts-ignore: decorator
@inline export function setParam(field: u64, v: u64): void { st64(PARAMS_BASE + field, v); }

// ── the calling thread ──────────────────────────────────────────────────────────────────────────────────

/** Dense index of the thread making the current call (set per operation by the replay loop). */
export let currentThread: u64 = 0;

export function setCurrentThread(t: u64): void { currentThread = t; }

// @ts-ignore: decorator
@inline export function threadTcache(): u64 { return ld64(THREADS_BASE + (currentThread << 4)); }
// @ts-ignore: decorator
@inline export function setThreadTcache(v: u64): void { st64(THREADS_BASE + (currentThread << 4), v); }
// @ts-ignore: decorator
@inline export function threadArena(): u64 { return ld64(THREADS_BASE + (currentThread << 4) + 8); }
// @ts-ignore: decorator
@inline export function setThreadArena(v: u64): void { st64(THREADS_BASE + (currentThread << 4) + 8, v); }

// @ts-ignore: decorator
@inline export function singleThread(): bool { return param(P_MULTI_THREADED) == 0; }

/** Rounds `v` up to a multiple of the power of two `a`. */
// @ts-ignore: decorator
@inline export function alignUp(v: u64, a: u64): u64 { return (v + a - 1) & ~(a - 1); }
