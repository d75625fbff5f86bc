// Arenas and the per-thread state that picks them (arena.c, jemalloc.c, tsd.h): a thread is bound to an arena
// on its first allocation; automatic arenas are created as threads arrive until there are narenas of them,
// then a new thread joins the least loaded one. Requests of oversize_threshold (8 MiB) and more go to a separate
// huge arena, created on first use. Each arena starts with a base of its own (one mapped block).
//
//   thread record (THREADS_BASE + THREAD_STRIDE × thread)
//   ╒════════════════╤════════════════╤════════════════╤════════════════╤════════════════╤════════════════╕
//   │ arena + 1      │ prng state     │ decay ticker   │ alloc wait     │ dalloc wait    │ next gc bin    │
//   ├────────────────┼────────────────┼────────────────┴────────────────┴────────────────┴────────────────┤
//   │ tcache ready   │ tcache block   │ (unused) … + 0x100: cache bins (tcache.ts)                         │
//   ╘════════════════╧════════════════╧════════════════════════════════════════════════════════════════════╛
//
// The thread's PRNG (seeded with its tsd's address) draws the cache-oblivious offsets of large extents and the
// decay ticker's geometric countdown: one draw each time ~1000 arena ticks have elapsed, so ticks are counted
// where the library counts them even though decay itself (with decay times of -1) never purges.

import { ld64, st64 } from "../common/vmem";
import {
  THREADS_BASE, THREAD_STRIDE, G_NARENAS, G_HUGE_ARENA, G_THREADS, gld, gst, ald, ast, aadd, A_EXISTS, A_NTHREADS,
} from "./globals";
import { baseNew, baseAllocArena } from "./base";
import { pacInit } from "./pac";

export const T_ARENA: u64 = 0;
export const T_PRNG: u64 = 8;
export const T_TICK: u64 = 16;
export const T_ALLOC_WAIT: u64 = 24;
export const T_DALLOC_WAIT: u64 = 32;
export const T_NEXT_GC: u64 = 40;
export const T_TCACHE: u64 = 48;
export const T_TCACHE_BLOCK: u64 = 56;
export const T_STATE: u64 = 64;           // 0 untouched, 1 minimal (has only freed), 2 nominal, 3 exited
export const T_TSD: u64 = 72;             // the tsd's address when known (the PRNG seed)

// @ts-ignore: decorator
@inline const PRNG_A: u64 = 6364136223846793005;
// @ts-ignore: decorator
@inline const PRNG_C: u64 = 1442695040888963407;
// @ts-ignore: decorator
@inline const DECAY_NTICKS: i64 = 1000;
// @ts-ignore: decorator
@inline const GEOM_MUL: i64 = 61;

const geomTable = new StaticArray<u8>(64);
let narenasAuto: i32 = 8;
let oversizeThreshold: u64 = 8 << 20;
/** The main thread's tsd address: the seed of its PRNG. */
let tsdAddress: u64 = 0x7fff_f7f9_1738;
/** Between the tsd addresses of consecutive threads (their static TLS blocks, one per thread stack). */
let tsdStride: u64 = 0x80_1000;

/** opt.narenas: automatic arenas. */
export function setNarenas(n: i32): void {
  narenasAuto = n;
}

/** opt.narenas as set (the huge arena's index). */
export function getNarenas(): i32 {
  return narenasAuto;
}

/** opt.oversize_threshold: the least request served by the huge arena. */
export function setOversizeThreshold(bytes: u64): void {
  oversizeThreshold = bytes;
}

/** The main thread's tsd address, the seed of its PRNG. */
export function setTsdAddress(address: u64): void {
  tsdAddress = address;
}

/** Builds the geometric ticker's table: 61 × ln(64 / i), i = 1 … 64, as ticker.py computes it. */
export function arenaBoot(): void {
  for (let i = 0; i < 64; i++) {
    unchecked(geomTable[i] = <u8>Math.floor(<f64>GEOM_MUL * Math.log(64.0 / <f64>(i + 1)) + 0.5));
  }
}

/** The record of thread `t`. */
// @ts-ignore: decorator
@inline export function threadRec(t: i32): u64 {
  return THREADS_BASE + <u64>t * THREAD_STRIDE;
}

// @ts-ignore: decorator
@inline export function tld(t: i32, field: u64): u64 {
  return ld64(threadRec(t) + field);
}

// @ts-ignore: decorator
@inline export function tst(t: i32, field: u64, value: u64): void {
  st64(threadRec(t) + field, value);
}

/** prng_lg_range_u64 on the thread's state. */
export function prngLgRange(t: i32, lgRange: u64): u64 {
  const s = tld(t, T_PRNG) * PRNG_A + PRNG_C;
  tst(t, T_PRNG, s);
  return s >> (64 - lgRange);
}

/** arena_decay_ticks: counts `n` ticks on the thread's geometric ticker. */
export function decayTicks(t: i32, n: u64): void {
  const tick = <i64>tld(t, T_TICK) - <i64>n;
  if (tick >= 0) {
    tst(t, T_TICK, <u64>tick);
    return;
  }
  const idx = <i32>prngLgRange(t, 6);
  tst(t, T_TICK, <u64>(DECAY_NTICKS * <i64>unchecked(geomTable[idx]) / GEOM_MUL));
}

/** arena_new: a fresh arena `a`, with a base of its own (arena 0's, base 0, exists before it). */
export function arenaNew(a: i32): void {
  if (a != 0) baseNew(a);
  baseAllocArena(a);
  pacInit(a);
  ast(a, A_EXISTS, 1);
  const n = gld(G_NARENAS);
  if (<u64>(a + 1) > n) gst(G_NARENAS, <u64>(a + 1));
}

/** True once arena `a` exists. */
// @ts-ignore: decorator
@inline export function arenaExists(a: i32): bool {
  return ald(a, A_EXISTS) != 0;
}

/** Where thread `t`'s tsd lives (its PRNG seed), when the program knows it; call before the thread runs. */
export function setThreadTsd(t: i32, address: u64): void {
  tst(t, T_TSD, address);
}

/** tsd_data_init: the PRNG seeded with the tsd's address, 64 KiB to each event. */
export function threadSeed(t: i32): void {
  if (<u64>(t + 1) > gld(G_THREADS)) gst(G_THREADS, <u64>(t + 1));
  const tsd = tld(t, T_TSD);
  tst(t, T_PRNG, tsd != 0 ? tsd : tsdAddress + <u64>t * tsdStride);
  tst(t, T_ALLOC_WAIT, 65536);
  tst(t, T_DALLOC_WAIT, 65536);
}

/** The thread's first call of any kind: its tsd starts with a full decay ticker. */
export function threadInit(t: i32): void {
  tst(t, T_TICK, <u64>DECAY_NTICKS);
  threadSeed(t);
}

/** arena_choose: the thread's arena, binding it on first use. */
export function arenaChoose(t: i32): i32 {
  const bound = tld(t, T_ARENA);
  if (bound != 0) return <i32>bound - 1;
  let chosen = -1;
  for (let a = 0; a < narenasAuto; a++) {
    if (!arenaExists(a)) {
      // An uninitialized slot: taken when every existing arena already has a thread.
      let allBusy = true;
      for (let b = 0; b < a; b++) if (ald(b, A_NTHREADS) == 0) allBusy = false;
      if (allBusy) {
        arenaNew(a);
        chosen = a;
      }
      break;
    }
  }
  if (chosen < 0) {
    chosen = 0;
    for (let a = 1; a < narenasAuto && arenaExists(a); a++) {
      if (ald(a, A_NTHREADS) < ald(chosen, A_NTHREADS)) chosen = a;
    }
  }
  aadd(chosen, A_NTHREADS, 1);
  tst(t, T_ARENA, <u64>(chosen + 1));
  return chosen;
}

/**
 * arena_unbind at a thread's exit: its arena counts one thread fewer, so a later thread may choose it. Returns
 * the arena, -1 when the thread was bound to none.
 */
export function arenaUnbind(t: i32): i32 {
  const bound = tld(t, T_ARENA);
  if (bound == 0) return -1;
  aadd(<i32>bound - 1, A_NTHREADS, -1);
  tst(t, T_ARENA, 0);
  return <i32>bound - 1;
}

/** arena_choose_maybe_huge: the huge arena for oversize requests, the thread's arena otherwise. */
export function arenaChooseMaybeHuge(t: i32, usize: u64): i32 {
  if (usize < oversizeThreshold) return arenaChoose(t);
  let huge = gld(G_HUGE_ARENA);
  if (huge == 0) {
    const a = narenasAuto;
    arenaNew(a);
    huge = <u64>(a + 1);
    gst(G_HUGE_ARENA, huge);
  }
  return <i32>huge - 1;
}

/** One past the highest thread index that has called the allocator. */
export function threadCount(): i32 {
  return <i32>gld(G_THREADS);
}
