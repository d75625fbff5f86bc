// Statistics: mallinfo2 (summed over arenas, as glibc 2.36 does), the mp_ counters, and the system-call and
// lock counters of common/counters.ts.
//
//   f64 slots, in STAT_NAMES order: mallinfo2 (10) · arenas' memory (2) · mmaps (4) · thresholds (2) ·
//   events (3) · counters (11)

import { ld64 } from "../common/vmem";
import {
  counterCount, counterBytes, SYS_BRK, SYS_MMAP, SYS_MUNMAP, SYS_MREMAP, SYS_MADVISE, LOCK_ARENA,
} from "../common/counters";
import { chunkSize, fd, bk, protectPtr } from "./chunk";
import { top, fastbinSlot, binAt, systemMem, maxSystemMem, NFASTBINS, NBINS } from "./mstate";
import {
  param, P_N_MMAPS, P_MAX_N_MMAPS, P_MMAPPED_MEM, P_MAX_MMAPPED_MEM, P_MMAP_THRESHOLD, P_TRIM_THRESHOLD,
  P_CONSOLIDATIONS, P_TRIMS,
} from "./params";
import { mainArena, arenaAt, arenaCount } from "./arena";

export const STAT_NAMES: string = "arena,ordblks,smblks,hblks,hblkhd,usmblks,fsmblks,uordblks,fordblks,keepcost,"
  + "system_mem,max_system_mem,n_mmaps,max_n_mmaps,mmapped_mem,max_mmapped_mem,mmap_threshold,trim_threshold,"
  + "consolidations,trims,arenas,brk_calls,brk_bytes,mmap_calls,mmap_bytes,munmap_calls,munmap_bytes,"
  + "mremap_calls,mremap_bytes,madvise_calls,madvise_bytes,arena_locks";

const LIST_STEPS_MAX: i32 = 1 << 24;

/** Writes the statistics at `buffer`; returns how many f64 were written. */
export function statsInto(buffer: usize): i32 {
  let arena: u64 = 0, ordblks: u64 = 0, smblks: u64 = 0, fsmblks: u64 = 0, uordblks: u64 = 0, fordblks: u64 = 0;
  let maxSystem: u64 = 0;
  for (let k: u64 = 0, n = arenaCount(); k < n; k++) {
    const av = arenaAt(k);
    let avail = chunkSize(top(av));
    let nblocks: u64 = 1;
    let fastavail: u64 = 0;
    let nfast: u64 = 0;
    for (let i: u64 = 0; i < NFASTBINS; i++) {
      let p = ld64(fastbinSlot(av, i));
      for (let s = 0; p != 0 && s < LIST_STEPS_MAX; s++) {
        nfast++;
        fastavail += chunkSize(p);
        p = protectPtr(p + 16, fd(p));
      }
    }
    avail += fastavail;
    for (let i: u64 = 1; i < NBINS; i++) {
      const b = binAt(av, i);
      let p = bk(b);
      for (let s = 0; p != b && s < LIST_STEPS_MAX; s++) {
        nblocks++;
        avail += chunkSize(p);
        p = bk(p);
      }
    }
    smblks += nfast;
    ordblks += nblocks;
    fordblks += avail;
    uordblks += systemMem(av) - avail;
    arena += systemMem(av);
    fsmblks += fastavail;
    maxSystem += maxSystemMem(av);
  }
  let at = buffer;
  const put = (v: f64, at: usize): usize => { store<f64>(at, v); return at + 8; };
  at = put(<f64>arena, at); at = put(<f64>ordblks, at); at = put(<f64>smblks, at);
  at = put(<f64>param(P_N_MMAPS), at); at = put(<f64>param(P_MMAPPED_MEM), at); at = put(0, at);
  at = put(<f64>fsmblks, at); at = put(<f64>uordblks, at); at = put(<f64>fordblks, at);
  at = put(<f64>chunkSize(top(mainArena)), at);
  at = put(<f64>arena, at); at = put(<f64>maxSystem, at);
  at = put(<f64>param(P_N_MMAPS), at); at = put(<f64>param(P_MAX_N_MMAPS), at);
  at = put(<f64>param(P_MMAPPED_MEM), at); at = put(<f64>param(P_MAX_MMAPPED_MEM), at);
  at = put(<f64>param(P_MMAP_THRESHOLD), at); at = put(<f64>param(P_TRIM_THRESHOLD), at);
  at = put(<f64>param(P_CONSOLIDATIONS), at); at = put(<f64>param(P_TRIMS), at); at = put(<f64>arenaCount(), at);
  at = put(counterCount(SYS_BRK), at); at = put(counterBytes(SYS_BRK), at);
  at = put(counterCount(SYS_MMAP), at); at = put(counterBytes(SYS_MMAP), at);
  at = put(counterCount(SYS_MUNMAP), at); at = put(counterBytes(SYS_MUNMAP), at);
  at = put(counterCount(SYS_MREMAP), at); at = put(counterBytes(SYS_MREMAP), at);
  at = put(counterCount(SYS_MADVISE), at); at = put(counterBytes(SYS_MADVISE), at);
  at = put(counterCount(LOCK_ARENA), at);
  return <i32>((at - buffer) >> 3);
}
