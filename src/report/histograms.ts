// Size and lifetime histograms of a replay, read from the model's metrics (assembly/common/metrics.ts keeps them
// as it replays): request sizes in power-of-two buckets, and object lifetimes in operations (allocation to free;
// a realloc keeps its object).

/** One bucket: values in (from, to], or exactly 0 for the first bucket of sizes. */
export interface Bucket {
  from: number;
  to: number;
  count: number;
  /** Sum of the values in the bucket (bytes for sizes, ops for lifetimes). */
  total: number;
}

export interface Histograms {
  /** Requested sizes of every allocation and realloc (calloc: nmemb × size). */
  sizes: Bucket[];
  /** Lifetimes in operations of the objects freed during the trace. */
  lifetimes: Bucket[];
  /** Objects still live at the end (no lifetime). */
  liveAtEnd: number;
}

/** Buckets per histogram: bucket 0 holds 0, bucket 1 holds 1, bucket k ≥ 2 holds (2^(k−2), 2^(k−1)], up to 2^64. */
export const HISTOGRAM_BUCKETS = 66;

/** The non-empty buckets of `values` (BUCKETS × count, total), starting at `at`. */
function buckets(values: Float64Array, at: number): Bucket[] {
  const out: Bucket[] = [];
  for (let k = 0; k < HISTOGRAM_BUCKETS; k++) {
    const count = values[at + 2 * k];
    if (count === 0) continue;
    out.push({ from: k <= 1 ? 0 : 2 ** (k - 2), to: k === 0 ? 0 : 2 ** (k - 1), count, total: values[at + 2 * k + 1] });
  }
  return out;
}

/** The histograms from what the model's `histogramsInto` wrote: sizes, lifetimes, objects live. */
export function readHistograms(values: Float64Array): Histograms {
  return {
    sizes: buckets(values, 0),
    lifetimes: buckets(values, 2 * HISTOGRAM_BUCKETS),
    liveAtEnd: values[4 * HISTOGRAM_BUCKETS],
  };
}
