// The error code every integrity abort carries; the message (glibc's own) tells them apart.

/** malloc_printerr: glibc prints the message and aborts the process. */
export const ABORT: i32 = 1;
/** What the real process would die of when the model follows a pointer into unmapped memory. */
export const SEGV_MESSAGE: string = "Segmentation fault";

// ── the invariant checker ────────────────────────────────────────────────────────────────────────────────
//
// After any operation, every structure of every arena must agree with every other:
//
//   chunks     each heap walks from its first chunk to its top (or fenceposts) with aligned sizes; a clear P bit
//              means the previous chunk is free and prev_size is its size; a free chunk's footer is its size;
//              no two adjacent free chunks (tcache and fastbin chunks look in use); the top is last and the main
//              heap ends at the break
//   lists      bins are doubly linked; each free chunk is on exactly one list, the right one for its size; large
//              bins run from large to small with a consistent nextsize ring; the binmap covers every non-empty
//              bin; fastbin and tcache chunks are in-use-looking chunks of their bin's size; tcache counts match
//   accounting system_mem is what the arena's heaps span; every mmapped chunk is page aligned and counted; on an
//              otherwise sound heap, the ledger's running totals decompose the footprint as a heap walk does
//
//   chunks of the walk (scratch, linear memory, in address order: main heap, then arena heaps by address)
//   ╒══════════════╤══════════════╤════════╤══════╕
//   │ chunk  u64   │ arena k  u32 │ list u8│ free │  16 bytes
//   ╘══════════════╧══════════════╧════════╧══════╛
//   list: the list that reached the chunk (LIST_* below) · free: the next chunk's P bit is clear

import { ld64, ld16, vmIsMapped } from "../common/vmem";
import { Scratch } from "../common/scratch";
import { layoutSynced, layoutSyncIn } from "./layout";
import { raise } from "../common/ops";
import {
  CHECK_FAILED, violationsBegin, violation, violationCount, firstViolationCode, firstViolationAddress, checkDue,
  checkFailureMessage,
} from "../common/debug";
import {
  chunkSize, sizeField, prevSize, prevInuse, isMmapped, fd, bk, fdNextsize, bkNextsize, protectPtr, largebinIndex,
  tcacheIndex, fastbinIndex, MINSIZE, CHUNK_HDR_SZ, MALLOC_ALIGN_MASK, NON_MAIN_ARENA, IS_MMAPPED, MIN_LARGE_SIZE,
} from "./chunk";
import {
  top, binAt, fastbinSlot, binmapWord, haveFastchunks, systemMem, NBINS, NFASTBINS,
} from "./mstate";
import {
  THREADS_BASE, PAGE, P_BRK, heapBaseAddress, P_N_MMAPS, P_MMAPPED_MEM, tcacheKey, param, tcacheBins, tcacheCount,
  globalMaxFast,
} from "./params";
import { mainArena, arenaAt, arenaCount, arenaFirstChunk, heapSize, heapForPtr, HEAP_INFO_SIZE } from "./arena";
import { mapCount, mapStart, mapLength, mapKind, mapChunk, MAP_CHUNK, MAP_HEAP, MAP_MAIN } from "./mmap";
import { ledgerMatchesWalk } from "./decompose";

export { setCheckEvery, debugLoad64, debugStore64 } from "../common/debug";

export const CHUNK_MISALIGNED: i32 = 1;
export const CHUNK_BAD_SIZE: i32 = 2;
export const CHUNK_BAD_FLAGS: i32 = 3;
export const PREV_INUSE_WRONG: i32 = 4;
export const FOOTER_MISMATCH: i32 = 5;
export const ADJACENT_FREE: i32 = 6;
export const FREE_BEFORE_TOP: i32 = 7;
export const TOP_NOT_LAST: i32 = 8;
export const HEAP_END: i32 = 9;
export const SYSTEM_MEM: i32 = 10;
export const LIST_LINKS: i32 = 11;
export const LIST_CYCLE: i32 = 12;
export const LIST_NOT_CHUNK: i32 = 13;
export const CHUNK_IN_TWO_LISTS: i32 = 14;
export const WRONG_ARENA: i32 = 15;
export const BIN_WRONG_SIZE: i32 = 16;
export const BIN_CHUNK_IN_USE: i32 = 17;
export const LARGE_BIN_ORDER: i32 = 18;
export const NEXTSIZE_LINKS: i32 = 19;
export const BINMAP: i32 = 20;
export const FASTBIN_WRONG_SIZE: i32 = 21;
export const FASTBIN_CHUNK_FREE: i32 = 22;
export const HAVE_FASTCHUNKS: i32 = 23;
export const TCACHE_COUNT: i32 = 24;
export const TCACHE_WRONG_SIZE: i32 = 25;
export const TCACHE_KEY_MISSING: i32 = 26;
export const TCACHE_CHUNK_FREE: i32 = 27;
export const FREE_CHUNK_UNLISTED: i32 = 28;
export const MMAP_CHUNK_BAD: i32 = 29;
export const MMAP_ACCOUNTING: i32 = 30;
export const LEDGER_DRIFT: i32 = 31;

/** What violation `code` means. */
export function checkMessage(code: i32): string {
  switch (code) {
    case CHUNK_MISALIGNED: return "chunk not 16-byte aligned";
    case CHUNK_BAD_SIZE: return "chunk size below MINSIZE, unaligned, or past the end of its heap";
    case CHUNK_BAD_FLAGS: return "chunk flags wrong for its heap (IS_MMAPPED set, or NON_MAIN_ARENA wrong)";
    case PREV_INUSE_WRONG: return "P bit clear but the previous chunk is not a free chunk of prev_size bytes";
    case FOOTER_MISMATCH: return "free chunk's size differs from the next chunk's prev_size";
    case ADJACENT_FREE: return "two adjacent free chunks";
    case FREE_BEFORE_TOP: return "free chunk before the top (not merged into it)";
    case TOP_NOT_LAST: return "the walk does not end with the top at the end of the heap";
    case HEAP_END: return "the main heap's top does not end at the program break";
    case SYSTEM_MEM: return "system_mem differs from what the arena's heaps span";
    case LIST_LINKS: return "bin links disagree (fd->bk != chunk)";
    case LIST_CYCLE: return "list longer than the heap has chunks (a cycle)";
    case LIST_NOT_CHUNK: return "list member is not a chunk of the heap";
    case CHUNK_IN_TWO_LISTS: return "chunk on two lists (or twice on one)";
    case WRONG_ARENA: return "chunk on a list of another arena";
    case BIN_WRONG_SIZE: return "chunk in the wrong bin for its size";
    case BIN_CHUNK_IN_USE: return "chunk in a bin while the next chunk's P bit says it is in use";
    case LARGE_BIN_ORDER: return "large bin not sorted from large to small";
    case NEXTSIZE_LINKS: return "large bin nextsize ring inconsistent";
    case BINMAP: return "non-empty bin not marked in the binmap";
    case FASTBIN_WRONG_SIZE: return "chunk in the wrong fastbin for its size";
    case FASTBIN_CHUNK_FREE: return "fastbin chunk whose next chunk's P bit is clear";
    case HAVE_FASTCHUNKS: return "have_fastchunks clear while a fastbin holds chunks";
    case TCACHE_COUNT: return "tcache count differs from its entries, or exceeds tcache_count";
    case TCACHE_WRONG_SIZE: return "tcache entry of the wrong size for its bin";
    case TCACHE_KEY_MISSING: return "tcache entry without the tcache key";
    case TCACHE_CHUNK_FREE: return "tcache chunk whose next chunk's P bit is clear";
    case FREE_CHUNK_UNLISTED: return "free chunk on no bin";
    case MMAP_CHUNK_BAD: return "mmapped chunk not page aligned, not flagged, or not its mapping's size";
    case MMAP_ACCOUNTING: return "n_mmaps or mmapped_mem differs from the mmapped chunks";
    case LEDGER_DRIFT: return "the ledger's running totals decompose the footprint otherwise than a heap walk";
    default: return "unknown violation";
  }
}

// ── scratch: the chunks of the walk ──────────────────────────────────────────────────────────────────────

const LIST_NONE: u8 = 0;
const LIST_BIN: u8 = 1;
const LIST_FASTBIN: u8 = 2;
const LIST_TCACHE: u8 = 3;

const records = new Scratch(16, 4096);

function keepChunk(p: u64, arena: u32, free: bool): void {
  const at = records.push();
  store<u64>(at, p);
  store<u32>(at, arena, 8);
  store<u8>(at, LIST_NONE, 12);
  store<u8>(at, free ? 1 : 0, 13);
}

// @ts-ignore: decorator
@inline function recordAt(i: i32): usize { return records.at(i); }

/** Index of the walk record of chunk `p`, or -1. */
function findChunk(p: u64): i32 {
  let lo = 0;
  let hi = records.count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const q = load<u64>(recordAt(mid));
    if (q == p) return mid;
    if (q < p) lo = mid + 1; else hi = mid - 1;
  }
  return -1;
}

// ── the walk ─────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Walks one heap of arena `k` from `first` to `end`: returns the end of the last chunk walked (the top's end
 * when the heap holds the top, the fencepost's start otherwise).
 */
function walkHeap(k: u32, av: u64, first: u64, end: u64): u64 {
  const t = top(av);
  const mainHeap = k == 0;
  let p = first;
  let previous: u64 = 0;
  let previousFree = false;
  while (p < end) {
    const size = chunkSize(p);
    if (((p + CHUNK_HDR_SZ) & MALLOC_ALIGN_MASK) != 0) {
      violation(CHUNK_MISALIGNED, p);
      return p;
    }
    if (!prevInuse(p)) {
      if (previous == 0 || !previousFree || prevSize(p) != p - previous) violation(PREV_INUSE_WRONG, p);
    }
    if (p == t) {
      if (previousFree) violation(FREE_BEFORE_TOP, previous);
      if (p + size != end && mainHeap) violation(TOP_NOT_LAST, p);
      return p + size;
    }
    if (!mainHeap && size < MINSIZE && (size == 0 || (size == CHUNK_HDR_SZ && chunkSize(p + CHUNK_HDR_SZ) == 0))) {
      return p; // the fenceposts that close a heap the arena has moved past
    }
    if (mainHeap && size == CHUNK_HDR_SZ && chunkSize(p + CHUNK_HDR_SZ) == CHUNK_HDR_SZ) {
      // the double fencepost that closes a top the main arena moved away from; the break may have moved on after it
      if (p + 2 * CHUNK_HDR_SZ == end) return end;
      p += 2 * CHUNK_HDR_SZ;
      previous = 0;
      previousFree = false;
      continue;
    }
    if (size < MINSIZE || (size & MALLOC_ALIGN_MASK) != 0 || p + size > end) {
      violation(CHUNK_BAD_SIZE, p);
      return p;
    }
    const free = !prevInuse(p + size);
    // glibc sets the A bit only on chunks it hands out; free chunks of other arenas may lack it
    const arenaBit = (sizeField(p) & NON_MAIN_ARENA) != 0;
    if ((sizeField(p) & IS_MMAPPED) != 0 || (mainHeap ? arenaBit : !free && !arenaBit)) violation(CHUNK_BAD_FLAGS, p);
    if (free) {
      if (prevSize(p + size) != size) violation(FOOTER_MISMATCH, p);
      if (previousFree) violation(ADJACENT_FREE, p);
    }
    keepChunk(p, k, free);
    previous = p;
    previousFree = free;
    p += size;
  }
  violation(TOP_NOT_LAST, t);
  return p;
}

/** Walks every arena's heaps in address order, recording their chunks; checks the arenas' sizes. */
function walkArenas(): void {
  records.clear();
  // The main arena: the brk heap, then the space it mapped when the break could not move.
  const brk = param(P_BRK);
  let mainBytes = brk - heapBaseAddress;
  if (brk != heapBaseAddress && walkHeap(0, mainArena, heapBaseAddress, brk) != brk) {
    violation(HEAP_END, top(mainArena));
  }
  for (let i: u64 = 0, n = mapCount(); i < n; i++) {
    if (mapKind(i) != MAP_MAIN) continue;
    const end = mapStart(i) + mapLength(i);
    if (walkHeap(0, mainArena, mapStart(i), end) != end) violation(HEAP_END, mapStart(i));
    mainBytes += mapLength(i);
  }
  if (systemMem(mainArena) != mainBytes) violation(SYSTEM_MEM, mainArena);
  const arenas = arenaCount();
  for (let k: u64 = 1; k < arenas; k++) heapBytes(arenaAt(k));
  for (let i: u64 = 0, n = mapCount(); i < n; i++) {
    if (mapKind(i) != MAP_HEAP) continue;
    const h = mapStart(i);
    const av = ld64(h);
    const k = arenaNumber(av);
    if (k < 0) continue;
    const first = h + HEAP_INFO_SIZE == av ? arenaFirstChunk(av) : h + HEAP_INFO_SIZE;
    const end = walkHeap(<u32>k, av, first, h + heapSize(h));
    if (heapForPtr(top(av)) == h && end != h + heapSize(h)) violation(TOP_NOT_LAST, top(av));
  }
}

/** Creation index of arena `av`, -1 when it is none. */
function arenaNumber(av: u64): i64 {
  for (let k: u64 = 0, n = arenaCount(); k < n; k++) if (arenaAt(k) == av) return <i64>k;
  return -1;
}

/** system_mem of a non-main arena must be the sum of its heaps' sizes. */
function heapBytes(av: u64): void {
  let total: u64 = 0;
  for (let i: u64 = 0, n = mapCount(); i < n; i++) {
    if (mapKind(i) == MAP_HEAP && ld64(mapStart(i)) == av) total += heapSize(mapStart(i));
  }
  if (systemMem(av) != total) violation(SYSTEM_MEM, av);
}

// ── lists ────────────────────────────────────────────────────────────────────────────────────────────────

/** Claims chunk `p` for `list` on behalf of arena `k`; returns its record index, -1 when it is no chunk. */
function claim(p: u64, k: u32, list: u8): i32 {
  const i = findChunk(p);
  if (i < 0) {
    violation(LIST_NOT_CHUNK, p);
    return -1;
  }
  const at = recordAt(i);
  if (load<u32>(at, 8) != k) violation(WRONG_ARENA, p);
  if (load<u8>(at, 12) != LIST_NONE) violation(CHUNK_IN_TWO_LISTS, p);
  store<u8>(at, list, 12);
  return i;
}

// @ts-ignore: decorator
@inline function recordFree(i: i32): bool { return load<u8>(recordAt(i), 13) != 0; }

/** Bin `b` of arena `av` (number `k`): links, sizes, order, nextsize ring and binmap. */
function checkBin(av: u64, k: u32, b: u64): void {
  const head = binAt(av, b);
  let q = head;
  let n: i32 = 0;
  let lastSize: u64 = u64.MAX_VALUE;
  let firstOfSize: u64 = 0;
  let previousFirst: u64 = 0;
  do {
    const next = fd(q);
    if (bk(next) != q) {
      violation(LIST_LINKS, q);
      return;
    }
    q = next;
    if (q == head) break;
    if (++n > records.count) {
      violation(LIST_CYCLE, head);
      return;
    }
    const i = claim(q, k, LIST_BIN);
    if (i < 0) return;
    const size = chunkSize(q);
    if (!recordFree(i)) violation(BIN_CHUNK_IN_USE, q);
    if (b >= 2 && (size < MIN_LARGE_SIZE ? size >> 4 : largebinIndex(size)) != b) violation(BIN_WRONG_SIZE, q);
    if (b >= 64) {
      if (size > lastSize) violation(LARGE_BIN_ORDER, q);
      if (size != lastSize) {
        if (previousFirst != 0 && (fdNextsize(previousFirst) != q || bkNextsize(q) != previousFirst)) {
          violation(NEXTSIZE_LINKS, q);
        }
        if (firstOfSize == 0) firstOfSize = q;
        previousFirst = q;
      }
      lastSize = size;
    }
  } while (true);
  if (firstOfSize != 0 && (fdNextsize(previousFirst) != firstOfSize || bkNextsize(firstOfSize) != previousFirst)) {
    violation(NEXTSIZE_LINKS, firstOfSize);
  }
  if (n > 0 && b >= 2 && (binmapWord(av, b >> 5) & (<u32>1 << <u32>(b & 31))) == 0) violation(BINMAP, head);
}

/** Fastbin `idx` of arena `av`: safe-linked singly linked chunks of its size that look in use. */
function checkFastbin(av: u64, k: u32, idx: u64): bool {
  let p = ld64(fastbinSlot(av, idx));
  let n: i32 = 0;
  while (p != 0) {
    if (++n > records.count) {
      violation(LIST_CYCLE, fastbinSlot(av, idx));
      break;
    }
    const i = claim(p, k, LIST_FASTBIN);
    if (i < 0) break;
    const size = chunkSize(p);
    if (size > globalMaxFast || fastbinIndex(size) != idx) violation(FASTBIN_WRONG_SIZE, p);
    if (recordFree(i)) violation(FASTBIN_CHUNK_FREE, p);
    p = protectPtr(p + 16, fd(p));
  }
  return n > 0;
}

/** Every list of arena `k`. */
function checkArenaLists(k: u32): void {
  const av = arenaAt(k);
  for (let b: u64 = 1; b < NBINS; b++) checkBin(av, k, b);
  let anyFast = false;
  for (let idx: u64 = 0; idx < NFASTBINS; idx++) anyFast = checkFastbin(av, k, idx) || anyFast;
  if (anyFast && !haveFastchunks(av)) violation(HAVE_FASTCHUNKS, av);
}

/** The arena a chunk of the walk belongs to, by record. */
// @ts-ignore: decorator
@inline function recordArena(i: i32): u32 { return load<u32>(recordAt(i), 8); }

/** One thread's tcache: counts match entries; entries are in-use-looking chunks of their bin with the key. */
function checkTcache(tc: u64): void {
  for (let idx: u64 = 0; idx < 64; idx++) {
    const count = <u64>ld16(tc + (idx << 1));
    let e = ld64(tc + 128 + (idx << 3));
    let n: u64 = 0;
    while (e != 0) {
      if (++n > <u64>records.count) {
        violation(LIST_CYCLE, tc);
        break;
      }
      const p = e - CHUNK_HDR_SZ;
      const i = findChunk(p);
      if (i < 0 || (e & MALLOC_ALIGN_MASK) != 0) {
        violation(LIST_NOT_CHUNK, p);
        break;
      }
      claim(p, recordArena(i), LIST_TCACHE);
      if (idx >= tcacheBins || tcacheIndex(chunkSize(p)) != idx) violation(TCACHE_WRONG_SIZE, p);
      if (ld64(e + 8) != tcacheKey) violation(TCACHE_KEY_MISSING, p);
      if (recordFree(i)) violation(TCACHE_CHUNK_FREE, p);
      e = protectPtr(e, ld64(e));
    }
    if (n != count || count > tcacheCount) violation(TCACHE_COUNT, tc + (idx << 1));
  }
}

/** The tcaches of all threads (dense indices: the scan stops after a long run of threads without one). */
function checkTcaches(): void {
  let idle = 0;
  for (let t: u64 = 0; idle < 256 && vmIsMapped(THREADS_BASE + (t << 4)); t++) {
    const tc = ld64(THREADS_BASE + (t << 4));
    if (tc == 0) {
      idle++;
      continue;
    }
    idle = 0;
    checkTcache(tc);
  }
}

/** Every free chunk of the walk was reached through a bin. */
function checkFreeChunksListed(): void {
  for (let i = 0; i < records.count; i++) {
    if (recordFree(i) && load<u8>(recordAt(i), 12) != LIST_BIN) violation(FREE_CHUNK_UNLISTED, load<u64>(recordAt(i)));
  }
}

/** Each mmapped chunk: flagged, page aligned, as large as its mapping; n_mmaps and mmapped_mem add up. */
function checkMmapped(): void {
  let n: u64 = 0;
  let bytes: u64 = 0;
  for (let i: u64 = 0, m = mapCount(); i < m; i++) {
    if (mapKind(i) != MAP_CHUNK) continue;
    const p = mapChunk(i);
    const offset = prevSize(p);
    const total = offset + chunkSize(p);
    if (!isMmapped(p) || p - offset != mapStart(i) || ((p - offset) & (PAGE - 1)) != 0 || (total & (PAGE - 1)) != 0
      || total != mapLength(i) || ((p + CHUNK_HDR_SZ) & MALLOC_ALIGN_MASK) != 0) {
      violation(MMAP_CHUNK_BAD, p);
    }
    n++;
    bytes += total;
  }
  if (n != param(P_N_MMAPS) || bytes != param(P_MMAPPED_MEM)) violation(MMAP_ACCOUNTING, 0);
}

// ── entry points ─────────────────────────────────────────────────────────────────────────────────────────

/** Checks every invariant; writes up to `capacity` violation records to `buffer`; returns how many it found. */
export function check(buffer: usize, capacity: i32): i32 {
  if (layoutSynced()) layoutSyncIn(); // the program may have changed libc's variables since the last call
  violationsBegin(buffer, capacity);
  walkArenas();
  for (let k: u32 = 0, n = <u32>arenaCount(); k < n; k++) checkArenaLists(k);
  checkTcaches();
  checkFreeChunksListed();
  checkMmapped();
  // A heap broken otherwise is walked differently from how its chunks were counted: only a sound one can tell.
  if (violationCount() == 0 && !ledgerMatchesWalk()) violation(LEDGER_DRIFT, 0);
  return violationCount();
}

/** Runs the check when one is due (see setCheckEvery); false, with the error raised, when the heap is broken. */
export function checkAfterOp(): bool {
  if (!checkDue() || check(0, 0) == 0) return true;
  raise(CHECK_FAILED, checkFailureMessage(checkMessage(firstViolationCode()), firstViolationAddress()));
  return false;
}
