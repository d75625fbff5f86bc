// Where ptmalloc's footprint goes, and the replay-metrics hook of the model.
//
// The footprint is what mallinfo2 calls `arena + hblkhd`: the system memory of every arena (the brk extent of
// the main arena, the heaps of the others) plus the mmapped chunks. The heap walk splits it into parts:
//
//   part        what
//   ──────────  ─────────────────────────────────────────────────────────────────────────────────────────────
//   live        bytes the program asked for, in every allocated chunk
//   headers     the size word of each allocated chunk (8 bytes; 16 for a mmapped chunk)
//   rounding    an allocated heap chunk's usable bytes beyond the request (alignment, MINSIZE, size classes)
//   tcache …    free chunks by where they sit: tcache, fastbins, unsorted, small bins, large bins, the top chunk
//   mmapSlack   a mmapped chunk's page rounding beyond the request
//   metadata    the rest: the tcache structure, heap_info and malloc_state of other arenas, fenceposts, padding
//
// The parts come from the ledger's running totals (ledger.ts) and the arenas' top chunks, at a cost that does not
// grow with the heap; `decomposeByWalk` computes the same parts from a heap walk, and the tests hold the two equal.
//
// `afterOp` is the one call the replay loop makes per operation.

import { metricsAfterOp, metricsEnabled, metricsUseDecomposer } from "../common/metrics";
import { systemMem } from "./mstate";
import { param, P_MMAPPED_MEM } from "./params";
import { arenaAt, arenaCount } from "./arena";
import { walkInto, STATE_ALLOCATED, STATE_TCACHE, STATE_TOP, STATE_MMAPPED } from "./walk";
import { top, unsortedChunks } from "./mstate";
import { chunkSize } from "./chunk";
import { listBytes, ownedRequested, ownedBytes, ownedChunks, LIST_COUNT } from "./ledger";

const PART_NAMES: string = "live,headers,rounding,tcache,fastbins,unsorted,smallBins,largeBins,top,mmapSlack,metadata";
const PART_COUNT: i32 = 11;
const P_LIVE: i32 = 0;
const P_HEADERS: i32 = 1;
const P_ROUNDING: i32 = 2;
const P_TOP: i32 = 8;
const P_MMAP_SLACK: i32 = 9;
const P_METADATA: i32 = 10;
/** Part of a free chunk, by walk state (tcache … top follow the state order). */
const P_FIRST_FREE: i32 = 3;

const SIZE_SZ: f64 = 8;
const RECORD_BYTES: usize = 64;

let records: usize = 0;
let recordCapacity: i32 = 0;

/** mallinfo2's arena + hblkhd: what the model holds from the system. */
export function footprintBytes(): u64 {
  let bytes = param(P_MMAPPED_MEM);
  for (let k: u64 = 0, n = arenaCount(); k < n; k++) bytes += systemMem(arenaAt(k));
  return bytes;
}

/** The metrics hook: op `i` of the batch has completed. */
export function afterOp(ops: usize, i: i32, results: usize): void {
  if (metricsEnabled()) metricsAfterOp(ops, i, results, footprintBytes());
}

/** Comma-separated names of the parts `decompose` writes. */
export function decomposeParts(): string {
  return PART_NAMES;
}

/** Walks the heap into the record buffer, growing it until every chunk fits; returns the number of records. */
function walkAll(): i32 {
  let n = walkInto(records, recordCapacity);
  while (n > recordCapacity) {
    recordCapacity = n + (n >> 1) + 64;
    records = heap.alloc(<usize>recordCapacity * RECORD_BYTES);
    n = walkInto(records, recordCapacity);
  }
  return n;
}

// @ts-ignore: decorator
@inline function add(buffer: usize, part: i32, v: f64): void {
  const at = buffer + (<usize>part << 3);
  store<f64>(at, load<f64>(at) + v);
}

/** Bytes of every arena's top chunk (an arena that never obtained memory has none). */
function topBytes(): u64 {
  let bytes: u64 = 0;
  for (let k: u64 = 0, n = arenaCount(); k < n; k++) {
    const av = arenaAt(k);
    const t = top(av);
    if (t != unsortedChunks(av)) bytes += chunkSize(t);
  }
  return bytes;
}

// @ts-ignore: decorator
@inline function put(buffer: usize, part: i32, v: u64): void {
  store<f64>(buffer + (<usize>part << 3), <f64>v);
}

/** Writes the parts of the current footprint at `buffer` (f64 each, adding up to it); returns their number. */
export function decompose(buffer: usize): i32 {
  const heapRequested = ownedRequested(false);
  const heapBytes = ownedBytes(false);
  const heapChunks = ownedChunks(false);
  const mmapRequested = ownedRequested(true);
  const mmapBytes = ownedBytes(true);
  const mmapChunks = ownedChunks(true);
  put(buffer, P_LIVE, heapRequested + mmapRequested);
  put(buffer, P_HEADERS, <u64>SIZE_SZ * heapChunks + 2 * <u64>SIZE_SZ * mmapChunks);
  put(buffer, P_ROUNDING, heapBytes - <u64>SIZE_SZ * heapChunks - heapRequested);
  let accounted = heapBytes + mmapBytes;
  for (let list = 0; list < LIST_COUNT; list++) {
    const bytes = listBytes(<u64>list);
    put(buffer, P_FIRST_FREE + list, bytes);
    accounted += bytes;
  }
  const topSize = topBytes();
  put(buffer, P_TOP, topSize);
  put(buffer, P_MMAP_SLACK, mmapBytes - 2 * <u64>SIZE_SZ * mmapChunks - mmapRequested);
  put(buffer, P_METADATA, footprintBytes() - accounted - topSize);
  return PART_COUNT;
}

/** The same parts as `decompose`, from a walk of every heap: the reference the ledger is tested against. */
export function decomposeByWalk(buffer: usize): i32 {
  memory.fill(buffer, 0, <usize>PART_COUNT << 3);
  const n = walkAll();
  let accounted: f64 = 0;
  for (let r = 0; r < n; r++) {
    const at = records + <usize>r * RECORD_BYTES;
    const size = load<f64>(at, 16);
    const requested = load<f64>(at, 24);
    const state = <i32>load<f64>(at, 32);
    const owned = load<f64>(at, 56) >= 0;
    if (state == STATE_ALLOCATED && owned) {
      add(buffer, P_LIVE, requested);
      add(buffer, P_HEADERS, SIZE_SZ);
      add(buffer, P_ROUNDING, size - SIZE_SZ - requested);
    } else if (state == STATE_MMAPPED && owned) {
      add(buffer, P_LIVE, requested);
      add(buffer, P_HEADERS, 2 * SIZE_SZ);
      add(buffer, P_MMAP_SLACK, size - 2 * SIZE_SZ - requested);
    } else if (state >= STATE_TCACHE && state <= STATE_TOP) {
      add(buffer, P_FIRST_FREE + state - STATE_TCACHE, size);
    } else {
      continue; // the tcache structure and other chunks the program never asked for: metadata
    }
    accounted += size;
  }
  add(buffer, P_METADATA, <f64>footprintBytes() - accounted);
  return PART_COUNT;
}

metricsUseDecomposer(decompose, PART_COUNT);

const ledgerParts = memory.data(PART_COUNT * 8);
const walkedParts = memory.data(PART_COUNT * 8);

/** True when the ledger's decomposition equals the heap walk's, part for part (the checker's LEDGER_DRIFT). */
export function ledgerMatchesWalk(): bool {
  decompose(ledgerParts);
  decomposeByWalk(walkedParts);
  return memory.compare(ledgerParts, walkedParts, <usize>PART_COUNT << 3) == 0;
}
