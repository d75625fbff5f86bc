// Plain data shared by every trace reader and writer.

/** The calls a trace can hold, by their alloc-trace v1 letters. */
export type OpLetter = "m" | "c" | "r" | "f" | "a" | "A" | "P" | "v" | "V" | "t";

/** Numeric op codes; they equal the model's OP_* codes in assembly/common/ops.ts. */
export const OpCode = {
  malloc: 1,
  calloc: 2,
  realloc: 3,
  free: 4,
  memalign: 5,
  alignedAlloc: 6,
  posixMemalign: 7,
  valloc: 8,
  pvalloc: 9,
  trim: 10,
} as const;
export type OpCode = (typeof OpCode)[keyof typeof OpCode];

export const LETTER_OF_CODE: readonly OpLetter[] = ["m", "m", "c", "r", "f", "a", "A", "P", "v", "V", "t"];
export const CODE_OF_LETTER: Readonly<Record<OpLetter, OpCode>> = {
  m: 1, c: 2, r: 3, f: 4, a: 5, A: 6, P: 7, v: 8, V: 9, t: 10,
};

/** One call of a trace, as plain data (used by writers, the fuzzer and tests; readers stream `TraceBatch`es). */
export interface TraceOp {
  seq: number;
  tid: number;
  code: OpCode;
  /** free/realloc: the pointer passed (0 = NULL). */
  ptr: number;
  /** malloc/valloc/pvalloc/realloc: size; calloc: nmemb; memalign family: alignment; trim: pad. */
  a: number;
  /** calloc: element size; memalign family: size; else 0. */
  b: number;
  /** The pointer returned (0 = NULL); trim: its return value. */
  res: number;
  /** Line number in the source file (1-based), 0 when unknown. */
  line: number;
  /** The call site's id (`# site`), when the trace records one. */
  site?: number;
}

/**
 * A column-oriented run of operations, the unit every reader yields (up to BATCH_CAPACITY ops). Columns are
 * typed arrays of `capacity` entries, of which the first `length` are valid.
 */
export interface TraceBatch {
  length: number;
  seq: Float64Array;
  tid: Float64Array;
  code: Uint8Array;
  ptr: Float64Array;
  a: Float64Array;
  b: Float64Array;
  res: Float64Array;
  line: Float64Array;
  /** Comment lines (`#`, header included, and blank lines) in file order, when the reader keeps them. */
  comments?: TraceComment[];
  /**
   * Sizes (columns a and b) beyond 2^53 exactly, where the column holds the nearest double: key 2·i for op i's `a`,
   * 2·i + 1 for its `b`. Absent when every size of the batch is exact in its column, as it nearly always is (sizes
   * that large come only in calls that fail). See `sizeAt`.
   */
  wide?: Map<number, bigint>;
  /**
   * The call site of each op (`site=<id>` in alloc-trace, defined by the trace's `# site` lines; 0 = none), when the
   * batch holds any: absent in traces without call sites, so that they cost nothing. See `siteColumn`.
   */
  site?: Float64Array;
}

/** A comment line standing before op `before` of its batch (`before === length`: after the last op). */
export interface TraceComment {
  before: number;
  text: string;
}

/** What a trace's header says about the recorded process. */
export interface TraceHeader {
  format: string;
  pid?: number;
  ppid?: number;
  exe?: string;
  /** The format's variant, when it has several (e.g. the `.rep` header layout). */
  variant?: string;
  /** The program break when the recording began (`# heap-base`): where the recorded heap offsets count from. */
  heapBase?: number;
  /** The recording machine's RAM and swap in bytes (`# mem-total`, `# swap-total`): its overcommit limit. */
  memTotal?: number;
  swapTotal?: number;
  /**
   * The lowest mapping above the program break when the recording began (`# brk-blocked-at`): the kernel keeps the
   * break a page below it, and glibc maps the main arena's space beyond.
   */
  brkBlockedAt?: number;
  /** A forked child's parent (`# fork-of <file> <seq>`): its file, next to this one, and its last record before fork. */
  forkOf?: { file: string; seq: number };
  /** Call sites by id (`# site`, `# frame` lines; importers' backtraces), complete once the trace has been read. */
  sites?: Map<number, CallSite>;
  /** The recorded process's modules (`# module` lines): where its call sites' return addresses point into. */
  modules?: TraceModule[];
}

/** One frame of a call site: a return address, resolved to its module, function and source line where known. */
export interface SiteFrame {
  /** The absolute return address, when the trace gives it unresolved. */
  address?: number;
  /** The module's file name and the address's offset in it. */
  module?: string;
  offset?: number;
  /** Function and source position (absent when unknown, `??` in addr2line's words). */
  fn?: string;
  file?: string;
  line?: number;
}

/** A call site: the innermost frame (the allocating call's return address) first, its callers after. */
export interface CallSite {
  id: number;
  frames: SiteFrame[];
}

/** A module mapped into the recorded process (`# module <id> <path> <base>`). */
export interface TraceModule {
  id: number;
  path: string;
  base: number;
}

/** What an importer could not represent exactly; printed by `replay` and in the JSON report. */
export interface LossReport {
  unknownFrees: number;
  sizesInferred: number;
  failedCalls: number;
  pointerReuseResolved: number;
  linesSkipped: number;
  notes: string[];
}

/** A streamed trace: its header (known once the first batch has been read) and its batches. */
export interface TraceSource {
  name: string;
  header: TraceHeader;
  loss: LossReport;
  batches(options?: BatchOptions): AsyncIterable<TraceBatch>;
}

/** How a consumer takes a source's batches. */
export interface BatchOptions {
  /**
   * The consumer is done with a batch once it has asked for the second batch after it (it holds the batch in hand
   * and at most one read ahead): the reader may then refill the same arrays rather than allocate new ones.
   */
  recycle?: boolean;
}

/** Ops per batch: small enough that a reader's few batches stay in the cache-warm memory it recycles. */
export const BATCH_CAPACITY = 4096;

/** Bytes of batch storage per op: seven f64 columns and the u8 op code. */
const BYTES_PER_OP = 7 * 8 + 1;

/** An empty batch with room for `capacity` ops, its columns in one buffer (one allocation, one transfer). */
export function newBatch(capacity = BATCH_CAPACITY): TraceBatch {
  return batchOver(new ArrayBuffer(capacity * BYTES_PER_OP));
}

/**
 * An empty batch whose columns lie in `buffer`, which newBatch made:
 *
 *   ┌─────┬─────┬─────┬─────┬─────┬─────┬──────┬──────┐
 *   │ seq │ tid │ ptr │ a   │ b   │ res │ line │ code │   capacity × f64 each, then capacity × u8
 *   └─────┴─────┴─────┴─────┴─────┴─────┴──────┴──────┘
 */
export function batchOver(buffer: ArrayBuffer): TraceBatch {
  const capacity = Math.floor(buffer.byteLength / BYTES_PER_OP);
  const column = (k: number) => new Float64Array(buffer, k * 8 * capacity, capacity);
  return {
    length: 0,
    seq: column(0),
    tid: column(1),
    code: new Uint8Array(buffer, 7 * 8 * capacity, capacity),
    ptr: column(2),
    a: column(3),
    b: column(4),
    res: column(5),
    line: column(6),
    comments: undefined,
    wide: undefined,
    site: undefined,
  };
}

/**
 * Batches of finished recycling reads kept for the next reader in this thread (a trace replayed after another):
 * at most RETIRED_MAX of the standard size, under 2 MB.
 */
const RETIRED_MAX = 8;
const retired: TraceBatch[] = [];

/**
 * Where a reader gets the batches it fills: new ones, or the ones its consumer is done with (see `pooled`), or
 * ones handed back from elsewhere (`give`: a worker's consumer returning transferred columns).
 */
export class BatchPool {
  private readonly spare: TraceBatch[] = [];
  /** The last batch handed to a recycling consumer, which it may still hold. */
  private inHand: TraceBatch | null = null;
  readonly recycle: boolean;

  constructor(options: BatchOptions = {}) {
    this.recycle = !!options.recycle;
  }

  /** An empty batch with room for `capacity` ops. */
  take(capacity = BATCH_CAPACITY): TraceBatch {
    let batch = this.spare.pop() ?? retired.pop();
    if (batch && batch.code.length >= capacity) {
      batch.length = 0;
      batch.comments = undefined;
      batch.wide = undefined;
      batch.site = undefined;
    } else {
      batch = newBatch(capacity);
    }
    return batch;
  }

  /** A batch its consumer is done with. */
  give(batch: TraceBatch): void {
    this.spare.push(batch);
  }

  /** A recycling consumer asks for the batch after `batch`: it is done with the one before. */
  handedOn(batch: TraceBatch): void {
    if (this.inHand) this.give(this.inHand);
    this.inHand = batch;
  }

  /** The read is over: a recycling consumer is then done with every batch, which the next reader may refill. */
  retire(): void {
    if (!this.recycle) return;
    if (this.inHand) this.give(this.inHand);
    this.inHand = null;
    for (const batch of this.spare) {
      if (retired.length < RETIRED_MAX && batch.code.length === BATCH_CAPACITY) retired.push(batch);
    }
    this.spare.length = 0;
  }
}

/**
 * A reader's batches for a consumer that takes them with `options`: `read` fills batches from its own pool. For a
 * recycling consumer, a batch returns to the pool once the consumer has asked for the second batch after it; every
 * batch does when the read ends.
 */
export function pooledRead(
  options: BatchOptions | undefined, read: (pool: BatchPool) => AsyncIterable<TraceBatch>,
): AsyncIterable<TraceBatch> {
  const pool = new BatchPool(options);
  return pooled(pool, read(pool));
}

async function* pooled(pool: BatchPool, batches: AsyncIterable<TraceBatch>): AsyncIterable<TraceBatch> {
  try {
    for await (const batch of batches) {
      yield batch;
      if (pool.recycle) pool.handedOn(batch);
    }
  } finally {
    pool.retire();
  }
}

export function emptyLoss(): LossReport {
  return { unknownFrees: 0, sizesInferred: 0, failedCalls: 0, pointerReuseResolved: 0, linesSkipped: 0, notes: [] };
}

/** Appends one op, field by field, to a batch (the batch must have room). */
export function pushFields(
  batch: TraceBatch, seq: number, tid: number, code: number, ptr: number, a: number, b: number, res: number, line: number,
): void {
  const i = batch.length++;
  batch.seq[i] = seq;
  batch.tid[i] = tid;
  batch.code[i] = code;
  batch.ptr[i] = ptr;
  batch.a[i] = a;
  batch.b[i] = b;
  batch.res[i] = res;
  batch.line[i] = line;
}

/** Appends one op to a batch (the batch must have room). */
export function pushOp(batch: TraceBatch, op: TraceOp): void {
  pushFields(batch, op.seq, op.tid, op.code, op.ptr, op.a, op.b, op.res, op.line);
  if (op.site) siteColumn(batch)[batch.length - 1] = op.site;
}

/** Bytes op `i` of a batch asks for (calloc: nmemb × size; memalign family: size; malloc, realloc, valloc: size). */
export function requestedBytes(batch: TraceBatch, i: number): number {
  switch (batch.code[i]) {
    case OpCode.calloc: return batch.a[i] * batch.b[i];
    case OpCode.memalign: case OpCode.alignedAlloc: case OpCode.posixMemalign: return batch.b[i];
    default: return batch.a[i];
  }
}

/** The exact value of size column `column` of op `i` (a bigint only beyond 2^53, where the column rounds). */
export function sizeAt(batch: TraceBatch, i: number, column: "a" | "b"): number | bigint {
  const v = batch[column][i];
  if (v <= Number.MAX_SAFE_INTEGER) return v;
  return batch.wide?.get(2 * i + (column === "b" ? 1 : 0)) ?? BigInt(v);
}

/** Records the exact value of a size beyond 2^53 whose nearest double is in column `column` of op `i`. */
export function setWide(batch: TraceBatch, i: number, column: "a" | "b", value: bigint): void {
  (batch.wide ??= new Map()).set(2 * i + (column === "b" ? 1 : 0), value);
}

/** `requestedBytes` exactly, calloc's product included (up to 2^128, as the native replayer prints it). */
export function exactRequestedBytes(batch: TraceBatch, i: number): number | bigint {
  switch (batch.code[i]) {
    case OpCode.calloc: {
      const product = batch.a[i] * batch.b[i];
      return product <= Number.MAX_SAFE_INTEGER ? product : BigInt(sizeAt(batch, i, "a")) * BigInt(sizeAt(batch, i, "b"));
    }
    case OpCode.memalign: case OpCode.alignedAlloc: case OpCode.posixMemalign: return sizeAt(batch, i, "b");
    default: return sizeAt(batch, i, "a");
  }
}

/** The batch's call-site column, made (all 0: no site) when the batch had none. */
export function siteColumn(batch: TraceBatch): Float64Array {
  return (batch.site ??= new Float64Array(batch.code.length));
}

/** Reads op `i` of a batch as plain data. */
export function opAt(batch: TraceBatch, i: number): TraceOp {
  return {
    seq: batch.seq[i], tid: batch.tid[i], code: batch.code[i] as OpCode, ptr: batch.ptr[i],
    a: batch.a[i], b: batch.b[i], res: batch.res[i], line: batch.line[i],
    ...(batch.site?.[i] ? { site: batch.site[i] } : {}),
  };
}

/** Typed error for malformed input: names the file, the line, the field and the reason. */
export class ParseError extends Error {
  readonly file: string;
  readonly line: number;
  readonly field: string;
  readonly reason: string;
  constructor(file: string, line: number, field: string, reason: string) {
    super(`${file}:${line}: ${field}: ${reason}`);
    this.name = "ParseError";
    this.file = file;
    this.line = line;
    this.field = field;
    this.reason = reason;
  }
}
