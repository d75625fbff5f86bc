// Resident pages: which 4 KiB pages of the simulated process the program has touched and the allocator has not
// given back, counted exactly at a cost that does not grow with the size of a block.
//
// A bitmap over the 48-bit address space holds one bit per page, in 64 KiB bitmap frames that each cover 2^19
// pages (2 GiB). A frame whose pages are all resident is not kept as bits: its byte in the summary says "full" and
// its bitmap frame is released, so a block of terabytes marks and releases a few summary bytes, not 2^28 bits.
//
//   RESIDENT_BASE + (page >> 3)      bit (page & 7): page resident        (frames backed on first store)
//   SUMMARY_BASE + (page >> 19)      1: every page of that bitmap frame is resident, the frame itself unmapped
//
// A range is split at frame boundaries: whole frames flip their summary byte, the partial frames at either end
// change their bits a 64-bit word at a time.
//
// Metrics memory bypasses the journal (plain loads and stores through `lin`): metrics change only after an
// operation has completed.

import { vmMap, vmUnmap, vmIsMapped, lin } from "./vmem";

const RESIDENT_BASE: u64 = 0xfffa_0000_0000;
const SUMMARY_BASE: u64 = 0xfff9_0000_0000;

const PAGE_BITS: u64 = 12;
/** Pages covered by one 64 KiB bitmap frame. */
const FRAME_PAGE_BITS: u64 = 19;
const FRAME_PAGES: u64 = 1 << FRAME_PAGE_BITS;
const FRAME_BYTES: u64 = 0x10000;

let residentPages: u64 = 0;

/** Resident pages now. */
export function residentPageCount(): u64 {
  return residentPages;
}

// @ts-ignore: decorator
@inline function frameBase(frame: u64): u64 { return RESIDENT_BASE + (frame << 16); }
// @ts-ignore: decorator
@inline function summaryAt(frame: u64): u64 { return SUMMARY_BASE + frame; }

function isFull(frame: u64): bool {
  const at = summaryAt(frame);
  return vmIsMapped(at) && load<u8>(lin(at)) != 0;
}

function setFull(frame: u64, full: bool): void {
  const at = summaryAt(frame);
  if (!vmIsMapped(at)) vmMap(at, 1);
  store<u8>(lin(at), full ? 1 : 0);
}

/** Resident pages recorded as bits in `frame`'s bitmap (0 when it is unmapped). */
function bitsInFrame(frame: u64): u64 {
  const base = frameBase(frame);
  if (!vmIsMapped(base)) return 0;
  const p = lin(base);
  let n: u64 = 0;
  for (let o: usize = 0; o < <usize>FRAME_BYTES; o += 8) n += popcnt(load<u64>(p + o));
  return n;
}

/** The mask of bits [from, to) of the 64-bit word holding bit `from` (to ≤ the word's end). */
// @ts-ignore: decorator
@inline function wordMask(from: u64, to: u64): u64 {
  const lo = from & 63;
  const n = to - from;
  return (n == 64 ? u64.MAX_VALUE : ((<u64>1 << n) - 1)) << lo;
}

/** Sets (or clears) the bits of pages [from, to), all inside one bitmap frame; returns how many changed. */
function flipBits(from: u64, to: u64, set: bool): u64 {
  const base = frameBase(from >> FRAME_PAGE_BITS);
  const p = lin(base);
  let changed: u64 = 0;
  let page = from;
  while (page < to) {
    const wordEnd = (page | 63) + 1;
    const stop = to < wordEnd ? to : wordEnd;
    const mask = wordMask(page, stop);
    const at = p + <usize>(((page & (FRAME_PAGES - 1)) >> 6) << 3);
    const word = load<u64>(at);
    const flipped = set ? mask & ~word : mask & word;
    if (flipped != 0) {
      store<u64>(at, set ? word | mask : word & ~mask);
      changed += popcnt(flipped);
    }
    page = stop;
  }
  return changed;
}

/** Calls `visit` for each bitmap frame that pages [first, end) overlap, with the part [page, stop) inside it. */
function eachFrame(first: u64, end: u64, visit: (frame: u64, page: u64, stop: u64, whole: bool) => void): void {
  let page = first;
  while (page < end) {
    const frame = page >> FRAME_PAGE_BITS;
    const frameEnd = (frame + 1) << FRAME_PAGE_BITS;
    const stop = end < frameEnd ? end : frameEnd;
    visit(frame, page, stop, page == frame << FRAME_PAGE_BITS && stop == frameEnd);
    page = stop;
  }
}

/** Pages [page, stop) of `frame` became resident. */
function markInFrame(frame: u64, page: u64, stop: u64, whole: bool): void {
  if (isFull(frame)) return;
  const base = frameBase(frame);
  if (whole) {
    residentPages += FRAME_PAGES - bitsInFrame(frame);
    vmUnmap(base, FRAME_BYTES);
    setFull(frame, true);
    return;
  }
  if (!vmIsMapped(base)) vmMap(base, FRAME_BYTES);
  residentPages += flipBits(page, stop, true);
}

/** Pages [page, stop) of `frame` are no longer resident. */
function releaseInFrame(frame: u64, page: u64, stop: u64, whole: bool): void {
  const base = frameBase(frame);
  if (whole) {
    if (isFull(frame)) {
      residentPages -= FRAME_PAGES;
      setFull(frame, false);
    } else {
      residentPages -= bitsInFrame(frame);
      vmUnmap(base, FRAME_BYTES);
    }
    return;
  }
  if (isFull(frame)) {
    // part of a full frame goes: write its bits out first
    vmMap(base, FRAME_BYTES);
    memory.fill(lin(base), 0xff, <usize>FRAME_BYTES);
    setFull(frame, false);
  }
  if (vmIsMapped(base)) residentPages -= flipBits(page, stop, false);
}

/** The pages overlapping [va, va + len) became resident (an allocation handed them out). */
export function residentTouch(va: u64, len: u64): void {
  if (len == 0) return;
  eachFrame(va >> PAGE_BITS, ((va + len - 1) >> PAGE_BITS) + 1, markInFrame);
}

/** The whole pages inside [va, va + len) are no longer resident (brk shrink, munmap, madvise). */
export function residentRelease(va: u64, len: u64): void {
  const first = (va + (1 << PAGE_BITS) - 1) >> PAGE_BITS;
  const end = (va + len) >> PAGE_BITS;
  eachFrame(first, end, releaseInFrame);
}
