// The per-thread cache: a tcache_perthread_struct inside a 0x290 chunk of the thread's arena.
//
//   tcache (= mem of its chunk)
//   ╒═══════════════════════════╤══════════════════════════════════════╕
//   │ counts[64]  u16   +0      │ entries[64]  u64 (mem addresses) +128 │
//   ╘═══════════════════════════╧══════════════════════════════════════╛
//
//   cached entry (mem) ╒══════════════════════════════╤══════════════════╕
//                      │ next = (mem >> 12) ^ next    │ key = tcache_key │
//                      ╘══════════════════════════════╧══════════════════╛

import { ld16, st16, ld64, st64 } from "../common/vmem";
import { raise } from "../common/ops";
import { chunk2mem, mem2chunk, chunkSize, protectPtr, misaligned } from "./chunk";
import { listed, delisted, LIST_TCACHE } from "./ledger";
import { tcacheKey, tcacheCount } from "./params";
import { ABORT } from "./check";

export const TCACHE_STRUCT_SIZE: u64 = 640;
/** TCACHE_MAX_BINS: the entries every tcache structure has, whatever glibc.malloc.tcache_max says. */
const TCACHE_MAX_BINS: u64 = 64;

// @ts-ignore: decorator
@inline export function tcacheCountOf(tc: u64, idx: u64): u64 { return <u64>ld16(tc + (idx << 1)); }
// @ts-ignore: decorator
@inline export function tcacheEntry(tc: u64, idx: u64): u64 { return ld64(tc + 128 + (idx << 3)); }

/** True when bin `idx` of `tc` has room for one more chunk. */
// @ts-ignore: decorator
@inline export function tcacheHasRoom(tc: u64, idx: u64): bool { return tcacheCountOf(tc, idx) < tcacheCount; }

/** tcache_put: pushes chunk `p` at the head of bin `idx`. */
export function tcachePut(tc: u64, p: u64, idx: u64): void {
  const e = chunk2mem(p);
  st64(e + 8, tcacheKey);
  st64(e, protectPtr(e, tcacheEntry(tc, idx)));
  st64(tc + 128 + (idx << 3), e);
  st16(tc + (idx << 1), <u16>(tcacheCountOf(tc, idx) + 1));
  listed(LIST_TCACHE, chunkSize(p));
}

/** tcache_get: pops the head of bin `idx` (the caller checked it is non-empty); returns its mem, 0 on abort. */
export function tcacheGet(tc: u64, idx: u64): u64 {
  const e = tcacheEntry(tc, idx);
  if (misaligned(e)) {
    raise(ABORT, "malloc(): unaligned tcache chunk detected");
    return 0;
  }
  st64(tc + 128 + (idx << 3), protectPtr(e, ld64(e)));
  st16(tc + (idx << 1), <u16>(tcacheCountOf(tc, idx) - 1));
  st64(e + 8, 0);
  delisted(LIST_TCACHE, chunkSize(mem2chunk(e)));
  return e;
}

/**
 * The next entry tcache_thread_shutdown frees: the head of the lowest non-empty bin, unlinked (its count stays,
 * as glibc leaves it); 0 when every bin is empty or after an abort.
 */
export function tcacheTakeAny(tc: u64): u64 {
  for (let idx: u64 = 0; idx < TCACHE_MAX_BINS; idx++) {
    const e = tcacheEntry(tc, idx);
    if (e == 0) continue;
    if (misaligned(e)) {
      raise(ABORT, "tcache_thread_shutdown(): unaligned tcache chunk detected");
      return 0;
    }
    st64(tc + 128 + (idx << 3), protectPtr(e, ld64(e)));
    delisted(LIST_TCACHE, chunkSize(mem2chunk(e)));
    return e;
  }
  return 0;
}

/** The double-free walk of _int_free, run when the freed entry carries the tcache key. False after an abort. */
export function tcacheDoubleFreeCheck(tc: u64, e: u64, idx: u64): bool {
  let cnt: u64 = 0;
  for (let tmp = tcacheEntry(tc, idx); tmp != 0; tmp = protectPtr(tmp, ld64(tmp)), ++cnt) {
    if (cnt >= tcacheCount) {
      raise(ABORT, "free(): too many chunks detected in tcache");
      return false;
    }
    if (misaligned(tmp)) {
      raise(ABORT, "free(): unaligned chunk detected in tcache 2");
      return false;
    }
    if (tmp == e) {
      raise(ABORT, "free(): double free detected in tcache 2");
      return false;
    }
  }
  return true;
}
