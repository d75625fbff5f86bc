// A typed handle on one wasm model instance: options, batches, results, walks and stats. Everything that reads
// or writes the module's memory goes through here.

import { type ModelInstance, type ModelName, instantiateModel } from "../wasm/load.js";
import { heapBaseProblem } from "../trace/values.js";
import { type ChunkRow, HeapError, type HeapErrorKind, type Stats } from "./types.js";
import { checkConstants, names, readRecords, type Records } from "../wasm/abi.js";
import { OpCode } from "../trace/types.js";

export const OP_SLOTS = 6;
export const RESULT_SLOTS = 2;
/** Operations per wasm call: a trace batch's worth (BATCH_CAPACITY); larger batches go in windows. */
export const BATCH_OPS = 4096;
export const FLAG_RAW_ADDRESS = 1;
/** A thread's exit, run between windows of trace ops (no trace op has this code). */
export const OP_THREAD_EXIT = 11;
export const REGION_NONE = 0;
export const REGION_HEAP = 1;
export const REGION_MMAP = 2;
export const REGION_MAIN_MAPPED = 3;
export const REGION_ARENA = 16;
/** Set by the trace replay (never by a model) on ops the trace itself rules out, e.g. a realloc of an unknown address. */
export const REGION_SKIPPED = -1;

/** The trace replay's named counts, after its counts by op code, in assembly/common/trace-objects.ts's order. */
export const TRACE_COUNTS = ["unknownFrees", "unknownReallocs", "failedReallocs", "doubleFreesSkipped", "pointerReuse",
  "forgotten"] as const;

/** The constants above and the op codes, by their names in assembly/common/ops.ts (checked against each model). */
export const ABI_CONSTANTS: Readonly<Record<string, number>> = {
  OP_MALLOC: OpCode.malloc, OP_CALLOC: OpCode.calloc, OP_REALLOC: OpCode.realloc, OP_FREE: OpCode.free,
  OP_MEMALIGN: OpCode.memalign, OP_ALIGNED_ALLOC: OpCode.alignedAlloc, OP_POSIX_MEMALIGN: OpCode.posixMemalign,
  OP_VALLOC: OpCode.valloc, OP_PVALLOC: OpCode.pvalloc, OP_TRIM: OpCode.trim, OP_THREAD_EXIT, FLAG_RAW_ADDRESS,
  REGION_NONE, REGION_HEAP, REGION_MMAP, REGION_MAIN_MAPPED, REGION_ARENA, OP_SLOTS, RESULT_SLOTS, REGION_SKIPPED,
  TRACE_F64_COLUMNS: 7, TRACE_CODES: 16, TRACE_COUNTS: TRACE_COUNTS.length, LINE_ROOM: 96,
};

export { parseMallocConf, parseTunables, strtoulValue as glibcNumber } from "../models/index.js";

/** A window of trace ops as the model reads them (assembly/common/trace-objects.ts). */
export interface TraceColumns {
  thread: Float64Array;
  ptr: Float64Array;
  a: Float64Array;
  b: Float64Array;
  res: Float64Array;
  line: Float64Array;
  seq: Float64Array;
  code: Uint8Array;
}

/** Op codes the trace counts keep apart (their counts come before TRACE_COUNTS). */
export const TRACE_CODES = ABI_CONSTANTS.TRACE_CODES;
/** The longest address line the model writes (assembly/common/address-lines.ts). */
export const LINE_ROOM = ABI_CONSTANTS.LINE_ROOM;

/**
 * Options that describe the machine rather than the allocator (the kernel's overcommit limit, given by a recording
 * or read from this machine; the mapping above the heap that the break cannot pass): a model that does not model
 * them leaves them out.
 */
const MACHINE_OPTIONS: ReadonlySet<string> = new Set(["overcommit_limit", "brk_blocked_at"]);

export class Model {
  readonly name: ModelName;
  readonly wasm: ModelInstance;
  readonly optionNames: readonly string[];
  readonly statNames: readonly string[];
  readonly walkFields: readonly string[];
  /** The heap walk's state names, by state code. */
  readonly walkStates: readonly string[];
  /** Linear addresses of the batch buffers. */
  readonly opsPtr: number;
  readonly resultsPtr: number;
  private readonly statsPtr: number;

  /** Whether the model keeps replay metrics (see LabOptions.metrics). */
  readonly metrics: boolean;
  /** Linear address of the usable-size buffer, once asked for (`askUsableSizes`); 0 before. */
  private usablePtr = 0;
  /** Linear address of the trace columns, once a trace is replayed; 0 before. */
  private columnsPtr = 0;

  private constructor(name: ModelName, wasm: ModelInstance, options: Record<string, number>, metrics: boolean,
    layout?: string) {
    this.name = name;
    this.wasm = wasm;
    this.metrics = metrics;
    checkConstants(name, wasm, ABI_CONSTANTS);
    this.optionNames = this.strings(wasm.optionNames());
    if (layout !== undefined) options = { ...options, layout: this.layoutIndex(layout) };
    for (const [key, value] of Object.entries(options)) {
      const id = this.optionNames.indexOf(key);
      if (id < 0 && MACHINE_OPTIONS.has(key)) continue;
      if (id < 0) {
        throw new Error(`unknown option '${key}' for the ${name} model (known: ${this.optionNames.join(", ")})`);
      }
      const problem = key === "heap_base" ? heapBaseProblem(value) : null;
      if (problem) throw new RangeError(`option heap_base: ${problem}`);
      if (!wasm.setOption(id, value)) throw new Error(`option ${key}=${value} rejected by the ${name} model`);
    }
    wasm.init();
    if (!metrics) (wasm.metricsOff as () => void)();
    this.statNames = this.strings(wasm.statNames());
    this.walkFields = this.strings(wasm.walkFields());
    this.walkStates = this.strings(wasm.walkStates());
    this.opsPtr = this.buffer(BATCH_OPS * OP_SLOTS * 8);
    this.resultsPtr = this.buffer(BATCH_OPS * RESULT_SLOTS * 8);
    this.statsPtr = this.buffer(Math.max(1, this.statNames.length) * 8);
  }

  static async create(name: ModelName, options: Record<string, number>, metrics = true, layout?: string): Promise<Model> {
    return new Model(name, await instantiateModel(name), options, metrics, layout);
  }

  /** The index of a process layout the model knows (`layoutNames`), for its option `layout`. */
  private layoutIndex(layout: string): number {
    const known = typeof this.wasm.layoutNames === "function" ? this.strings(this.wasm.layoutNames()) : [];
    const index = known.indexOf(layout);
    if (index < 0) {
      throw new Error(known.length
        ? `unknown layout '${layout}' for the ${this.name} model (known: ${known.join(", ")})`
        : `the ${this.name} model has no process layouts (layout '${layout}')`);
    }
    return index;
  }

  private strings(ptr: number): string[] {
    return names(this.wasm, ptr);
  }

  /** A view of the op batch buffer (re-made on each call: memory growth detaches old views). */
  opsView(): Float64Array {
    return new Float64Array(this.wasm.memory.buffer, this.opsPtr, BATCH_OPS * OP_SLOTS);
  }

  resultsView(): Float64Array {
    return new Float64Array(this.wasm.memory.buffer, this.resultsPtr, BATCH_OPS * RESULT_SLOTS);
  }

  /**
   * From now on the replay metrics write each op's usable size beside its results (`usableSizesView`): what a
   * call-site report shares the footprint out by. Needs the metrics.
   */
  askUsableSizes(): void {
    if (this.usablePtr || !this.metrics) return;
    this.usablePtr = this.buffer(BATCH_OPS * 8);
    (this.wasm as unknown as { metricsUsableSizes(at: number): void }).metricsUsableSizes(this.usablePtr);
  }

  /** The usable sizes of the last batch's ops (one per op; see askUsableSizes), or null when not asked for. */
  usableSizesView(): Float64Array | null {
    return this.usablePtr ? new Float64Array(this.wasm.memory.buffer, this.usablePtr, BATCH_OPS) : null;
  }

  /**
   * Views of the trace columns a window of trace ops is copied into (assembly/common/trace-objects.ts), re-made on
   * each call: memory growth detaches old views.
   */
  traceColumns(): TraceColumns {
    if (!this.columnsPtr) {
      this.columnsPtr = this.wasm.traceColumns(BATCH_OPS) >>> 0;
      if (!this.columnsPtr) {
        throw new HeapError("out of memory: the model's wasm instance cannot grow to hold a window of trace ops", undefined, "limit");
      }
    }
    const buffer = this.wasm.memory.buffer;
    const column = (k: number): Float64Array => new Float64Array(buffer, this.columnsPtr + k * 8 * BATCH_OPS, BATCH_OPS);
    return {
      thread: column(0), ptr: column(1), a: column(2), b: column(3), res: column(4), line: column(5), seq: column(6),
      code: new Uint8Array(buffer, this.columnsPtr + ABI_CONSTANTS.TRACE_F64_COLUMNS * 8 * BATCH_OPS, BATCH_OPS),
    };
  }

  /**
   * Encodes the first `count` ops of the trace columns into the batch buffer and replays them; returns how many
   * completed (see `traceError` when fewer did and the model raised nothing).
   */
  replayTrace(count: number, flags: number): number {
    return this.wasm.replayTrace(count, flags, this.opsPtr, this.resultsPtr);
  }

  /** The trace replay's counts (trace-objects.ts): ops by trace code, then TRACE_COUNTS. */
  traceCounts(): Float64Array {
    const at = this.wasm.traceCounts() >>> 0;
    return at ? new Float64Array(this.wasm.memory.buffer, at, TRACE_CODES + TRACE_COUNTS.length) : new Float64Array(TRACE_CODES + TRACE_COUNTS.length);
  }

  /** Replays the first `count` ops of the batch buffer; returns how many completed. */
  run(count: number, journal: boolean): number {
    return this.wasm.replay(this.opsPtr, count, this.resultsPtr, journal ? 1 : 0);
  }

  errorMessage(): string {
    return this.wasm.__getString(this.wasm.lastErrorMessage());
  }

  /** The failed operation's error, located at `where` in a trace when given. */
  error(where?: { file?: string; line?: number; seq?: number }): HeapError {
    return new HeapError(this.errorMessage(), where, errorKind(this.wasm.lastErrorCode()));
  }

  /** Linear memory for a buffer; a "limit" HeapError when the instance cannot grow that far. */
  buffer(bytes: number): number {
    // A usize comes back as a signed i32: above 2 GiB of linear memory it reads negative.
    const ptr = this.wasm.allocBuffer(bytes) >>> 0;
    if (ptr === 0) {
      throw new HeapError(`out of memory: the model's wasm instance cannot grow by ${bytes} bytes`, undefined, "limit");
    }
    return ptr;
  }

  /**
   * Runs one operation with the journal on, so that a failing call changes nothing; throws HeapError on misuse.
   * Returns [address, region].
   */
  call(code: number, thread: number, object: number, a: number, b: number, flags: number): [number, number] {
    const ops = this.opsView();
    ops[0] = code; ops[1] = thread; ops[2] = object; ops[3] = a; ops[4] = b; ops[5] = flags;
    if (this.run(1, true) < 1) throw this.error();
    const results = this.resultsView();
    return [results[0], results[1]];
  }

  stats(): Stats {
    const n = this.wasm.statsInto(this.statsPtr);
    const values = new Float64Array(this.wasm.memory.buffer, this.statsPtr, n);
    const out: Stats = {};
    for (let i = 0; i < n; i++) out[this.statNames[i]] = values[i];
    return out;
  }

  /** The heap walk's records (fields named by `walkFields`). */
  walk(): Records {
    return readRecords(this.wasm, "walk", this.walkFields, (bytes) => this.buffer(bytes));
  }

  /** Raw walk records (fields named by `walkFields`), one after another. */
  walkRecords(): Float64Array {
    return this.walk().values;
  }

  /**
   * The heap walk as rows; `lineOf(objectId)` names the trace line that allocated an object, `siteOf` its call site
   * (when the trace records them).
   */
  chunks(lineOf: (object: number) => number | null, siteOf?: (object: number) => number | null): ChunkRow[] {
    const records = this.walk();
    const [address, chunk, size, requested, state, bin, region, object] = ["address", "chunk", "size", "requested",
      "state", "bin", "region", "object"].map((field) => records.column(field));
    const width = records.fields.length;
    const v = records.values;
    const rows: ChunkRow[] = [];
    for (let at = 0; at < v.length; at += width) {
      rows.push({
        address: v[at + address],
        chunk: v[at + chunk],
        size: v[at + size],
        requested: v[at + requested],
        state: this.stateName(v[at + state]),
        bin: v[at + bin],
        region: regionName(v[at + region]),
        line: v[at + object] >= 0 ? lineOf(v[at + object]) : null,
      });
      const site = siteOf && v[at + object] >= 0 ? siteOf(v[at + object]) : null;
      if (site !== null) rows[rows.length - 1].site = site;
    }
    return rows;
  }

  /** The name of a walk state code; a code the model does not name is its own error, never a guess. */
  stateName(code: number): string {
    const name = this.walkStates[code];
    if (name === undefined) throw new Error(`the ${this.name} model's walk has state ${code}, which walkStates does not name`);
    return name;
  }
}

/**
 * Error codes of common/ops.ts and common/debug.ts that are not the allocator's own aborts: the checker's, the
 * instance's memory, the real process's fault, and the model's limits (an op code it does not run, a thread it
 * keeps no state for).
 */
const ERROR_KINDS: Record<number, HeapErrorKind> = {
  100: "check", 200: "limit", 201: "segv", 300: "limit", 301: "limit",
};

function errorKind(code: number): HeapErrorKind {
  return ERROR_KINDS[code] ?? "abort";
}

/** The name of a region tag: heap, mmap or arena<k> (k in the model's creation order). */
export function regionName(tag: number): string {
  if (tag === REGION_HEAP) return "heap";
  if (tag === REGION_MMAP) return "mmap";
  if (tag === REGION_MAIN_MAPPED) return "main";
  if (tag >= REGION_ARENA) return `arena${tag - REGION_ARENA}`;
  return "none";
}
