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
// `afterOp` is the one call the replay loop makes per operation.

import { metricsAfterOp, metricsEnabled, metricsUseDecomposer } from "../common/metrics";
import { systemMem } from "./mstate";
import { param, P_MMAPPED_MEM } from "./params";
import { arenaAt, arenaCount } from "./arena";
import { walkInto, STATE_ALLOCATED, STATE_TCACHE, STATE_TOP, STATE_MMAPPED } from "./walk";

const PART_NAMES: string = "live,headers,rounding,tcache,fastbins,unsorted,smallBins,largeBins,top,mmapSlack,metadata";
const PART_COUNT: i32 = 11;
const P_LIVE: i32 = 0;
const P_HEADERS: i32 = 1;
const P_ROUNDING: i32 = 2;
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

/** Writes the parts of the current footprint at `buffer` (f64 each, adding up to it); returns their number. */
export function decompose(buffer: usize): i32 {
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
