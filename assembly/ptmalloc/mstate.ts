// struct malloc_state: one per arena, laid out exactly as glibc 2.36 on x86-64 (0x898 bytes). The main arena's
// lives in the simulated libc data region; the others sit after the heap_info of their arena's first heap.
//
//   av ─► ╒════════╤═══════╤══════════════════╤════════════════════╤══════════════════╤═══════════╕
//         │ mutex  │ flags │ have_fastchunks  │ fastbinsY[10]      │ top              │ last_rem. │
//         │ +0     │ +4    │ +8               │ +16                │ +96              │ +104      │
//         ├────────┴───────┴──────────────────┴────────────────────┴──────────────────┴───────────┤
//         │ bins[254] +112: bin i is the fake chunk at av + 96 + 16 (i − 1), fd at +16, bk at +24  │
//         ├──────────────┬────────┬────────────┬──────────────────┬────────────┬────────────────┤
//         │ binmap[4] u32│ next   │ next_free  │ attached_threads │ system_mem │ max_system_mem │
//         │ +2144        │ +2160  │ +2168      │ +2176            │ +2184      │ +2192          │
//         ╘══════════════╧════════╧════════════╧══════════════════╧════════════╧════════════════╛

import { ld64, st64, ld32, st32 } from "../common/vmem";

export const MSTATE_SIZE: u64 = 0x898;
export const NBINS: u64 = 128;
export const NFASTBINS: u64 = 10;
export const BINMAPSIZE: u64 = 4;
export const NONCONTIGUOUS_BIT: u32 = 2;

// @ts-ignore: decorator
@inline export function flags(av: u64): u32 { return ld32(av + 4); }
// @ts-ignore: decorator
@inline export function setFlags(av: u64, v: u32): void { st32(av + 4, v); }
// @ts-ignore: decorator
@inline export function contiguous(av: u64): bool { return (ld32(av + 4) & NONCONTIGUOUS_BIT) == 0; }
// @ts-ignore: decorator
@inline export function haveFastchunks(av: u64): bool { return ld32(av + 8) != 0; }
// @ts-ignore: decorator
@inline export function setHaveFastchunks(av: u64, v: bool): void { st32(av + 8, v ? 1 : 0); }
// @ts-ignore: decorator
@inline export function fastbinSlot(av: u64, idx: u64): u64 { return av + 16 + (idx << 3); }
// @ts-ignore: decorator
@inline export function top(av: u64): u64 { return ld64(av + 96); }
// @ts-ignore: decorator
@inline export function setTop(av: u64, v: u64): void { st64(av + 96, v); }
// @ts-ignore: decorator
@inline export function lastRemainder(av: u64): u64 { return ld64(av + 104); }
// @ts-ignore: decorator
@inline export function setLastRemainder(av: u64, v: u64): void { st64(av + 104, v); }
/** bin_at: the fake chunk whose fd/bk are bins[2(i−1)], bins[2(i−1)+1]. */
// @ts-ignore: decorator
@inline export function binAt(av: u64, i: u64): u64 { return av + 80 + (i << 4); }
/** unsorted_chunks, also initial_top. */
// @ts-ignore: decorator
@inline export function unsortedChunks(av: u64): u64 { return av + 96; }
// @ts-ignore: decorator
@inline export function binmapWord(av: u64, block: u64): u32 { return ld32(av + 2144 + (block << 2)); }
// @ts-ignore: decorator
@inline export function setBinmapWord(av: u64, block: u64, v: u32): void { st32(av + 2144 + (block << 2), v); }
// @ts-ignore: decorator
@inline export function markBin(av: u64, i: u64): void {
  const at = av + 2144 + ((i >> 5) << 2);
  st32(at, ld32(at) | (<u32>1 << <u32>(i & 31)));
}
// @ts-ignore: decorator
@inline export function nextArena(av: u64): u64 { return ld64(av + 2160); }
// @ts-ignore: decorator
@inline export function setNextArena(av: u64, v: u64): void { st64(av + 2160, v); }
// @ts-ignore: decorator
@inline export function nextFree(av: u64): u64 { return ld64(av + 2168); }
// @ts-ignore: decorator
@inline export function setNextFree(av: u64, v: u64): void { st64(av + 2168, v); }
// @ts-ignore: decorator
@inline export function attachedThreads(av: u64): u64 { return ld64(av + 2176); }
// @ts-ignore: decorator
@inline export function setAttachedThreads(av: u64, v: u64): void { st64(av + 2176, v); }
// @ts-ignore: decorator
@inline export function systemMem(av: u64): u64 { return ld64(av + 2184); }
// @ts-ignore: decorator
@inline export function setSystemMem(av: u64, v: u64): void { st64(av + 2184, v); }
// @ts-ignore: decorator
@inline export function maxSystemMem(av: u64): u64 { return ld64(av + 2192); }
// @ts-ignore: decorator
@inline export function setMaxSystemMem(av: u64, v: u64): void { st64(av + 2192, v); }

/** malloc_init_state: empty circular bins; non-main arenas are noncontiguous; top = initial_top. */
export function initState(av: u64, isMain: bool): void {
  for (let i: u64 = 1; i < NBINS; i++) {
    const bin = binAt(av, i);
    st64(bin + 16, bin);
    st64(bin + 24, bin);
  }
  if (!isMain) setFlags(av, flags(av) | NONCONTIGUOUS_BIT);
  setHaveFastchunks(av, false);
  setTop(av, unsortedChunks(av));
}
