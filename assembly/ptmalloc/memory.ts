// A program's own loads and stores, for the lab: bytes at simulated addresses, checked against the regions the
// real process has mapped (the brk heap, the mappings, libc's data, the stack), and the layout's symbols.
//
//   memRead / memWrite(va, buffer, len)    1 = done · 0 = a byte of the range is unmapped (nothing copied or
//                                          written; lastErrorMessage names the fault, as the process would die)

import { ld8, st8 } from "../common/vmem";
import { raise, clearError, ERR_SEGV } from "../common/ops";
import { rangeMapped, layoutSymbols, layoutRegions, layoutSynced, layoutSyncOut } from "./layout";
import { setTcacheKey as setKey } from "./params";

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
