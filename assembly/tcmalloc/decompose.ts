// Where TCMalloc's footprint goes, and the replay-metrics hook of the model.
//
// The footprint is the heap size less the bytes released to the system (`generic.heap_size` −
// `tcmalloc.pageheap_unmapped_bytes`): every span the page heap holds and has not decommitted. Metadata (spans,
// thread caches, the pagemap) comes from separate MetaDataAlloc chunks and is not part of it. It splits into
// parts, each read from the model's running counts (no heap walk, so a decomposition at every peak stays cheap):
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
//   other          blocks the program never asked for (the library's own allocations at start-up)
//
// `afterOp` is the one call the replay loop makes per operation.

import { metricsAfterOp, metricsEnabled, metricsUseDecomposer } from "../common/metrics";
import { gld, G_SYSTEM_BYTES, G_UNMAPPED_BYTES, G_FREE_BYTES, G_LIVE_REQUESTED, G_LIVE_USABLE } from "./globals";
import { threadBytes, transferBytes, centralObjectBytes, spanTailBytes } from "./stats";

const PART_NAMES: string = "live,rounding,threadCaches,transferCache,centralLists,pageHeapFree,spanTails,other";
const PART_COUNT: i32 = 8;

/** Heap size less unmapped bytes: what the model holds from the system. */
export function footprintBytes(): u64 {
  return gld(G_SYSTEM_BYTES) - gld(G_UNMAPPED_BYTES);
}

/** The metrics hook: op `i` of the batch has completed. */
export function afterOp(ops: usize, i: i32, results: usize): void {
  if (metricsEnabled()) metricsAfterOp(ops, i, results, footprintBytes());
}

/** Comma-separated names of the parts `decompose` writes. */
export function decomposeParts(): string {
  return PART_NAMES;
}

/** Writes the parts of the current footprint at `buffer` (f64 each, adding up to it); returns their number. */
export function decompose(buffer: usize): i32 {
  const live = gld(G_LIVE_REQUESTED);
  const usable = gld(G_LIVE_USABLE);
  const thread = threadBytes();
  const transfer = transferBytes();
  const central = centralObjectBytes();
  const free = gld(G_FREE_BYTES);
  const tails = spanTailBytes();
  store<f64>(buffer, <f64>live);
  store<f64>(buffer, <f64>(usable - live), 8);
  store<f64>(buffer, <f64>thread, 16);
  store<f64>(buffer, <f64>transfer, 24);
  store<f64>(buffer, <f64>central, 32);
  store<f64>(buffer, <f64>free, 40);
  store<f64>(buffer, <f64>tails, 48);
  store<f64>(buffer, <f64>footprintBytes() - <f64>(usable + thread + transfer + central + free + tails), 56);
  return PART_COUNT;
}

metricsUseDecomposer(decompose, PART_COUNT);
