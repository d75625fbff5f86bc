// The invariant checker of the jemalloc model: after any operation, the structures must agree.
//
//   rtree     every extent's first and last page map to it; every page of a slab does
//   slabs     a slab's free count equals the free bits of its bitmap; a bin's current slab and its non-full
//             slabs belong to that bin, the non-full ones with free regions
//   heaps     every pairing heap's back links agree with its forward links (not its order: jemalloc's own
//             heaps can lose it, ph.ts)
//   ecaches   every inactive extent is in the bin of its ecache that its size selects; each ecache's page
//             count adds up; no two adjacent retained extents of one mapping are left apart
//   tcaches   every cached pointer is the start of a region (or the address of a large object) of its class

import { raise } from "../common/ops";
import {
  CHECK_FAILED, violationsBegin, violation, violationCount, firstViolationCode, firstViolationAddress, checkDue,
  checkFailureMessage,
} from "../common/debug";
import { gld, ald, G_NARENAS, A_EXISTS } from "./globals";
import { NBINS, PAGE, LG_PAGE, index2size, binNregs, pszCount, psz2ind, pszQuantizeFloor } from "./sz";
import {
  eBase, eSize, eAddr, eState, eSlab, eSzind, eNfree, eHead, ePast, recordCount, recordAt,
  FREE_RECORD, STATE_ACTIVE, STATE_RETAINED,
} from "./extent";
import { phNodes } from "./ph";
import { Scratch } from "../common/scratch";
import { rtreeRead } from "./rtree";
import { binRec, slabcur, nonfullHeap, regionFree } from "./bin";
import { ecacheOf, ecacheState, ecacheNpages, binHeap, ECACHE_RETAINED } from "./ecache";
import { threadCount } from "./arena";
import { tcacheBins, ncached, cachedAt } from "./tcache";

export { setCheckEvery, debugLoad64, debugStore64 } from "../common/debug";

export const RTREE_BOUNDARY: i32 = 1;
export const RTREE_INTERIOR: i32 = 2;
export const SLAB_NFREE: i32 = 3;
export const BIN_SLAB_WRONG: i32 = 4;
export const HEAP_LINKS: i32 = 5;
export const ECACHE_STATE: i32 = 6;
export const ECACHE_PAGES: i32 = 7;
export const RETAINED_UNCOALESCED: i32 = 8;
export const TCACHE_POINTER: i32 = 9;

/** What violation `code` means. */
export function checkMessage(code: i32): string {
  switch (code) {
    case RTREE_BOUNDARY: return "the rtree does not map the extent's first or last page to it";
    case RTREE_INTERIOR: return "the rtree does not map an interior page of a slab to it";
    case SLAB_NFREE: return "a slab's free count disagrees with its bitmap";
    case BIN_SLAB_WRONG: return "a bin's current or non-full slab is not a non-full slab of that bin";
    case HEAP_LINKS: return "a pairing heap's back links disagree with its forward links";
    case ECACHE_STATE: return "an extent in an ecache has another state, or sits in the wrong size bin";
    case ECACHE_PAGES: return "an ecache's page count does not add up";
    case RETAINED_UNCOALESCED: return "two adjacent retained extents of one mapping were not coalesced";
    case TCACHE_POINTER: return "a thread cache holds a pointer that is not a cached object of its class";
    default: return "unknown violation";
  }
}

/** The nodes of the heap being checked. */
const nodes = new Scratch(8, 64);

/** Extent-level invariants: rtree registration, slab counts, retained coalescing. */
function checkExtents(): void {
  const records = recordCount();
  for (let i: u64 = 0; i < records; i++) {
    const e = recordAt(i);
    const state = eState(e);
    if (state == FREE_RECORD) continue;
    if (rtreeRead(eBase(e)) != e || rtreeRead(ePast(e) - PAGE) != e) violation(RTREE_BOUNDARY, eBase(e));
    if (state == STATE_ACTIVE && eSlab(e)) {
      for (let va = eBase(e) + PAGE; va < ePast(e) - PAGE; va += PAGE) {
        if (rtreeRead(va) != e) violation(RTREE_INTERIOR, va);
      }
      const nregs = <u64>binNregs(<i32>eSzind(e));
      let free: u32 = 0;
      for (let r: u64 = 0; r < nregs; r++) if (regionFree(e, r)) free++;
      if (free != eNfree(e)) violation(SLAB_NFREE, eBase(e));
    }
    if (state == STATE_RETAINED) {
      const next = rtreeRead(ePast(e));
      if (next != 0 && eBase(next) == ePast(e) && eState(next) == STATE_RETAINED && !eHead(next)) {
        violation(RETAINED_UNCOALESCED, ePast(e));
      }
    }
  }
}

/** Bin invariants of arena `a`. */
function checkBins(a: i32): void {
  for (let b = 0; b < NBINS; b++) {
    const bin = binRec(a, b);
    const cur = slabcur(bin);
    if (cur != 0 && (eState(cur) != STATE_ACTIVE || !eSlab(cur) || <i32>eSzind(cur) != b)) {
      violation(BIN_SLAB_WRONG, eBase(cur));
    }
    if (!phNodes(nonfullHeap(bin), nodes, recordCount())) {
      violation(HEAP_LINKS, bin);
      continue;
    }
    for (let i = 0; i < nodes.count; i++) {
      const s = load<u64>(nodes.at(i));
      if (eState(s) != STATE_ACTIVE || !eSlab(s) || <i32>eSzind(s) != b || eNfree(s) == 0 || s == cur) {
        violation(BIN_SLAB_WRONG, eBase(s));
        break;
      }
    }
  }
}

/** Ecache invariants of arena `a`. */
function checkEcaches(a: i32): void {
  for (let which = 0; which <= ECACHE_RETAINED; which++) {
    const ec = ecacheOf(a, which);
    let pages: u64 = 0;
    for (let pind = 0; pind < pszCount(); pind++) {
      const heap = binHeap(ec, pind);
      if (!phNodes(heap, nodes, recordCount())) {
        violation(HEAP_LINKS, heap);
        continue;
      }
      for (let i = 0; i < nodes.count; i++) {
        const e = load<u64>(nodes.at(i));
        if (eState(e) != ecacheState(which) || psz2ind(pszQuantizeFloor(eSize(e))) != pind) {
          violation(ECACHE_STATE, eBase(e));
          break;
        }
        pages += eSize(e) >> LG_PAGE;
      }
    }
    if (pages != ecacheNpages(ec)) violation(ECACHE_PAGES, <u64>which);
  }
}

/** Thread-cache invariants. */
function checkTcaches(): void {
  const threads = threadCount();
  for (let t = 0; t < threads; t++) {
    for (let b = 0; b < tcacheBins(); b++) {
      const n = ncached(t, b);
      for (let i: u32 = 0; i < n; i++) {
        const p = cachedAt(t, b, i);
        const e = rtreeRead(p);
        let ok = e != 0 && eState(e) == STATE_ACTIVE && <i32>eSzind(e) == b;
        if (ok && eSlab(e)) {
          const off = p - eBase(e);
          ok = off % index2size(b) == 0 && !regionFree(e, off / index2size(b));
        } else if (ok) {
          ok = eAddr(e) == p;
        }
        if (!ok) violation(TCACHE_POINTER, p);
      }
    }
  }
}

/** Checks every invariant; writes up to `capacity` violation records to `buffer`; returns how many it found. */
export function check(buffer: usize, capacity: i32): i32 {
  violationsBegin(buffer, capacity);
  checkExtents();
  const n = <i32>gld(G_NARENAS);
  for (let a = 0; a < n; a++) {
    if (ald(a, A_EXISTS) == 0) continue;
    checkBins(a);
    checkEcaches(a);
  }
  checkTcaches();
  return violationCount();
}

/** Runs the check when one is due (see setCheckEvery); false, with the error raised, when the heap is broken. */
export function checkAfterOp(): bool {
  if (!checkDue() || check(0, 0) == 0) return true;
  raise(CHECK_FAILED, checkFailureMessage(checkMessage(firstViolationCode()), firstViolationAddress()));
  return false;
}
