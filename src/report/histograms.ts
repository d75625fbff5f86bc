// Size and lifetime histograms of a trace, built from the TraceBatch stream (no model involved): request sizes
// in power-of-two buckets, and object lifetimes in operations (allocation to free; a realloc keeps its object).

import { AddressTable } from "../lab/address-table.js";
import { OpCode, type TraceBatch, requestedBytes } from "../trace/types.js";

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

/** Bucket index of `v`: bucket 0 holds 0, bucket 1 holds 1, bucket k ≥ 2 holds (2^(k−2), 2^(k−1)]. */
function bucketOf(v: number): number {
  return v <= 0 ? 0 : Math.ceil(Math.log2(v)) + 1;
}

function bump(counts: number[], totals: number[], v: number): void {
  const k = bucketOf(v);
  while (counts.length <= k) {
    counts.push(0);
    totals.push(0);
  }
  counts[k]++;
  totals[k] += v;
}

function buckets(counts: number[], totals: number[]): Bucket[] {
  return counts.map((count, k) => ({
    from: k <= 1 ? 0 : 2 ** (k - 2),
    to: k === 0 ? 0 : 2 ** (k - 1),
    count,
    total: totals[k],
  })).filter((b) => b.count > 0);
}

/** Accumulates the histograms batch by batch; `observe` fits a BatchObserver. */
export class HistogramBuilder {
  private readonly sizeCounts: number[] = [];
  private readonly sizeTotals: number[] = [];
  private readonly lifeCounts: number[] = [];
  private readonly lifeTotals: number[] = [];
  /** Live trace address → the op that allocated its object. */
  private readonly born = new AddressTable();
  private op = 0;

  observe = (batch: TraceBatch, from: number, to: number): void => {
    for (let i = from; i < to; i++) this.add(batch, i);
  };

  private add(batch: TraceBatch, i: number): void {
    const op = ++this.op;
    const code = batch.code[i];
    const ptr = batch.ptr[i];
    const res = batch.res[i];
    if (code === OpCode.trim) return;
    if (code === OpCode.free || (code === OpCode.realloc && ptr !== 0 && batch.a[i] === 0)) {
      this.end(ptr, op);
      return;
    }
    bump(this.sizeCounts, this.sizeTotals, requestedBytes(batch, i));
    if (res === 0) return;
    if (code === OpCode.realloc && ptr !== 0) {
      const birth = this.born.live(ptr);
      if (birth < 0 || res === ptr) return;
      this.born.end(ptr, op);
      this.born.bind(res, birth);
      return;
    }
    this.born.bind(res, op);
  }

  private end(ptr: number, op: number): void {
    const birth = this.born.live(ptr);
    if (birth < 0) return;
    this.born.end(ptr, op);
    bump(this.lifeCounts, this.lifeTotals, op - birth);
  }

  result(): Histograms {
    return {
      sizes: buckets(this.sizeCounts, this.sizeTotals),
      lifetimes: buckets(this.lifeCounts, this.lifeTotals),
      liveAtEnd: this.born.liveObjects,
    };
  }
}
