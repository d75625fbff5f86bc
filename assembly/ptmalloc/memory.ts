// A program's own loads and stores, for the lab: bytes at simulated addresses, checked against the regions the
// real process has mapped (the brk heap, the mappings, libc's data, the stack), and the layout's symbols.
//
//   memRead / memWrite(va, buffer, len)    1 = done · 0 = a byte of the range is unmapped (nothing copied or
//                                          written; lastErrorMessage names the fault, as the process would die)

import { ld8, st8, ld64 } from "../common/vmem";
import { raise, clearError, ERR_SEGV } from "../common/ops";
import {
  rangeMapped, regionKind, layoutSymbols, layoutRegions, layoutSynced, layoutSyncOut, REGION_KINDS,
} from "./layout";
import { setTcacheKey as setKey, THREADS_BASE, ARENAS_BASE } from "./params";

const MAX_THREAD_SLOTS: u64 = (ARENAS_BASE - THREADS_BASE) >> 4;

/** Raises the fault of an access to [va, va + len) unless the whole range is mapped; false when it is not. */
function accessible(va: u64, len: u64, what: string): bool {
  clearError();
  if (rangeMapped(va, len)) return true;
  raise(ERR_SEGV, "Segmentation fault: a " + what + " of " + len.toString() + " bytes at 0x" + va.toString(16)
    + " touches unmapped memory");
  return false;
}

/** Copies `len` bytes at simulated `va` into linear memory at `buffer`; 0 when the range is not all mapped. */
export function memRead(va: u64, buffer: usize, len: i32): i32 {
  if (!accessible(va, <u64>len, "read")) return 0;
  for (let i = 0; i < len; i++) store<u8>(buffer + <usize>i, ld8(va + <u64>i));
  return 1;
}

/** Stores `len` bytes from linear memory at `buffer` at simulated `va`; 0 (nothing written) when not all mapped. */
export function memWrite(va: u64, buffer: usize, len: i32): i32 {
  if (!accessible(va, <u64>len, "write")) return 0;
  for (let i = 0; i < len; i++) st8(va + <u64>i, load<u8>(buffer + <usize>i));
  return 1;
}

/** The layout's symbols, `name=address` comma separated (decimal). */
export function symbols(): string {
  return layoutSymbols();
}

/** The layout's fixed regions (libc's data, the stack), `start-end` comma separated (decimal). */
export function regions(): string {
  return layoutRegions();
}

/** Sets the tcache key (glibc draws it from getrandom at start-up; the lab from its seed). */
export function setTcacheKey(key: u64): void {
  setKey(key);
  if (layoutSynced()) layoutSyncOut();
}

/** The names of what an address can be part of, in `addressKind` order (comma separated). */
export function addressKinds(): string {
  return REGION_KINDS;
}

/** What simulated `va` is part of: an index into `addressKinds` (0 = unmapped). */
export function addressKind(va: u64): i32 {
  return regionKind(va);
}

/** The tcache_perthread_struct of thread `thread` (the value of its `tcache` variable), 0 before its first call. */
export function tcacheOf(thread: i32): u64 {
  return thread < 0 || <u64>thread >= MAX_THREAD_SLOTS ? 0 : ld64(THREADS_BASE + (<u64>thread << 4));
}
