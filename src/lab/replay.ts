// Batched replay: trace operations → the model's batch buffer → one wasm call per batch.
//
// Trace addresses never reach the model. Each live trace address names an object id; ids are recycled when their
// object ends, and the model keeps id → simulated address. The lab resolves what the trace itself says about its
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
import { AddressTable } from "./address-table.js";
import {
  BATCH_OPS, FLAG_RAW_ADDRESS, type Model, OP_SLOTS, OP_THREAD_EXIT, REGION_SKIPPED, RESULT_SLOTS,
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

/** The replay state a lab keeps across calls: objects, threads and counts. */
export class Replayer {
  private readonly model: Model;
  private readonly objects = new AddressTable();
  private freeIds: number[] = [];
  /** Indexes (in the current batch) of ops the trace itself rules out: their results are marked REGION_SKIPPED. */
  private skipped: number[] = [];
  private nextId = 0;
  private objectLines = new Float64Array(1024);
  /** The call site that allocated each object (0: none), once the trace has shown one. */
  private objectSites: Float64Array | null = null;
  private readonly threadIndex = new Map<number, number>();
  /** Threads given an index so far, the main thread included (exited threads too). */
  private threadCount = 1;
  private mainTid: number | undefined;
  ops = 0;
  private readonly opCounts = new Float64Array(LETTERS.length);
  unknownFrees = 0;
  unknownReallocs = 0;
  failedReallocs = 0;
  doubleFreesSkipped = 0;
  pointerReuse = 0;

  constructor(model: Model) {
    this.model = model;
  }

  /** Operations replayed so far, by trace letter. */
  get byOp(): Record<string, number> {
    const out: Record<string, number> = {};
    this.opCounts.forEach((n, code) => { if (n) out[LETTERS[code]] = (out[LETTERS[code]] ?? 0) + n; });
    return out;
  }

  /** Threads seen so far, the main thread included. */
  get threads(): number {
    return this.threadCount;
  }

  /** Thread exits the replay has run. */
  threadExits = 0;

  /** The trace line that allocated object `id` (null when unknown). */
  lineOf = (id: number): number | null => {
    const v = id < this.objectLines.length ? this.objectLines[id] : 0;
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
    if (!this.objectSites || this.objectSites.length < this.objectLines.length) {
      const grown = new Float64Array(this.objectLines.length);
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
    const ops = this.model.opsView();
    this.skipped.length = 0;
    for (let i = 0; i < length; i++) this.encode(batch, from + i, ops, i * OP_SLOTS, file, control);
    if (batch.site) {
      this.noteSites(batch.site, from, length);
      if (control.usableSizes) this.model.askUsableSizes();
    }
    const done = this.model.run(length, false);
    if (done < length) {
      const at = { file, line: batch.line[from + done], seq: batch.seq[from + done] };
      throw this.model.error(at);
    }
    if (this.skipped.length) {
      const results = this.model.resultsView();
      for (const i of this.skipped) results[i * RESULT_SLOTS + 1] = REGION_SKIPPED;
    }
    this.ops += length;
    return complete;
  }

  /** Dense thread index of a trace tid: 0 for the main thread, then 1, 2, … by first appearance. */
  private thread(tid: number, control: ReplayControl): number {
    if (control.threads === "merge" || tid === this.mainTid) return 0;
    let index = this.threadIndex.get(tid);
    if (index === undefined) {
      index = this.threadCount++;
      this.threadIndex.set(tid, index);
    }
    return index;
  }

  private newObject(line: number): number {
    const id = this.freeIds.length ? this.freeIds.pop()! : this.nextId++;
    if (id >= this.objectLines.length) {
      const grown = new Float64Array(this.objectLines.length * 2);
      grown.set(this.objectLines);
      this.objectLines = grown;
    }
    this.objectLines[id] = line;
    return id;
  }

  private endObject(address: number, id: number, line: number): void {
    this.objects.end(address, line);
    this.objectLines[id] = 0;
    this.freeIds.push(id);
  }

  /** Names `address` as object `id`, counting a live object it displaces (the recording missed its free). */
  private rebind(address: number, id: number): void {
    if (this.objects.bind(address, id) >= 0) this.pointerReuse++;
  }

  /**
   * Starts the object a successful allocation returned at `address` (none when the trace says it failed). An
   * address the trace still holds live was freed by a call the recording missed: the block it named can no longer
   * be reached. The new block takes over that object's id, so the block the model gave it stays allocated (a leak,
   * as in the native replayer, which loses its pointer the same way) but stops counting as live, and is counted
   * once in `pointerReuse`.
   */
  private bind(address: number, line: number): number {
    if (address === 0) return -1;
    const displaced = this.objects.live(address);
    if (displaced >= 0) {
      this.pointerReuse++;
      this.objectLines[displaced] = line;
      return displaced;
    }
    const id = this.newObject(line);
    this.objects.bind(address, id);
    return id;
  }

  /** Looks up the object a free (or a realloc that frees) names; -2 when the op must be skipped. */
  private lookup(address: number, line: number, file: string, control: ReplayControl, frees = true): number {
    const id = this.objects.live(address);
    if (id >= 0) return id;
    const ended = this.objects.endedAt(address);
    if (ended > 0) {
      if (control.lenient) {
        this.doubleFreesSkipped++;
        return -2;
      }
      throw new TraceError(file, line, `double free of 0x${address.toString(16)} (freed at line ${ended})`, ended);
    }
    if (control.strict) {
      throw new TraceError(file, line, `free of 0x${address.toString(16)}, which the trace never allocated`);
    }
    if (frees) this.unknownFrees++;
    else this.unknownReallocs++;
    return -2;
  }

  private encode(batch: TraceBatch, i: number, ops: Float64Array, at: number, file: string, control: ReplayControl): void {
    const code = batch.code[i];
    const line = batch.line[i];
    this.opCounts[code]++;
    let opcode: number = code;
    let object = -1;
    let a = batch.a[i];
    const b = batch.b[i];
    switch (code) {
      case OpCode.free: {
        const ptr = batch.ptr[i];
        if (ptr !== 0) {
          object = this.lookup(ptr, line, file, control);
          if (object >= 0) this.endObject(ptr, object, line);
          else object = -1;
        }
        break;
      }
      case OpCode.realloc: {
        const ptr = batch.ptr[i];
        if (ptr === 0) {
          opcode = OpCode.malloc;
          object = this.bind(batch.res[i], line);
          break;
        }
        object = this.lookup(ptr, line, file, control, a === 0);
        if (object < 0) {
          // Realloc of an address the trace never allocated (see the rules above): keep the slot as a no-op.
          this.skipped.push(at / OP_SLOTS);
          opcode = OpCode.free;
          object = -1;
          a = 0;
          break;
        }
        const res = batch.res[i];
        if (res === 0 && a !== 0) this.failedReallocs++;
        if (a === 0) this.endObject(ptr, object, line);
        else if (res !== 0 && res !== ptr) {
          this.objects.end(ptr, line);
          this.rebind(res, object);
        }
        break;
      }
      case OpCode.trim:
        break;
      default:
        object = this.bind(batch.res[i], line);
    }
    ops[at] = opcode;
    ops[at + 1] = this.thread(batch.tid[i], control);
    ops[at + 2] = object;
    ops[at + 3] = a;
    ops[at + 4] = b;
    ops[at + 5] = 0;
  }
}

const NO_EXITS: ThreadExit[] = [];

const LETTERS = ["?", "m", "c", "r", "f", "a", "A", "P", "v", "V", "t"];

export { FLAG_RAW_ADDRESS };
