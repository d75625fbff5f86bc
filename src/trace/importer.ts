// The frame every text importer shares: lines in, TraceBatches out, a live set for what the format leaves unsaid,
// and the lenient/strict policy for malformed lines. A format supplies only a `LineParser`.

import { type ByteSource, openBytes, sourceName } from "./input.js";
import {
  BATCH_CAPACITY, type BatchOptions, BatchPool, type LossReport, type OpCode, ParseError, type TraceBatch,
  type TraceHeader, type TraceSource, emptyLoss, pooledRead, pushFields, setWide, siteColumn,
} from "./types.js";
import { MAX_LINE_BYTES, exactField, lineTooLong, sizeField } from "./values.js";

export interface ImportOptions {
  /** Skip malformed lines and count them in the loss report instead of throwing. */
  lenient?: boolean;
}

/** Collects operations into batches of BATCH_CAPACITY and hands full ones on. */
export class OpSink {
  private batch: TraceBatch;
  /** Where the op pushed last went (the batch it filled may already be in `ready`). */
  private last: TraceBatch;
  private lastIndex = 0;
  private readonly ready: TraceBatch[] = [];
  /** Operations pushed so far. */
  count = 0;

  constructor(private readonly pool: BatchPool) {
    this.batch = pool.take();
    this.last = this.batch;
  }

  push(seq: number, tid: number, code: OpCode, ptr: number, a: number, b: number, res: number, line: number): void {
    const batch = this.batch;
    pushFields(batch, seq, tid, code, ptr, a, b, res, line);
    this.last = batch;
    this.lastIndex = batch.length - 1;
    this.count++;
    if (batch.length === BATCH_CAPACITY) {
      this.ready.push(batch);
      this.batch = this.pool.take();
    }
  }

  /**
   * Keeps the exact value of the last op's sizes beyond 2^53 (which its columns round), from the tokens they were
   * read from (decimal or 0x-hex, leading zeros allowed).
   */
  exact(a?: string, b?: string): void {
    const batch = this.last;
    const i = this.lastIndex;
    if (a !== undefined && batch.a[i] > Number.MAX_SAFE_INTEGER) setWide(batch, i, "a", BigInt(a));
    if (b !== undefined && batch.b[i] > Number.MAX_SAFE_INTEGER) setWide(batch, i, "b", BigInt(b));
  }

  /** Names the call site (an id of the header's `sites`) of the last op pushed. */
  site(id: number): void {
    siteColumn(this.last)[this.lastIndex] = id;
  }

  /** Full batches, oldest first (emptied by the call). */
  *take(): Generator<TraceBatch> {
    while (this.ready.length) yield this.ready.shift()!;
  }

  /** The last, partly filled batch, if it holds anything. */
  rest(): TraceBatch | null {
    return this.batch.length ? this.batch : null;
  }
}

/**
 * Addresses → numbers in an open-addressing table of two Float64Arrays (no per-entry objects: a trace's millions
 * of short-lived blocks cost no garbage). Key 0 marks an empty slot, -1 a deleted one; address 0 is never stored.
 */
export class AddressMap {
  private keys: Float64Array;
  private values: Float64Array;
  private mask: number;
  private used = 0;
  size = 0;

  constructor(capacity = 1024) {
    this.keys = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
    this.mask = capacity - 1;
  }

  private slot(key: number): number {
    const lo = key % 4294967296;
    const hi = (key - lo) / 4294967296;
    let h = Math.imul((lo >>> 4) ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    let i = h & this.mask;
    for (;;) {
      const k = this.keys[i];
      if (k === key || k === 0) return i;
      i = (i + 1) & this.mask;
    }
  }

  get(key: number): number | undefined {
    const i = this.slot(key);
    return this.keys[i] === key ? this.values[i] : undefined;
  }

  set(key: number, value: number): void {
    let i = this.slot(key);
    if (this.keys[i] !== key) {
      // Reuse the first deleted slot on the way, if any.
      const free = this.firstDeleted(key, i);
      if (free >= 0) i = free;
      else this.used++;
      this.keys[i] = key;
      this.size++;
    }
    this.values[i] = value;
    if (this.used > this.mask * 0.6) this.rehash();
  }

  delete(key: number): boolean {
    const i = this.slot(key);
    if (this.keys[i] !== key) return false;
    this.keys[i] = -1;
    this.size--;
    return true;
  }

  private firstDeleted(key: number, empty: number): number {
    const lo = key % 4294967296;
    const hi = (key - lo) / 4294967296;
    let h = Math.imul((lo >>> 4) ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    for (let i = h & this.mask; i !== empty; i = (i + 1) & this.mask) if (this.keys[i] === -1) return i;
    return -1;
  }

  private rehash(): void {
    const keys = this.keys;
    const values = this.values;
    const capacity = this.size * 4 > keys.length ? keys.length * 2 : keys.length;
    this.keys = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
    this.mask = capacity - 1;
    this.used = this.size;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (k > 0) {
        const j = this.slot(k);
        this.keys[j] = k;
        this.values[j] = values[i];
      }
    }
  }
}

/**
 * Live blocks by address with their requested size, for formats whose frees carry no size or whose records may
 * start mid-run. Every repair it makes is counted in the loss report.
 */
export class LiveSet {
  private readonly sizes = new AddressMap();
  private readonly loss: LossReport;

  constructor(loss: LossReport) {
    this.loss = loss;
  }

  /** A block was returned at `address`; an address still live means its free was never recorded. */
  allocated(address: number, size: number): void {
    if (address === 0) return;
    if (this.sizes.get(address) !== undefined) this.loss.pointerReuseResolved++;
    this.sizes.set(address, size);
  }

  /** A block was released; returns its size, or undefined (counted as an unknown free) when never seen. */
  freed(address: number): number | undefined {
    if (address === 0) return 0;
    const size = this.sizes.get(address);
    if (size === undefined) this.loss.unknownFrees++;
    else this.sizes.delete(address);
    return size;
  }

  has(address: number): boolean {
    return this.sizes.get(address) !== undefined;
  }
}

/** What one format contributes: a parser for each line, and a check at the end of the input. */
export interface LineParser {
  /** Parses one line (without its newline); throws ParseError for malformed input. */
  line(text: string, lineNo: number, sink: OpSink): void;
  /** Called once after the last line (e.g. to check a header's counts or report unfinished calls). */
  end?(lineNo: number, sink: OpSink): void;
}

export type ParserFactory = (file: string, header: TraceHeader, loss: LossReport, options: ImportOptions) => LineParser;

/** A streamed TraceSource over a line-oriented text format. */
export function textTrace(
  source: ByteSource, format: string, factory: ParserFactory, options: ImportOptions = {},
): TraceSource {
  const name = sourceName(source);
  const header: TraceHeader = { format };
  const loss = emptyLoss();
  return {
    name,
    header,
    loss,
    batches: (batchOptions?: BatchOptions) =>
      pooledRead(batchOptions, (pool) => parseText(source, name, header, loss, factory, options, pool)),
  };
}

async function* parseText(
  source: ByteSource, name: string, header: TraceHeader, loss: LossReport, factory: ParserFactory,
  options: ImportOptions, pool: BatchPool,
): AsyncIterable<TraceBatch> {
  const parser = factory(name, header, loss, options);
  const sink = new OpSink(pool);
  let lineNo = 0;
  const onLine = (text: string): void => {
    lineNo++;
    try {
      parser.line(text, lineNo, sink);
    } catch (e) {
      if (!(e instanceof ParseError) || !options.lenient) throw e;
      loss.linesSkipped++;
    }
  };
  for await (const lines of textLines(openBytes(source), name)) {
    for (const text of lines) onLine(text);
    yield* sink.take();
  }
  if (lineNo === 0) throw new ParseError(name, 0, "file", "empty trace");
  try {
    parser.end?.(lineNo, sink);
  } catch (e) {
    if (!(e instanceof ParseError) || !options.lenient) throw e;
    loss.notes.push(e.message);
  }
  yield* sink.take();
  const rest = sink.rest();
  if (rest) yield rest;
}

/**
 * Decodes a byte stream as UTF-8 (a leading byte-order mark dropped) and yields its lines (no newline, no trailing
 * CR), one array per input chunk. A line longer than MAX_LINE_BYTES is a ParseError naming `file` and the line.
 */
export async function* textLines(chunks: AsyncIterable<Uint8Array>, file = "<memory>"): AsyncIterable<string[]> {
  const decoder = new TextDecoder();
  let carry = "";
  let lineNo = 0;
  for await (const chunk of chunks) {
    // Checked before joining: a line that never ends would otherwise be copied again with every chunk.
    if (carry.length > MAX_LINE_BYTES) throw lineTooLong(file, lineNo + 1, carry.slice(0, 80));
    const text = carry + decoder.decode(chunk, { stream: true });
    const lines = text.split("\n");
    carry = lines.pop()!;
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      if (l.length > MAX_LINE_BYTES) throw lineTooLong(file, lineNo + i + 1, l.slice(0, 80));
      if (l.length && l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1);
    }
    lineNo += lines.length;
    yield lines;
  }
  carry += decoder.decode();
  if (carry.length > MAX_LINE_BYTES) throw lineTooLong(file, lineNo + 1, carry.slice(0, 80));
  if (carry.length) yield [carry.endsWith("\r") ? carry.slice(0, -1) : carry];
}

/**
 * A decimal or 0x-hex unsigned integer as `field` of `line`: NaN when malformed; a ParseError when it does not fit
 * in 64 bits, or, for an address (`exact`), when it lies beyond the doubles' exact integers.
 */
export function parseUnsigned(text: string, file: string, line: number, field: string, exact = false): number {
  const decimal = /^[0-9]+$/.test(text);
  if (!decimal && !/^0[xX][0-9a-fA-F]+$/.test(text)) return NaN;
  const digits = decimal ? text : text.slice(2);
  const radix = decimal ? 10 : 16;
  return exact ? exactField(digits, radix, file, line, field) : sizeField(digits, radix, file, line, field);
}

/** The value of `text` as a field, or a ParseError naming it. */
export function field(text: string | undefined, file: string, line: number, name: string, parse: (t: string) => number): number {
  if (text === undefined || text === "") throw new ParseError(file, line, name, "missing");
  const v = parse(text);
  if (!Number.isFinite(v)) throw new ParseError(file, line, name, `not a number: '${text.slice(0, 40)}'`);
  return v;
}
