// Johnstone & Wilson's four fragmentation measures and CS:APP's peak utilization, from the wasm accumulators.
// Definitions: /work/shared/reference/peers.md §5.1–5.2 (H = footprint, L = live requested bytes).

import type { RawMetrics } from "./metrics.js";
import { ALL_PARTS } from "../models/index.js";

/**
 * J&W #1–#4 as fractions (0.25 = 25 % more memory than live): #1 mean over ops of H/L − 1 (ops with L = 0
 * skipped), #2 H/L − 1 at the peak of L, #3 H/L − 1 at the peak of H (peaks and their ties: docs/report-schema.md),
 * #4 max H / max L − 1.
 * A measure is null when its denominator is 0.
 */
export function johnstoneWilson(m: RawMetrics): [number | null, number | null, number | null, number | null] {
  const ratio = (h: number, l: number): number | null => (l > 0 ? h / l - 1 : null);
  return [
    m.ratioCount > 0 ? m.ratioSum / m.ratioCount - 1 : null,
    ratio(m.footprintAtMaxLive, m.maxLive),
    ratio(m.maxFootprint, m.liveAtMaxFootprint),
    ratio(m.maxFootprint, m.maxLive),
  ];
}

/**
 * CS:APP peak utilization: max live / footprint. The textbook's heap never shrinks, so its final heap size is
 * the maximum footprint here; null when nothing was ever held.
 */
export function peakUtilization(m: RawMetrics): number | null {
  return m.maxFootprint > 0 ? m.maxLive / m.maxFootprint : null;
}

/** The footprint at one point split into what the program asked for and three kinds of overhead (fractions). */
export interface Explained {
  /** Requested bytes. */
  live: number;
  /** Inside allocated blocks: headers, rounding to chunk sizes or size classes, page rounding of mmapped chunks. */
  internal: number;
  /** Free memory the allocator holds: caches, bins and lists, top chunk, free spans. */
  external: number;
  /** The allocator's own structures. */
  metadata: number;
}

/**
 * Splits a decomposition (part → bytes) into the fractions of `Explained` by what the models' descriptors say each
 * part means (a part no descriptor names counts as free memory); null for an empty footprint.
 */
export function explain(parts: Record<string, number>): Explained | null {
  const out: Explained = { live: 0, internal: 0, external: 0, metadata: 0 };
  let total = 0;
  for (const [name, bytes] of Object.entries(parts)) {
    total += bytes;
    out[ALL_PARTS.get(name)?.meaning ?? "external"] += bytes;
  }
  if (total <= 0) return null;
  return { live: out.live / total, internal: out.internal / total, external: out.external / total,
    metadata: out.metadata / total };
}
