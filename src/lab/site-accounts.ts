// Live bytes and the blocks holding them, by call site, kept op by op beside a replay: what a call-site report
// reads at each peak. It follows the replay's own objects (the batch's object ids, the model's results), so its
// live bytes add up to the metrics' live bytes (assembly/common/metrics.ts counts the same ops the same way).
//
//   per object id      site index · requested bytes · usable bytes (0: not live)
//   per site index     live bytes · usable bytes · objects            (index 0: ops without a call site)

import { OpCode, type TraceBatch } from "../trace/types.js";
import { OP_SLOTS, REGION_SKIPPED, RESULT_SLOTS } from "./model.js";

/** The accounts of every site at one moment. */
export interface SiteSnapshot {
  /** The site id of each index (0: no site). */
  ids: number[];
  live: Float64Array;
  usable: Float64Array;
  objects: Float64Array;
}

/** Bytes an allocating op asks for, as the metrics count them. */
function requested(code: number, a: number, b: number): number {
  if (code === OpCode.calloc) return a * b;
  if (code === OpCode.memalign || code === OpCode.alignedAlloc || code === OpCode.posixMemalign) return b;
  return a;
}

export class SiteAccounts {
  private readonly indexOf = new Map<number, number>([[0, 0]]);
  private readonly ids: number[] = [0];
  private live: Float64Array = new Float64Array(64);
  private usable: Float64Array = new Float64Array(64);
  private objects: Float64Array = new Float64Array(64);
  private objectSite = new Int32Array(1024).fill(-1);
  private objectLive: Float64Array = new Float64Array(1024);
  private objectUsable: Float64Array = new Float64Array(1024);

  /** Applies window ops [first, last) (indexes into the model's ops, results and usable-size views). */
  apply(
    batch: TraceBatch, from: number, ops: Float64Array, results: Float64Array, usable: Float64Array | null,
    first: number, last: number,
  ): void {
    const sites = batch.site;
    for (let j = first; j < last; j++) {
      const object = ops[j * OP_SLOTS + 2];
      if (object < 0 || results[j * RESULT_SLOTS + 1] === REGION_SKIPPED) continue;
      const code = ops[j * OP_SLOTS];
      const a = ops[j * OP_SLOTS + 3];
      if (code === OpCode.trim) continue;
      if (code === OpCode.free || (code === OpCode.realloc && a === 0)) {
        this.release(object);
        continue;
      }
      if (results[j * RESULT_SLOTS] === 0) continue; // a failed call changes nothing
      const previous = object < this.objectSite.length ? this.objectSite[object] : -1;
      const site = sites ? sites[from + j] : 0;
      // A realloc without a site of its own keeps its block's.
      const index = site === 0 && code === OpCode.realloc && previous >= 0 ? previous : this.indexFor(site);
      this.release(object);
      this.hold(object, index, requested(code, a, ops[j * OP_SLOTS + 4]), usable ? usable[j] : 0);
    }
  }

  /** Distinct call sites seen so far. */
  get sites(): number {
    return this.ids.length - 1;
  }

  /** The accounts as they are now. */
  snapshot(): SiteSnapshot {
    const n = this.ids.length;
    return {
      ids: [...this.ids], live: this.live.slice(0, n), usable: this.usable.slice(0, n), objects: this.objects.slice(0, n),
    };
  }

  private indexFor(site: number): number {
    let index = this.indexOf.get(site);
    if (index === undefined) {
      index = this.ids.length;
      this.indexOf.set(site, index);
      this.ids.push(site);
      if (index >= this.live.length) {
        this.live = grow(this.live, index);
        this.usable = grow(this.usable, index);
        this.objects = grow(this.objects, index);
      }
    }
    return index;
  }

  private hold(object: number, index: number, bytes: number, usable: number): void {
    if (object >= this.objectSite.length) {
      const site = new Int32Array(Math.max(object + 1, this.objectSite.length * 2)).fill(-1);
      site.set(this.objectSite);
      this.objectSite = site;
      this.objectLive = grow(this.objectLive, object);
      this.objectUsable = grow(this.objectUsable, object);
    }
    this.objectSite[object] = index;
    this.objectLive[object] = bytes;
    this.objectUsable[object] = usable;
    this.live[index] += bytes;
    this.usable[index] += usable;
    this.objects[index]++;
  }

  private release(object: number): void {
    const index = object < this.objectSite.length ? this.objectSite[object] : -1;
    if (index < 0) return;
    this.live[index] -= this.objectLive[object];
    this.usable[index] -= this.objectUsable[object];
    this.objects[index]--;
    this.objectSite[object] = -1;
  }
}

function grow(a: Float64Array, index: number): Float64Array {
  const grown = new Float64Array(Math.max(index + 1, a.length * 2));
  grown.set(a);
  return grown;
}
