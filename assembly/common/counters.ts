// Event counters every model keeps: system calls and locks, as the real allocator would have made them.
// They live in simulated memory (COUNTERS_BASE) so that a rolled-back call leaves them untouched.
//
//   COUNTERS_BASE + 16 × counter
//   ╒═══════════════╤═══════════════╕
//   │ count   (u64) │ bytes   (u64) │
//   ╘═══════════════╧═══════════════╛

import { vmMap, ld64, st64 } from "./vmem";

export const SYS_BRK: i32 = 0;
export const SYS_MMAP: i32 = 1;
export const SYS_MUNMAP: i32 = 2;
export const SYS_MREMAP: i32 = 3;
export const SYS_MADVISE: i32 = 4;
export const LOCK_ARENA: i32 = 5;
export const LOCK_CENTRAL: i32 = 6;
export const LOCK_PAGEHEAP: i32 = 7;
export const COUNTER_COUNT: i32 = 16;
/** The counters' names, in index order (JS reads counters by name). */
export const COUNTER_NAMES: string = "brk,mmap,munmap,mremap,madvise,arenaLock,centralLock,pageheapLock";

const COUNTERS_BASE: u64 = 0xfff1_0000_0000;

export function countersInit(): void {
  vmMap(COUNTERS_BASE, <u64>COUNTER_COUNT * 16);
}

/** Adds one event of `counter`, moving `bytes` bytes. */
// @ts-ignore: decorator
@inline export function count(counter: i32, bytes: u64): void {
  const at = COUNTERS_BASE + (<u64>counter << 4);
  st64(at, ld64(at) + 1);
  st64(at + 8, ld64(at + 8) + bytes);
}

export function counterCount(counter: i32): f64 {
  return <f64>ld64(COUNTERS_BASE + (<u64>counter << 4));
}

export function counterBytes(counter: i32): f64 {
  return <f64>ld64(COUNTERS_BASE + (<u64>counter << 4) + 8);
}
