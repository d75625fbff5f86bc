// Where TCMalloc's footprint goes, and the replay-metrics hook of the model.
//
// The footprint is the heap size less the bytes released to the system (`generic.heap_size` −
// `tcmalloc.pageheap_unmapped_bytes`): every span the page heap holds and has not decommitted. Metadata (spans,
// thread caches, the pagemap) comes from separate MetaDataAlloc chunks and is not part of it. The heap walk
// splits it into parts:
//
//   part           what
//   ─────────────  ──────────────────────────────────────────────────────────────────────────────────────────
//   live           bytes the program asked for, in every allocated object or large span
//   rounding       an allocated object's size class (or a large span's pages) beyond the request
//   threadCaches   free objects in the per-thread free lists
//   transferCache  free objects in the transfer cache
//   centralLists   free objects on the central free lists' spans
//   pageHeapFree   free spans, still committed
//   spanTails      the bytes at the end of a small-object span that no object fits in
//   other          blocks the program never asked for (the library's own allocations at start-up), and anything
//                  the walk does not reach
//
// `afterOp` is the one call the replay loop makes per operation.

import { metricsAfterOp, metricsUseDecomposer } from "../common/metrics";
import { gld, G_SYSTEM_BYTES, G_UNMAPPED_BYTES } from "./globals";
import { walkHeap } from "./walk";

export { metricsConfigure, metricNames, metricsInto, metricsDecompose, countersInto, timelineRows, timelineInto,
  timelineClear } from "../common/metrics";

const PART_NAMES: string = "live,rounding,threadCaches,transferCache,centralLists,pageHeapFree,spanTails,other";
const PART_COUNT: i32 = 8;
const P_LIVE: i32 = 0;
const P_ROUNDING: i32 = 1;
const P_OTHER: i32 = 7;
/** Part of a free slot or span, by walk state − STATE_THREAD_CACHE (thread cache … span tail). */
const P_FIRST_FREE: i32 = 2;

const STATE_ALLOCATED: i32 = 0;
const STATE_THREAD_CACHE: i32 = 8;
const STATE_PAGEHEAP: i32 = 11;
const STATE_RELEASED: i32 = 12;
const STATE_SPAN_TAIL: i32 = 13;
const RECORD_BYTES: usize = 64;

let records: usize = 0;
let recordCapacity: i32 = 0;

/** Heap size less unmapped bytes: what the model holds from the system. */
export function footprintBytes(): u64 {
  return gld(G_SYSTEM_BYTES) - gld(G_UNMAPPED_BYTES);
}

/** The metrics hook: op `i` of the batch has completed. */
export function afterOp(ops: usize, i: i32, results: usize): void {
  metricsAfterOp(ops, i, results, footprintBytes());
}

/** Comma-separated names of the parts `decompose` writes. */
export function decomposeParts(): string {
  return PART_NAMES;
}

/** Walks the heap into the record buffer, growing it until every record fits; returns the number of records. */
function walkAll(): i32 {
  let n = walkHeap(records, recordCapacity);
  while (n > recordCapacity) {
    recordCapacity = n + (n >> 1) + 64;
    records = heap.alloc(<usize>recordCapacity * RECORD_BYTES);
    n = walkHeap(records, recordCapacity);
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
    const state = <i32>load<f64>(at, 32);
    if (state == STATE_ALLOCATED && load<f64>(at, 56) >= 0) {
      const requested = load<f64>(at, 24);
      add(buffer, P_LIVE, requested);
      add(buffer, P_ROUNDING, size - requested);
    } else if (state >= STATE_THREAD_CACHE && state <= STATE_SPAN_TAIL && state != STATE_RELEASED) {
      add(buffer, P_FIRST_FREE + (state < STATE_RELEASED ? state : STATE_PAGEHEAP + 1) - STATE_THREAD_CACHE, size);
    } else {
      continue; // blocks the program never asked for count as other; released spans are outside the footprint
    }
    accounted += size;
  }
  add(buffer, P_OTHER, <f64>footprintBytes() - accounted);
  return PART_COUNT;
}

metricsUseDecomposer(decompose, PART_COUNT);
