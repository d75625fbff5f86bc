// Batched replay: trace columns → the model's instance, which encodes them into its batch buffer and replays them
// → one wasm call per window of ops (assembly/common/trace-objects.ts does the per-op work).
//
// Trace addresses never reach the model. Each live trace address names an object id; ids are recycled when their
// object ends, and the model keeps id → simulated address. The replay resolves what the trace itself says about its
// addresses: a free of an address the trace never allocated predates the recording (skipped and counted; an error
// when `strict`), a free of an address whose object has ended is a double free (an error naming both lines; skipped
// and counted when `lenient`).
//
// Reallocs the trace cannot explain, one rule each (test/oracle/glibc-replay.c follows the same rules):
//   - realloc(unknown, n > 0): skipped and counted (unknownReallocs). The block was allocated before the recording
//     (or by the parent before a fork: replay the parent first, see `# fork-of`); neither malloc(n) nor
//     realloc(NULL, n) would put it where the program had it, and its result stays unknown, like the block.
//   - realloc(unknown, 0): a free of an unknown address, skipped and counted with those (unknownFrees).
//   - a recorded failure, realloc(p, n) → NULL: replayed (failedReallocs). A failure leaves p where it was, as in
//     the recording; where the replaying allocator grants it, the block moves and the trace's later uses of p
//     follow it.
//
// A thread's exit (`# thread-exit`, src/trace/threads.ts) ends the window of ops before it and runs as an op of
// its own (OP_THREAD_EXIT) between two windows: the model does what the real allocator does when a thread ends,
// and the thread's tid is forgotten, so that a kernel that hands the tid out again names a new thread.

import { OpCode, type TraceBatch, type TraceSource } from "../trace/types.js";
import {
  BATCH_OPS, FLAG_RAW_ADDRESS, type Model, OP_SLOTS, OP_THREAD_EXIT, TRACE_CODES, TRACE_COUNTS,
} from "./model.js";
import { type ThreadExit, threadExitsOf } from "../trace/threads.js";
import { TraceError } from "./types.js";

export interface ReplayControl {
  /** Map every thread onto the main thread (what a single-threaded native replay does). */
  threads?: "merge" | "arena";
  /** A free of an address the trace never allocated is an error instead of being skipped. */
  strict?: boolean;
  /** Double frees are skipped and counted instead of being errors. */
  lenient?: boolean;
  /** Stop after this many operations. */
  until?: number;
  /** Stop after the last operation whose sequence number is at most this (a forked child's parent, up to the fork). */
  untilSeq?: number;
  /**
   * Once the trace shows call sites, have the model write each op's usable size (`Model.usableSizesView`, read by an
   * observer): a call-site report shares the footprint out by them. Traces without call sites pay nothing.
   */
  usableSizes?: boolean;
}

/**
 * Called after each wasm batch with the trace ops [from, to) of `batch` and their results (2 slots per op, op
 * `from` first). The batch and the results view are only valid during the call: the reader refills the batch's
 * arrays with later ops. A returned promise is awaited before the next batch (backpressure).
 */
export type BatchObserver = (
  batch: TraceBatch, from: number, to: number, results: Float64Array,
) => void | Promise<void>;

/** Flags of a trace replay (assembly/common/trace-objects.ts). */
const LENIENT = 1;
const STRICT = 2;
/** What stopped a trace replay when the model raised nothing (trace-objects.ts traceErrorKind). */
const DOUBLE_FREE = 1;

/**
 * The replay state a lab keeps across calls: threads and the op count here; objects, their lines and the trace's
 * counts in the model's instance (assembly/common/trace-objects.ts), which encodes each window of trace ops.
 */
export class Replayer {
  private readonly model: Model;
  /** The call site that allocated each object (0: none), once the trace has shown one. */
  private objectSites: Float64Array | null = null;
  private readonly threadIndex = new Map<number, number>();
  /** Threads given an index so far, the main thread included (exited threads too). */
  private threadCount = 1;
  private mainTid: number | undefined;
  ops = 0;

  constructor(model: Model) {
    this.model = model;
  }

  /** Operations replayed so far, by trace letter. */
  get byOp(): Record<string, number> {
    const counts = this.model.traceCounts();
    const out: Record<string, number> = {};
    LETTERS.forEach((letter, code) => { if (counts[code]) out[letter] = (out[letter] ?? 0) + counts[code]; });
    return out;
  }

  private count(name: (typeof TRACE_COUNTS)[number]): number {
    return this.model.traceCounts()[TRACE_CODES + TRACE_COUNTS.indexOf(name)];
  }

  get unknownFrees(): number { return this.count("unknownFrees"); }
  get unknownReallocs(): number { return this.count("unknownReallocs"); }
  get failedReallocs(): number { return this.count("failedReallocs"); }
  get doubleFreesSkipped(): number { return this.count("doubleFreesSkipped"); }
  get pointerReuse(): number { return this.count("pointerReuse"); }

  /** Threads seen so far, the main thread included. */
  get threads(): number {
    return this.threadCount;
  }

  /** Thread exits the replay has run. */
  threadExits = 0;

  /** The trace line that allocated object `id` (null when unknown). */
  lineOf = (id: number): number | null => {
    const v = this.model.wasm.objectLine(id);
    return v > 0 ? v : null;
  };

  /** The call site that allocated object `id` (null when unknown or none). */
  siteOf = (id: number): number | null => {
    const v = this.objectSites && id < this.objectSites.length ? this.objectSites[id] : 0;
    return v > 0 ? v : null;
  };

  /** Notes the call sites of the window's allocations [from, from + length) by the objects they made. */
  private noteSites(site: Float64Array, from: number, length: number): void {
    const ops = this.model.opsView();
    const ids = this.model.wasm.objectIds();
    if (!this.objectSites || this.objectSites.length < ids) {
      const grown = new Float64Array(Math.max(1024, 2 * ids));
      if (this.objectSites) grown.set(this.objectSites);
      this.objectSites = grown;
    }
    for (let i = 0; i < length; i++) {
      const object = ops[i * OP_SLOTS + 2];
      const code = ops[i * OP_SLOTS];
      if (object < 0 || code === OpCode.free || code === OpCode.trim) continue;
      // A realloc without a site of its own keeps its block's.
      if (site[from + i] > 0 || code !== OpCode.realloc) this.objectSites[object] = site[from + i];
    }
  }

  /** Replays a whole trace source; returns false when stopped by `until`. */
  async replay(source: TraceSource, control: ReplayControl, observe?: BatchObserver): Promise<boolean> {
    this.mainTid = source.header.pid;
    for await (const batch of source.batches({ recycle: true })) {
      if (this.mainTid === undefined && batch.length) this.mainTid = source.header.pid ?? batch.tid[0];
      // A batch larger than the model's buffer goes in windows of BATCH_OPS; a thread exit ends a window.
      const exits = control.threads === "merge" ? NO_EXITS : threadExitsOf(batch);
      let next = 0;
      let from = 0;
      for (;;) {
        while (next < exits.length && exits[next].before <= from) {
          if (this.reachedEnd(control)) return false;
          this.exitThread(exits[next++], source.name, control);
        }
        if (from >= batch.length) break;
        let to = Math.min(batch.length, from + BATCH_OPS);
        if (next < exits.length) to = Math.min(to, exits[next].before);
        const before = this.ops;
        const complete = this.replayWindow(batch, from, to, source.name, control);
        if (observe) await observe(batch, from, from + this.ops - before, this.model.resultsView());
        if (!complete) return false;
        from = to;
      }
    }
    return true;
  }

  /** Whether `until` has been reached: what follows, a thread exit included, is not replayed. */
  private reachedEnd(control: ReplayControl): boolean {
    return control.until !== undefined && this.ops >= control.until;
  }

  /** Runs a thread's exit in the model (a thread that made no call has nothing to hand back) and forgets its tid. */
  private exitThread(exit: ThreadExit, file: string, control: ReplayControl): void {
    if (control.untilSeq !== undefined && exit.seq > control.untilSeq) return;
    const index = exit.tid === this.mainTid ? 0 : this.threadIndex.get(exit.tid);
    if (index === undefined) return;
    this.threadIndex.delete(exit.tid);
    const ops = this.model.opsView();
    ops.fill(0, 0, OP_SLOTS);
    ops[0] = OP_THREAD_EXIT;
    ops[1] = index;
    ops[2] = -1;
    if (this.model.run(1, false) < 1) throw this.model.error({ file, seq: exit.seq });
    this.threadExits++;
  }

  /** Replays ops [from, to) of a trace batch; returns false when `until` was reached. */
  private replayWindow(batch: TraceBatch, from: number, to: number, file: string, control: ReplayControl): boolean {
    let length = to - from;
    let complete = true;
    if (control.until !== undefined && this.ops + length >= control.until) {
      complete = this.ops + length <= control.until;
      length = Math.max(0, control.until - this.ops);
    }
    if (control.untilSeq !== undefined) {
      for (let i = 0; i < length; i++) {
        if (batch.seq[from + i] > control.untilSeq) {
          length = i;
          complete = false;
          break;
        }
      }
    }
    if (batch.site && control.usableSizes) this.model.askUsableSizes();
    this.fillColumns(batch, from, length, control);
    const flags = (control.lenient ? LENIENT : 0) | (control.strict ? STRICT : 0);
    const done = this.model.replayTrace(length, flags);
    if (batch.site) this.noteSites(batch.site, from, done);
    this.ops += done;
    if (done < length) throw this.failure(batch, from + done, file);
    return complete;
  }

  /** Copies trace ops [from, from + length) of `batch` into the model's trace columns, tids as thread indexes. */
  private fillColumns(batch: TraceBatch, from: number, length: number, control: ReplayControl): void {
    const columns = this.model.traceColumns();
    const to = from + length;
    columns.ptr.set(batch.ptr.subarray(from, to));
    columns.a.set(batch.a.subarray(from, to));
    columns.b.set(batch.b.subarray(from, to));
    columns.res.set(batch.res.subarray(from, to));
    columns.line.set(batch.line.subarray(from, to));
    columns.seq.set(batch.seq.subarray(from, to));
    columns.code.set(batch.code.subarray(from, to));
    const thread = columns.thread;
    if (control.threads === "merge") {
      thread.fill(0, 0, length);
      return;
    }
    const tid = batch.tid;
    const main = this.mainTid;
    for (let i = 0; i < length; i++) {
      const t = tid[from + i];
      thread[i] = t === main ? 0 : this.thread(t);
    }
  }

  /** The error that stopped a window at op `at` of `batch`: the model's, or else the trace's own. */
  private failure(batch: TraceBatch, at: number, file: string): Error {
    const wasm = this.model.wasm;
    const line = batch.line[at];
    if (wasm.lastErrorCode() !== 0) return this.model.error({ file, line, seq: batch.seq[at] });
    const address = `0x${wasm.traceErrorAddress().toString(16)}`;
    if (wasm.traceErrorKind() === DOUBLE_FREE) {
      const ended = wasm.traceErrorEndedLine();
      return new TraceError(file, line, `double free of ${address} (freed at line ${ended})`, ended);
    }
    return new TraceError(file, line, `free of ${address}, which the trace never allocated`);
  }

  /** Dense thread index of a trace tid other than the main thread's: 1, 2, … by first appearance. */
  private thread(tid: number): number {
    let index = this.threadIndex.get(tid);
    if (index === undefined) {
      index = this.threadCount++;
      this.threadIndex.set(tid, index);
    }
    return index;
  }
}

const NO_EXITS: ThreadExit[] = [];

const LETTERS = ["?", "m", "c", "r", "f", "a", "A", "P", "v", "V", "t"];

export { FLAG_RAW_ADDRESS };
