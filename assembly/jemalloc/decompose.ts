// Where jemalloc's footprint goes, and the replay-metrics hook of the model.
//
// The footprint is what the process has touched and not given back: base blocks plus active, dirty and muzzy
// pages (stats.resident as the model counts it; retained pages are mapped but untouched). It splits into parts,
// each read from running counts (no walk, so a decomposition at every peak stays cheap):
//
//   part          what
//   ────────────  ─────────────────────────────────────────────────────────────────────────────────────────
//   live          bytes the program asked for, in every allocated object
//   rounding      an allocated object's size class beyond the request
//   tcache        free objects in the threads' caches
//   slabs         free regions of slabs, slab tails, large pads and the tcaches' own stacks
//   dirty         freed extents not yet purged
//   muzzy         lazily purged extents
//   metadata      base blocks
//
// `afterOp` is the one call the replay loop makes per operation.

import { metricsAfterOp, metricsEnabled, metricsUseDecomposer } from "../common/metrics";
import { gld, G_LIVE_REQUESTED, G_LIVE_USABLE, MAX_THREADS } from "./globals";
import { ECACHE_DIRTY, ECACHE_MUZZY } from "./ecache";
import { activeBytes, baseBytes, ecacheBytes } from "./stats";
import { cachedBytes } from "./tcache";
import { threadCount } from "./arena";

const PART_NAMES: string = "live,rounding,tcache,slabs,dirty,muzzy,metadata";
const PART_COUNT: i32 = 7;

/** Base blocks plus active, dirty and muzzy pages. */
export function footprintBytes(): u64 {
  return baseBytes() + activeBytes() + ecacheBytes(ECACHE_DIRTY) + ecacheBytes(ECACHE_MUZZY);
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
  let cached: u64 = 0;
  const threads = threadCount();
  for (let t = 0; t < threads && t < MAX_THREADS; t++) cached += cachedBytes(t);
  const dirty = ecacheBytes(ECACHE_DIRTY);
  const muzzy = ecacheBytes(ECACHE_MUZZY);
  const base = baseBytes();
  store<f64>(buffer, <f64>live);
  store<f64>(buffer, <f64>(usable - live), 8);
  store<f64>(buffer, <f64>cached, 16);
  store<f64>(buffer, <f64>footprintBytes() - <f64>(usable + cached + dirty + muzzy + base), 24);
  store<f64>(buffer, <f64>dirty, 32);
  store<f64>(buffer, <f64>muzzy, 40);
  store<f64>(buffer, <f64>base, 48);
  return PART_COUNT;
}

metricsUseDecomposer(decompose, PART_COUNT);
