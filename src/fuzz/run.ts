// Replays one trace through a fresh lab, checking after every operation what must hold for any allocator:
//
//   invariants     the model's own checker (bins and boundary tags, spans and pagemap … as the model keeps them)
//   no error       a trace that frees only live objects never makes the allocator abort
//   aligned        every returned address is 16-byte aligned (8 for requests of 8 bytes or less), and aligned
//                  as asked by the memalign family
//   usable         malloc_usable_size is at least the request
//   disjoint       live blocks never overlap
//   deterministic  the same trace gives the same addresses and statistics twice

import { createLab, type Lab } from "../lab/lab.js";
import { hasChecker, type Violation } from "../lab/check.js";
import { requestedBytes } from "../trace/types.js";
import { HeapError } from "../lab/types.js";
import type { LabOptions, ModelName } from "../lab/types.js";
import { OpCode, type TraceBatch, type TraceOp } from "../trace/types.js";
import { traceSource } from "./source.js";

export type PropertyName = "invariants" | "no-error" | "aligned" | "usable" | "disjoint" | "deterministic" | "custom";

/** A property that failed, and where. */
export interface Finding {
  property: PropertyName;
  message: string;
  /** Index in the trace of the operation after which it failed (-1: after the whole trace). */
  op: number;
  /** The checker's violations at that point (for "invariants"). */
  violations: Violation[];
}

/** A further property, run once the trace has been replayed: false or a throw fails it. */
export type CustomProperty = (lab: Lab, ops: readonly TraceOp[]) => boolean | void | Promise<boolean | void>;

export interface RunOptions {
  model: ModelName;
  tunables?: LabOptions["tunables"];
  options?: LabOptions["options"];
  /** Run the model's checker after every `checkEvery` operations (default 1; 0 = never). */
  checkEvery?: number;
  /** Replay a second time and compare (default true). */
  deterministic?: boolean;
  property?: CustomProperty;
  /** Prepares each fresh lab before the trace is replayed (blocks allocated before the trace began, …). */
  setup?: (lab: Lab) => void;
}

interface Block {
  start: number;
  end: number;
  name: number;
}

/** Live blocks sorted by address, for the overlap test. */
class Blocks {
  private readonly sorted: Block[] = [];
  private readonly byName = new Map<number, Block>();

  private lowerBound(start: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid].start < start) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** Adds a block; returns the live block it overlaps, if any. */
  add(block: Block): Block | undefined {
    const i = this.lowerBound(block.start);
    const before = this.sorted[i - 1];
    const after = this.sorted[i];
    this.sorted.splice(i, 0, block);
    this.byName.set(block.name, block);
    if (before && before.end > block.start) return before;
    if (after && after.start < block.end) return after;
    return undefined;
  }

  remove(name: number): void {
    const block = this.byName.get(name);
    if (!block) return;
    this.byName.delete(name);
    let i = this.lowerBound(block.start);
    while (this.sorted[i] !== block) i++;
    this.sorted.splice(i, 1);
  }
}

const hex = (v: number) => `0x${v.toString(16)}`;

/**
 * The alignment a block must have: 16 bytes (max_align_t), except that a request of 8 bytes or less holds no
 * object that needs more than 8 (TCMalloc's 8-byte class relies on this); the memalign family asks for more.
 */
function alignmentAsked(batch: TraceBatch, i: number, request: number): number {
  const code = batch.code[i];
  const fundamental = request <= 8 ? 8 : 16;
  if (code === OpCode.memalign || code === OpCode.alignedAlloc || code === OpCode.posixMemalign) {
    const a = batch.a[i];
    return a > fundamental && (a & (a - 1)) === 0 ? a : fundamental;
  }
  return code === OpCode.valloc || code === OpCode.pvalloc ? 4096 : fundamental;
}

/** A fresh lab for one run (no replay metrics: the properties never read them). */
function labFor(options: RunOptions): Promise<Lab> {
  return createLab({ model: options.model, tunables: options.tunables, options: options.options, metrics: false });
}

/** Replays `ops` in one batch without checks; returns every result and the final statistics. */
async function plainReplay(ops: readonly TraceOp[], options: RunOptions): Promise<number[]> {
  const lab = await labFor(options);
  options.setup?.(lab);
  const trail: number[] = [];
  const observe = (_batch: TraceBatch, from: number, to: number, results: Float64Array) => {
    for (let i = 0; i < 2 * (to - from); i++) trail.push(results[i]);
  };
  await lab.replay(traceSource(ops), { observe });
  trail.push(...Object.values(lab.stats()));
  return trail;
}

/** Replays `ops` once, one operation per batch, testing the per-operation properties. */
async function checkedReplay(ops: readonly TraceOp[], options: RunOptions, trail: number[]): Promise<Finding | null> {
  const lab = await labFor(options);
  options.setup?.(lab);
  const checkEvery = hasChecker(lab.handle) ? options.checkEvery ?? 1 : 0;
  const blocks = new Blocks();
  let index = 0;
  let finding: Finding | null = null;
  const fail = (property: PropertyName, message: string) => {
    finding ??= { property, message, op: index, violations: [] };
  };
  const observe = (batch: TraceBatch, _from: number, to: number, results: Float64Array) => {
    for (let i = 0; i < to; i++, index++) {
      const op = ops[index];
      const address = results[i * 2];
      trail.push(address, results[i * 2 + 1]);
      const keepsOld = op.code === OpCode.realloc && address === 0 && op.a !== 0; // a failed realloc
      if ((op.code === OpCode.free || op.code === OpCode.realloc) && !keepsOld) blocks.remove(op.ptr);
      if (op.code === OpCode.free || op.code === OpCode.trim || address === 0) continue;
      const request = requestedBytes(batch, i);
      const asked = alignmentAsked(batch, i, request);
      if (address % asked !== 0) fail("aligned", `op ${index} returned ${hex(address)}, not ${asked}-byte aligned`);
      const usable = lab.usableSize(address);
      if (usable < request) {
        fail("usable", `op ${index} returned ${hex(address)} with ${usable} usable bytes for a ${request}-byte request`);
      }
      const other = blocks.add({ start: address, end: address + Math.max(usable, 1), name: op.res });
      if (other) {
        fail("disjoint", `op ${index} returned ${hex(address)} (${usable} bytes), overlapping the live block at ` +
          `${hex(other.start)} (${other.end - other.start} bytes)`);
      }
      if (finding) throw finding;
    }
  };
  try {
    await lab.replay(traceSource(ops, { batchSize: 1 }), { observe, checkEvery });
  } catch (e) {
    if (e === finding) return finding;
    if (!(e instanceof HeapError)) throw e;
    const op = e.line !== undefined ? e.line - 2 : index;
    if (e.kind === "check") {
      return { property: "invariants", message: e.allocatorMessage, op, violations: lab.check() };
    }
    return { property: "no-error", message: `op ${op} failed: ${e.allocatorMessage}`, op, violations: [] };
  }
  if (checkEvery === 0 && hasChecker(lab.handle)) {
    const violations = lab.check();
    if (violations.length) return { property: "invariants", message: violations[0].message, op: -1, violations };
  }
  trail.push(...Object.values(lab.stats()));
  if (options.property) {
    let verdict: boolean | void;
    try {
      verdict = await options.property(lab, ops);
    } catch (e) {
      return { property: "custom", message: (e as Error).message ?? String(e), op: -1, violations: [] };
    }
    if (verdict === false) return { property: "custom", message: "the property returned false", op: -1, violations: [] };
  }
  return null;
}

/** Replays `ops` through a fresh model; returns the first property that fails, or null. */
export async function runTrace(ops: readonly TraceOp[], options: RunOptions): Promise<Finding | null> {
  const first: number[] = [];
  const finding = await checkedReplay(ops, options, first);
  if (finding || options.deterministic === false) return finding;
  const second = await plainReplay(ops, options);
  const at = first.findIndex((v, i) => !Object.is(v, second[i]));
  if (at >= 0 || first.length !== second.length) {
    const op = Math.floor((at < 0 ? Math.min(first.length, second.length) : at) / 2);
    return {
      property: "deterministic",
      message: op < ops.length ? `op ${op} returned a different result on the second replay` : "final statistics differ",
      op: op < ops.length ? op : -1,
      violations: [],
    };
  }
  return null;
}
