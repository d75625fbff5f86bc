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
  batches(): AsyncIterable<TraceBatch>;
}

export const BATCH_CAPACITY = 65536;

export function newBatch(capacity = BATCH_CAPACITY): TraceBatch {
  return {
    length: 0,
    seq: new Float64Array(capacity),
    tid: new Float64Array(capacity),
    code: new Uint8Array(capacity),
    ptr: new Float64Array(capacity),
    a: new Float64Array(capacity),
    b: new Float64Array(capacity),
    res: new Float64Array(capacity),
    line: new Float64Array(capacity),
  };
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
}

/** Bytes op `i` of a batch asks for (calloc: nmemb × size; memalign family: size; malloc, realloc, valloc: size). */
export function requestedBytes(batch: TraceBatch, i: number): number {
  switch (batch.code[i]) {
    case OpCode.calloc: return batch.a[i] * batch.b[i];
    case OpCode.memalign: case OpCode.alignedAlloc: case OpCode.posixMemalign: return batch.b[i];
    default: return batch.a[i];
  }
}

/** Reads op `i` of a batch as plain data. */
export function opAt(batch: TraceBatch, i: number): TraceOp {
  return {
    seq: batch.seq[i], tid: batch.tid[i], code: batch.code[i] as OpCode, ptr: batch.ptr[i],
    a: batch.a[i], b: batch.b[i], res: batch.res[i], line: batch.line[i],
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
