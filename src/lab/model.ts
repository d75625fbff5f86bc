// A typed handle on one wasm model instance: options, batches, results, walks and stats. Everything that reads
// or writes the module's memory goes through here.

import { type ModelInstance, type ModelName, instantiateModel } from "../wasm/load.js";
import { heapBaseProblem } from "../trace/values.js";
import { CHUNK_STATES, type ChunkRow, HeapError, type HeapErrorKind, type Stats } from "./types.js";

export const OP_SLOTS = 6;
export const RESULT_SLOTS = 2;
/** Operations per wasm call: a trace batch's worth (BATCH_CAPACITY); larger batches go in windows. */
export const BATCH_OPS = 4096;
export const FLAG_RAW_ADDRESS = 1;
export const REGION_NONE = 0;
export const REGION_HEAP = 1;
export const REGION_MMAP = 2;
export const REGION_ARENA = 16;
/** Set by the lab (never by a model) on ops the trace itself rules out, e.g. a realloc of an unknown address. */
export const REGION_SKIPPED = -1;

/**
 * Parses `glibc.malloc.tcache_count=0:glibc.malloc.mxfast=0` into a record, reading each value as glibc 2.36 reads
 * GLIBC_TUNABLES (`glibcNumber`). Tunables of glibc's other namespaces (`glibc.rtld.…`, `glibc.cpu.…`) may share the
 * string, as in the real environment variable: they do not concern the allocator and are left out.
 */
export function parseTunables(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(":")) {
    if (!part.trim()) continue;
    const eq = part.indexOf("=");
    if (eq < 0) throw new Error(`tunable '${part}' has no value (expected name=value)`);
    const name = part.slice(0, eq).trim();
    if (name.startsWith("glibc.") && !name.startsWith("glibc.malloc.")) continue;
    const value = part.slice(eq + 1);
    if (!/^[ \t]*[-+]?[0-9]/.test(value)) throw new Error(`tunable '${name}' has a non-numeric value '${value}'`);
    out[name] = glibcNumber(value);
  }
  return out;
}

/**
 * A tunable's value as glibc's `_dl_strtoul` reads it: blanks skipped, an optional sign, then a leading `0x` means
 * hex and a leading `0` octal; reading stops at the first character that is not a digit of that base (`65536k` is
 * 65536, `1e3` is 1, `09` is 0); a value past 2^64 − 1 is 2^64 − 1, and a negative one wraps modulo 2^64. Returned
 * as the nearest double (a model refuses anything that large).
 */
export function glibcNumber(text: string): number {
  let i = 0;
  while (text[i] === " " || text[i] === "\t") i++;
  const negative = text[i] === "-";
  if (text[i] === "-" || text[i] === "+") i++;
  let base = 10n;
  if (text[i] === "0") {
    if (text[i + 1] === "x" || text[i + 1] === "X") {
      base = 16n;
      i += 2;
    } else {
      base = 8n;
    }
  }
  const limit = (1n << 64n) - 1n;
  let value = 0n;
  for (; i < text.length; i++) {
    const digit = parseInt(text[i], 16);
    if (!(digit < Number(base))) break;
    value = value * base + BigInt(digit);
    if (value > limit) return Number(limit);
  }
  return Number(negative ? (-value) & limit : value);
}

/**
 * Options that describe the machine rather than the allocator (the kernel's overcommit limit, given by a recording
 * or read from this machine): a model whose allocator never meets that limit leaves them out.
 */
const MACHINE_OPTIONS: ReadonlySet<string> = new Set(["overcommit_limit"]);

/** Parses jemalloc's MALLOC_CONF syntax (`narenas:4,tcache:false`) into a record; true and false become 1 and 0. */
export function parseMallocConf(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(",")) {
    if (!part.trim()) continue;
    const colon = part.indexOf(":");
    if (colon < 0) throw new Error(`option '${part}' has no value (expected name:value)`);
    const name = part.slice(0, colon).trim();
    const text = part.slice(colon + 1).trim();
    const value = text === "true" ? 1 : text === "false" ? 0 : Number(text);
    if (!Number.isFinite(value)) throw new Error(`option '${name}' has a non-numeric value '${text}'`);
    out[name] = value;
  }
  return out;
}

export class Model {
  readonly name: ModelName;
  readonly wasm: ModelInstance;
  readonly optionNames: readonly string[];
  readonly statNames: readonly string[];
  readonly walkFields: readonly string[];
  /** Linear addresses of the batch buffers. */
  readonly opsPtr: number;
  readonly resultsPtr: number;
  private readonly statsPtr: number;
  private walkPtr = 0;
  private walkCapacity = 0;

  /** Whether the model keeps replay metrics (see LabOptions.metrics). */
  readonly metrics: boolean;

  private constructor(name: ModelName, wasm: ModelInstance, options: Record<string, number>, metrics: boolean) {
    this.name = name;
    this.wasm = wasm;
    this.metrics = metrics;
    this.optionNames = this.strings(wasm.optionNames());
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
    this.opsPtr = this.buffer(BATCH_OPS * OP_SLOTS * 8);
    this.resultsPtr = this.buffer(BATCH_OPS * RESULT_SLOTS * 8);
    this.statsPtr = this.buffer(Math.max(1, this.statNames.length) * 8);
  }

  static async create(name: ModelName, options: Record<string, number>, metrics = true): Promise<Model> {
    return new Model(name, await instantiateModel(name), options, metrics);
  }

  private strings(ptr: number): string[] {
    const text = this.wasm.__getString(ptr);
    return text ? text.split(",").map((s) => s.trim()) : [];
  }

  /** A view of the op batch buffer (re-made on each call: memory growth detaches old views). */
  opsView(): Float64Array {
    return new Float64Array(this.wasm.memory.buffer, this.opsPtr, BATCH_OPS * OP_SLOTS);
  }

  resultsView(): Float64Array {
    return new Float64Array(this.wasm.memory.buffer, this.resultsPtr, BATCH_OPS * RESULT_SLOTS);
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

  /** Raw walk records (fields named by `walkFields`). */
  walkRecords(): Float64Array {
    const width = this.walkFields.length;
    for (;;) {
      if (this.walkCapacity === 0) {
        this.walkCapacity = 4096;
        this.walkPtr = this.buffer(this.walkCapacity * width * 8);
      }
      const n = this.wasm.walk(this.walkPtr, this.walkCapacity);
      if (n <= this.walkCapacity) {
        return new Float64Array(this.wasm.memory.buffer, this.walkPtr, n * width).slice();
      }
      this.walkCapacity = n + (n >> 2);
      this.walkPtr = this.buffer(this.walkCapacity * width * 8);
    }
  }

  /** The heap walk as rows; `lineOf(objectId)` names the trace line that allocated an object. */
  chunks(lineOf: (object: number) => number | null): ChunkRow[] {
    const records = this.walkRecords();
    const width = this.walkFields.length;
    const rows: ChunkRow[] = [];
    for (let i = 0; i < records.length; i += width) {
      const object = records[i + 7];
      rows.push({
        address: records[i],
        chunk: records[i + 1],
        size: records[i + 2],
        requested: records[i + 3],
        state: CHUNK_STATES[records[i + 4]] ?? "allocated",
        bin: records[i + 5],
        region: regionName(records[i + 6]),
        line: object >= 0 ? lineOf(object) : null,
      });
    }
    return rows;
  }
}

/** Error codes of common/ops.ts that are not the allocator's own aborts. */
const ERROR_KINDS: Record<number, HeapErrorKind> = { 100: "check", 200: "limit", 201: "segv" };

function errorKind(code: number): HeapErrorKind {
  return ERROR_KINDS[code] ?? "abort";
}

/** The name of a region tag: heap, mmap or arena<k> (k in the model's creation order). */
export function regionName(tag: number): string {
  if (tag === REGION_HEAP) return "heap";
  if (tag === REGION_MMAP) return "mmap";
  if (tag >= REGION_ARENA) return `arena${tag - REGION_ARENA}`;
  return "none";
}
