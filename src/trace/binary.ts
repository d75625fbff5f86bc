// heaplab's binary trace format (`.hlb`, optionally gzip-compressed): the columns of each TraceBatch stored as
// little-endian arrays, each in the narrowest encoding that holds it exactly. Loading is a copy per column, not a
// parse per byte. The layout is specified in docs/formats.md.
//
//   file   ┌──────────┬─────────┬─────────┬───────────────┬─────────┬─────────┬─────┬─────────────┐
//          │ "HLBT"   │ version │ json    │ header JSON   │ block 0 │ block 1 │ …   │ end block   │
//          │ 4 bytes  │ u32 = 1 │ u32 len │ padded to 8   │         │         │     │             │
//          └──────────┴─────────┴─────────┴───────────────┴─────────┴─────────┴─────┴─────────────┘
//   block  ┌────────────┬─────┬──────────┬──────┬─────────────────────┬──────────────┬──────────────┐
//          │ byteLength │ ops │ comments │ flags│ 7 column descriptors│ column data  │ comments     │
//          │ u32        │ u32 │ u32      │ u32  │ 24 bytes each       │ each 8-padded│ 8-padded     │
//   flags: 0, or BLOCK_SITES (1): an 8th column, the ops' call sites (`site`), follows the seven
//          └────────────┴─────┴──────────┴──────┴─────────────────────┴──────────────┴──────────────┘
//   column descriptor: u8 encoding, 7 zero bytes, f64 base, f64 step
//   comment: u32 before (op index in the block), u32 byte length, UTF-8 bytes padded to 4
//   end block: u32 0, u32 trailer length, trailer JSON (the loss report) padded to 8

import { type ByteSource, compressionOf, openBytes, sourceName } from "./input.js";
import {
  type BatchOptions, BatchPool, type LossReport, ParseError, type TraceBatch, type TraceComment, type TraceHeader,
  type TraceSource, emptyLoss, pooledRead, setWide, siteColumn, sizeAt,
} from "./types.js";
import { readSiteComment } from "./sites.js";
import { MAX_LINE_BYTES, SIZE_LIMIT, heapBaseProblem } from "./values.js";
import * as host from "#host";

export const BINARY_MAGIC = "HLBT";
export const BINARY_VERSION = 1;

/** How a column is stored: value(i) = base + stored(i), or base + step·i, or base alone. */
export const Encoding = { const: 0, arith: 1, u8: 2, u16: 3, u32: 4, u48: 5, f64: 6, u64: 7 } as const;
type Encoding = (typeof Encoding)[keyof typeof Encoding];

const COLUMNS = ["seq", "tid", "code", "ptr", "a", "b", "res"] as const;
/** A block's flag word: the block's ops carry call sites, stored as an eighth column after the seven. */
const BLOCK_SITES = 1;
const BLOCK_HEAD = 16;
const DESCRIPTOR = 24;

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function pad(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** Header and trailer JSON are small; a larger length means a corrupt file. */
const MAX_JSON = 1 << 24;
/**
 * Ops in one block: a reader's batch is allocated for a block's declared count before its columns are read, and
 * constant columns take no bytes, so the count must be bounded by more than the block's length.
 */
export const MAX_BLOCK_OPS = 1 << 16;
/** Comment bytes in one block; a writer starts a new block beyond it, so that a block stays a few megabytes. */
const MAX_BLOCK_COMMENT_BYTES = 1 << 22;
/** A block's length: its ops in f64 columns and its comments, with room to spare. */
const MAX_BLOCK_BYTES = BLOCK_HEAD + DESCRIPTOR * (COLUMNS.length + 1) + MAX_BLOCK_OPS * 8 * (COLUMNS.length + 1)
  + MAX_BLOCK_COMMENT_BYTES + 8 + MAX_LINE_BYTES + 8;

/** The narrowest exact encoding of `values[0..n)`. */
function chooseEncoding(values: ArrayLike<number>, n: number): { encoding: Encoding; base: number; step: number } {
  const first = n ? values[0] : 0;
  if (n === 0) return { encoding: Encoding.const, base: 0, step: 0 };
  let min = first;
  let max = first;
  let integral = true;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
    if (!Number.isSafeInteger(v)) integral = false;
  }
  if (min === max && integral) return { encoding: Encoding.const, base: first, step: 0 };
  if (integral && n >= 2) {
    const step = values[1] - first;
    let arith = true;
    for (let i = 2; i < n && arith; i++) if (values[i] !== first + step * i) arith = false;
    if (arith) return { encoding: Encoding.arith, base: first, step };
  }
  if (!integral || !Number.isSafeInteger(max - min)) return { encoding: Encoding.f64, base: 0, step: 0 };
  const range = max - min;
  // Addresses stay f64 rather than u48: 2 bytes more per value, and the reader copies them as they are.
  const encoding = range < 2 ** 8 ? Encoding.u8 : range < 2 ** 16 ? Encoding.u16 : range < 2 ** 32 ? Encoding.u32
    : Encoding.f64;
  return { encoding, base: encoding === Encoding.f64 ? 0 : min, step: 0 };
}

function dataBytes(encoding: Encoding, n: number): number {
  switch (encoding) {
    case Encoding.const: case Encoding.arith: return 0;
    case Encoding.u8: return pad(n, 8);
    case Encoding.u16: return pad(2 * n, 8);
    case Encoding.u32: return pad(4 * n, 8);
    case Encoding.u48: return pad(4 * n, 8) + pad(2 * n, 8);
    default: return 8 * n;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The file header: magic, version and the trace header as JSON. */
export function encodeBinaryHeader(header: TraceHeader): Uint8Array {
  const json = encoder.encode(JSON.stringify({
    format: header.format, pid: header.pid, ppid: header.ppid, exe: header.exe, variant: header.variant,
    heapBase: header.heapBase, memTotal: header.memTotal, swapTotal: header.swapTotal, forkOf: header.forkOf,
    brkBlockedAt: header.brkBlockedAt,
  }));
  const out = new Uint8Array(12 + pad(json.length, 8) + 4);
  out.set(encoder.encode(BINARY_MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, BINARY_VERSION, true);
  view.setUint32(8, json.length, true);
  out.set(json, 12);
  return out.subarray(0, pad(12 + json.length, 8));
}

/** The end block: a zero length, then the loss report as JSON. */
export function encodeBinaryEnd(loss: LossReport): Uint8Array {
  const json = encoder.encode(JSON.stringify(loss));
  const out = new Uint8Array(pad(8 + json.length, 8));
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, 8);
  return out;
}

/** One batch as blocks: one, unless it holds more ops or comment bytes than a reader takes in one block. */
export function encodeBinaryBlocks(batch: TraceBatch): Uint8Array[] {
  const comments = (batch.comments ?? []).map((c) => ({ before: c.before, bytes: encoder.encode(c.text) }));
  const blocks: Uint8Array[] = [];
  let from = 0;
  let first = 0;
  let bytes = 0;
  const cut = (to: number, last: number): void => {
    blocks.push(encodeBlock(batch, from, to, comments.slice(first, last)));
    from = to;
    first = last;
    bytes = 0;
  };
  const cutOps = (upTo: number): void => {
    while (upTo - from > MAX_BLOCK_OPS) {
      let last = first;
      while (last < comments.length && comments[last].before <= from + MAX_BLOCK_OPS) last++;
      cut(from + MAX_BLOCK_OPS, last);
    }
  };
  for (let k = 0; k < comments.length; k++) {
    const { before, bytes: text } = comments[k];
    if (text.length > MAX_LINE_BYTES) throw new Error(`a comment of ${text.length} bytes: longer than a trace line may be`);
    cutOps(before);
    if (bytes + text.length + 8 > MAX_BLOCK_COMMENT_BYTES) cut(before, k);
    bytes += text.length + 8;
  }
  cutOps(batch.length);
  cut(batch.length, comments.length);
  return blocks;
}

/** Ops [from, to) of a batch, and the comments among them, as one block. */
function encodeBlock(
  batch: TraceBatch, from: number, to: number, comments: { before: number; bytes: Uint8Array }[],
): Uint8Array {
  if (!littleEndian) throw new Error("binary traces need a little-endian host");
  const n = to - from;
  const plans: { column: string; values: ArrayLike<number>; encoding: Encoding; base: number; step: number }[] = COLUMNS.map((c) => {
    const values = batch[c].subarray(from, to);
    // A size beyond 2^53 that its double rounds is stored as the u64 it is.
    const exact = (c === "a" || c === "b") && hasWide(batch, from, to, c);
    return { column: c, values, ...(exact ? { encoding: Encoding.u64, base: 0, step: 0 } : chooseEncoding(values, n)) };
  });
  const sites = batch.site?.subarray(from, to);
  const flags = sites?.some((id) => id !== 0) ? BLOCK_SITES : 0;
  if (flags) plans.push({ column: "site", values: sites!, ...chooseEncoding(sites!, n) });
  let size = BLOCK_HEAD + DESCRIPTOR * plans.length;
  for (const p of plans) size += dataBytes(p.encoding, n);
  for (const c of comments) size += 8 + pad(c.bytes.length, 4);
  size = pad(size, 8);

  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, size, true);
  view.setUint32(4, n, true);
  view.setUint32(8, comments.length, true);
  view.setUint32(12, flags, true);
  let at = BLOCK_HEAD;
  for (const p of plans) {
    out[at] = p.encoding;
    view.setFloat64(at + 8, p.base, true);
    view.setFloat64(at + 16, p.step, true);
    at += DESCRIPTOR;
  }
  for (const p of plans) {
    if (p.encoding === Encoding.u64) writeSizes(out.buffer, at, batch, from, to, p.column as "a" | "b");
    else writeColumn(out.buffer, at, p.encoding, p.base, p.values, n);
    at += dataBytes(p.encoding, n);
  }
  for (const c of comments) {
    view.setUint32(at, c.before - from, true);
    view.setUint32(at + 4, c.bytes.length, true);
    out.set(c.bytes, at + 8);
    at += 8 + pad(c.bytes.length, 4);
  }
  return out;
}

/** Whether ops [from, to) hold a size of column `column` that only `batch.wide` has exactly. */
function hasWide(batch: TraceBatch, from: number, to: number, column: "a" | "b"): boolean {
  if (!batch.wide) return false;
  const odd = column === "b" ? 1 : 0;
  for (const key of batch.wide.keys()) if ((key & 1) === odd && key >> 1 >= from && key >> 1 < to) return true;
  return false;
}

function writeSizes(buffer: ArrayBuffer, at: number, batch: TraceBatch, from: number, to: number, column: "a" | "b"): void {
  const a = new BigUint64Array(buffer, at, to - from);
  for (let i = from; i < to; i++) a[i - from] = BigInt(sizeAt(batch, i, column));
}

/** Decodes a u64 size column: the nearest double into the column, the exact value of those beyond 2^53 aside. */
function readSizes(buffer: ArrayBuffer, at: number, batch: TraceBatch, column: "a" | "b", n: number): void {
  const words = new Uint32Array(buffer, at, 2 * n);
  const out = batch[column];
  for (let i = 0; i < n; i++) {
    const high = words[2 * i + 1];
    out[i] = words[2 * i] + high * 4294967296;
    if (high >= 0x200000) setWide(batch, i, column, new BigUint64Array(buffer, at + 8 * i, 1)[0]);
  }
}

function writeColumn(buffer: ArrayBuffer, at: number, encoding: Encoding, base: number, values: ArrayLike<number>, n: number): void {
  switch (encoding) {
    case Encoding.u8: { const a = new Uint8Array(buffer, at, n); for (let i = 0; i < n; i++) a[i] = values[i] - base; break; }
    case Encoding.u16: { const a = new Uint16Array(buffer, at, n); for (let i = 0; i < n; i++) a[i] = values[i] - base; break; }
    case Encoding.u32: { const a = new Uint32Array(buffer, at, n); for (let i = 0; i < n; i++) a[i] = values[i] - base; break; }
    case Encoding.f64: { const a = new Float64Array(buffer, at, n); for (let i = 0; i < n; i++) a[i] = values[i]; break; }
  }
}

/** Decodes one column into `out`; each encoding has its own small loop over one array type. */
function readColumn(
  buffer: ArrayBuffer, at: number, encoding: number, base: number, step: number, out: Float64Array, n: number,
  file: string,
): void {
  switch (encoding) {
    case Encoding.const: out.fill(base, 0, n); return;
    case Encoding.arith: decodeArithmetic(out, base, step, n); return;
    case Encoding.f64: out.set(new Float64Array(buffer, at, n)); return;
    case Encoding.u8: decodeU8(out, base, new Uint8Array(buffer, at, n), n); return;
    case Encoding.u16: decodeU16(out, base, new Uint16Array(buffer, at, n), n); return;
    case Encoding.u32: decodeU32(out, base, new Uint32Array(buffer, at, n), n); return;
    case Encoding.u48: decodeU48(out, base, new Uint32Array(buffer, at, n), new Uint16Array(buffer, at + pad(4 * n, 8), n), n); return;
    default: throw new ParseError(file, 0, "encoding", `unknown column encoding ${encoding}`);
  }
}

function decodeArithmetic(out: Float64Array, base: number, step: number, n: number): void {
  for (let i = 0; i < n; i++) out[i] = base + step * i;
}

function decodeU8(out: Float64Array, base: number, v: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = base + v[i];
}

function decodeU16(out: Float64Array, base: number, v: Uint16Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = base + v[i];
}

function decodeU32(out: Float64Array, base: number, v: Uint32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = base + v[i];
}

function decodeU48(out: Float64Array, base: number, lo: Uint32Array, hi: Uint16Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = base + lo[i] + hi[i] * 4294967296;
}

/**
 * The op-code column: almost always u8 (based at the smallest code) or constant; anything else goes through a
 * scratch column. Returns false when a code lies outside 1…10 (the caller finds which).
 */
function readCodes(
  buffer: ArrayBuffer, at: number, encoding: number, base: number, step: number, out: Uint8Array, n: number,
  file: string,
): boolean {
  if (encoding === Encoding.u8) return decodeCodes(out, base, new Uint8Array(buffer, at, n), n);
  if (encoding === Encoding.const) {
    out.fill(base, 0, n);
    return n === 0 || isOpCode(base);
  }
  const scratch = new Float64Array(n);
  readColumn(buffer, at, encoding, base, step, scratch, n, file);
  out.set(scratch);
  return scratch.every(isOpCode);
}

function isOpCode(code: number): boolean {
  return code >= 1 && code <= 10;
}

function decodeCodes(out: Uint8Array, base: number, v: Uint8Array, n: number): boolean {
  let low = 255;
  let high = 0;
  for (let i = 0; i < n; i++) {
    const stored = v[i];
    if (stored < low) low = stored;
    if (stored > high) high = stored;
    out[i] = base + stored;
  }
  return n === 0 || (isOpCode(base + low) && isOpCode(base + high));
}

/** True when `head` starts with the binary trace magic. */
export function isBinaryTrace(head: Uint8Array): boolean {
  return head.length >= 4 && decoder.decode(head.subarray(0, 4)) === BINARY_MAGIC;
}

/** Opens a binary trace (plain or gzip) as a streamed trace. Its `line` column numbers ops as alloc-trace text would. */
export function readBinary(source: ByteSource): TraceSource {
  const name = sourceName(source);
  const header: TraceHeader = { format: "binary" };
  const loss = emptyLoss();
  return {
    name,
    header,
    loss,
    batches: (options?: BatchOptions) => pooledRead(options, (pool) => parseBinary(source, name, header, loss, pool)),
  };
}

/**
 * A trace's bytes, looked at in place: `view(n)` shows the next n bytes, contiguous and 8-byte aligned in their
 * buffer, without consuming them; `skip(n)` consumes them. A view is valid until the next call.
 */
interface BlockSource {
  /** The next n bytes when they are already at hand (no waiting), else undefined. */
  peek(n: number): Uint8Array | undefined;
  /** The next n bytes, or null when the input ends first. */
  view(n: number): Promise<Uint8Array | null>;
  skip(n: number): void;
  /** Bytes seen but not yet consumed (0 at the end of an empty input). */
  readonly remaining: number;
  close(): Promise<void>;
}

/** Bytes a window holds at first: a few blocks. */
const WINDOW = 1 << 20;
/** The buffer of the last window closed in this thread. */
let spareWindow: Uint8Array | null = null;

/**
 * A window over a byte stream: a buffer holding the bytes seen but not yet consumed, at its start, refilled by
 * `more` (which appends into the free space and returns the byte count, 0 at the end). Records start at multiples
 * of 8 in the stream, and the window always starts at one, so every view is 8-aligned.
 */
abstract class Window implements BlockSource {
  protected buffer: Uint8Array;
  protected start = 0;
  protected end = 0;

  constructor(capacity: number) {
    this.buffer = spareWindow && spareWindow.length >= capacity ? spareWindow : new Uint8Array(capacity);
    spareWindow = null;
  }

  /** Leaves the buffer to the next window: a fresh megabyte costs page faults on every read of a short trace. */
  protected release(): void {
    spareWindow = this.buffer;
  }

  protected abstract more(into: Uint8Array): number | Promise<number>;

  get remaining(): number {
    return this.end - this.start;
  }

  peek(n: number): Uint8Array | undefined {
    return this.end - this.start >= n ? this.buffer.subarray(this.start, this.start + n) : undefined;
  }

  async view(n: number): Promise<Uint8Array | null> {
    if (this.end - this.start < n) {
      const keep = this.buffer.subarray(this.start, this.end);
      if (n > this.buffer.length) {
        const grown = new Uint8Array(2 ** Math.ceil(Math.log2(n)));
        grown.set(keep);
        this.buffer = grown;
      } else {
        this.buffer.copyWithin(0, this.start, this.end);
      }
      this.end -= this.start;
      this.start = 0;
      while (this.end < n) {
        const more = this.more(this.buffer.subarray(this.end));
        const got = typeof more === "number" ? more : await more;
        if (got === 0) return null;
        this.end += got;
      }
    }
    return this.buffer.subarray(this.start, this.start + n);
  }

  skip(n: number): void {
    this.start += n;
  }

  abstract close(): Promise<void>;
}

/** A window over a chunk stream (gzip, URLs, memory). */
class StreamWindow extends Window {
  private readonly it: AsyncIterator<Uint8Array>;
  private pending: Uint8Array | null = null;

  constructor(source: AsyncIterable<Uint8Array>) {
    super(WINDOW);
    this.it = source[Symbol.asyncIterator]();
  }

  protected async more(into: Uint8Array): Promise<number> {
    while (!this.pending || this.pending.length === 0) {
      const r = await this.it.next();
      if (r.done) return 0;
      this.pending = r.value;
    }
    const take = Math.min(into.length, this.pending.length);
    into.set(this.pending.subarray(0, take));
    this.pending = this.pending.subarray(take);
    return take;
  }

  async close(): Promise<void> {
    this.release();
    await this.it.return?.();
  }
}

/**
 * A window over an uncompressed file, read synchronously a window's worth at a time: a megabyte from the page cache
 * takes about 30 µs, a quarter of the thread-pool round trip an asynchronous read costs.
 */
class FileWindow extends Window {
  private position = 0;
  private constructor(private readonly fs: Awaited<ReturnType<typeof host.fs>>, private readonly fd: number) {
    super(WINDOW);
  }

  /** A window on a plain (not gzip or zstd) file, or null when the file is compressed. */
  static async open(path: string): Promise<FileWindow | null> {
    const fs = await host.fs();
    const fd = fs.openSync(path, "r");
    const window = new FileWindow(fs, fd);
    const head = window.peek(4) ?? await window.view(4);
    if (head && compressionOf(head)) {
      await window.close();
      return null;
    }
    return window;
  }

  protected more(into: Uint8Array): number {
    const got = this.fs.readSync(this.fd, into, 0, into.length, this.position);
    this.position += got;
    return got;
  }

  async close(): Promise<void> {
    this.release();
    this.fs.closeSync(this.fd);
  }
}

function isNodeFilePath(source: ByteSource): source is string {
  return typeof source === "string" && typeof process !== "undefined" && !!process.versions?.node && !/^https?:/.test(source);
}

async function* parseBinary(
  source: ByteSource, file: string, header: TraceHeader, loss: LossReport, pool: BatchPool,
): AsyncIterable<TraceBatch> {
  if (!littleEndian) throw new Error("binary traces need a little-endian host");
  let reader: BlockSource | null = null;
  if (isNodeFilePath(source)) {
    try {
      reader = await FileWindow.open(source);
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    }
  }
  reader ??= new StreamWindow(openBytes(source));
  try {
    yield* readBlocks(reader, file, header, loss, pool);
  } finally {
    await reader.close();
  }
}

async function* readBlocks(
  reader: BlockSource, file: string, header: TraceHeader, loss: LossReport, pool: BatchPool,
): AsyncIterable<TraceBatch> {
  const truncated = (what: string): ParseError => new ParseError(file, 0, what, "truncated binary trace");
  const head = await reader.view(12);
  if (!head) {
    if (reader.remaining === 0) throw new ParseError(file, 0, "file", "empty trace");
    throw truncated("header");
  }
  if (!isBinaryTrace(head)) throw new ParseError(file, 0, "magic", "not a heaplab binary trace");
  const headView = viewOf(head);
  const version = headView.getUint32(4, true);
  if (version !== BINARY_VERSION) throw new ParseError(file, 0, "version", `unsupported binary trace version ${version}`);
  const jsonLength = headView.getUint32(8, true);
  if (jsonLength > MAX_JSON) throw new ParseError(file, 0, "header", `corrupt header length ${jsonLength}`);
  const headLength = pad(12 + jsonLength, 8);
  const json = await reader.view(headLength);
  if (!json) throw truncated("header");
  Object.assign(header, headerOf(parseJson(json.subarray(12, 12 + jsonLength), file, "header"), file));
  header.format = "binary";
  reader.skip(headLength);

  let lineNo = 0;
  for (;;) {
    const blockHead = reader.peek(8) ?? await reader.view(8);
    if (!blockHead) throw truncated("block");
    const view = viewOf(blockHead);
    const size = view.getUint32(0, true);
    if (size === 0) {
      const trailerLength = view.getUint32(4, true);
      if (trailerLength > MAX_JSON) throw new ParseError(file, lineNo, "trailer", `corrupt trailer length ${trailerLength}`);
      const trailerBytes = pad(8 + trailerLength, 8);
      const trailer = await reader.view(trailerBytes);
      if (!trailer) throw truncated("trailer");
      addLoss(loss, parseJson(trailer.subarray(8, 8 + trailerLength), file, "trailer"), file);
      reader.skip(trailerBytes);
      if (reader.remaining > 0 || await reader.view(1)) {
        throw new ParseError(file, lineNo, "end", "bytes after the end block (two traces joined, or a corrupt file)");
      }
      return;
    }
    const ops = view.getUint32(4, true);
    if (size % 8 || size < BLOCK_HEAD + DESCRIPTOR * COLUMNS.length || size > MAX_BLOCK_BYTES || ops > MAX_BLOCK_OPS) {
      throw new ParseError(file, lineNo, "block", `corrupt block header (length ${size}, ${ops} ops; at most ${MAX_BLOCK_BYTES} bytes and ${MAX_BLOCK_OPS} ops)`);
    }
    const block = reader.peek(size) ?? await reader.view(size);
    if (!block) throw truncated("block");
    const decoded = decodeBlock(block, file, lineNo, pool);
    for (const comment of decoded.batch.comments ?? []) readSiteComment(comment.text, header);
    reader.skip(size);
    lineNo = decoded.lastLine;
    yield decoded.batch;
  }
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** The trace header a file's header JSON gives, each field checked. */
function headerOf(json: Record<string, unknown>, file: string): Partial<TraceHeader> {
  const header: Partial<TraceHeader> = {};
  const wrong = (field: string, reason: string): ParseError => new ParseError(file, 0, `header ${field}`, reason);
  for (const field of ["pid", "ppid"] as const) {
    const v = json[field];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw wrong(field, `not a process id: ${JSON.stringify(v)}`);
    header[field] = v as number;
  }
  for (const field of ["exe", "variant"] as const) {
    const v = json[field];
    if (v === undefined) continue;
    if (typeof v !== "string") throw wrong(field, `not a string: ${JSON.stringify(v)}`);
    header[field] = v;
  }
  for (const field of ["heapBase", "brkBlockedAt"] as const) {
    const v = json[field];
    if (v === undefined) continue;
    const problem = typeof v === "number" ? heapBaseProblem(v) : "not a number";
    if (problem) throw wrong(field, problem);
    header[field] = v as number;
  }
  for (const field of ["memTotal", "swapTotal"] as const) {
    const v = json[field];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw wrong(field, `not a byte count: ${JSON.stringify(v)}`);
    header[field] = v as number;
  }
  if (json.forkOf !== undefined) {
    const { file, seq } = (json.forkOf ?? {}) as { file?: unknown; seq?: unknown };
    if (typeof file !== "string" || !file || !Number.isSafeInteger(seq) || (seq as number) < 0) {
      throw wrong("forkOf", `not a parent file and sequence number: ${JSON.stringify(json.forkOf)}`);
    }
    header.forkOf = { file, seq: seq as number };
  }
  return header;
}

const LOSS_COUNTS = ["unknownFrees", "sizesInferred", "failedCalls", "pointerReuseResolved", "linesSkipped"] as const;

/** Adds the loss report a file's trailer saved, each field checked. */
function addLoss(loss: LossReport, saved: Record<string, unknown>, file: string): void {
  const wrong = (field: string, reason: string): ParseError => new ParseError(file, 0, `trailer ${field}`, reason);
  for (const k of LOSS_COUNTS) {
    const v = saved[k] ?? 0;
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw wrong(k, `not a count: ${JSON.stringify(v)}`);
  }
  const notes = saved.notes ?? [];
  if (!Array.isArray(notes) || !notes.every((n) => typeof n === "string")) {
    throw wrong("notes", `not a list of strings: ${JSON.stringify(notes).slice(0, 40)}`);
  }
  for (const k of LOSS_COUNTS) loss[k] += (saved[k] as number | undefined) ?? 0;
  loss.notes.push(...notes);
}

function parseJson(bytes: Uint8Array, file: string, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(decoder.decode(bytes));
    if (v && typeof v === "object") return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new ParseError(file, 0, what, "corrupt JSON");
}

function decodeBlock(
  block: Uint8Array, file: string, firstLine: number, pool: BatchPool,
): { batch: TraceBatch; lastLine: number } {
  const view = viewOf(block);
  const size = block.length;
  const n = view.getUint32(4, true);
  const commentCount = view.getUint32(8, true);
  const flags = view.getUint32(12, true);
  if (flags & ~BLOCK_SITES) throw new ParseError(file, firstLine, "block", `unknown block flags ${flags}`);
  const columns = flags & BLOCK_SITES ? COLUMNS.length + 1 : COLUMNS.length;
  if (BLOCK_HEAD + DESCRIPTOR * columns > size) throw new ParseError(file, firstLine, "block", "corrupt block header");
  const batch = pool.take(Math.max(n, 1));
  batch.length = n;
  let at = BLOCK_HEAD + DESCRIPTOR * columns;
  let codesValid = true;
  /** Columns whose values the descriptor alone does not show to lie in range. */
  let unchecked = 0;
  for (let k = 0; k < COLUMNS.length; k++) {
    const d = BLOCK_HEAD + DESCRIPTOR * k;
    const encoding = block[d] as Encoding;
    const bytes = dataBytes(encoding, n);
    if (at + bytes > size) throw new ParseError(file, firstLine, COLUMNS[k], "column data past the end of its block");
    const column = COLUMNS[k];
    const base = view.getFloat64(d + 8, true);
    const step = view.getFloat64(d + 16, true);
    const from = block.byteOffset + at;
    if (column === "code") codesValid = readCodes(block.buffer as ArrayBuffer, from, encoding, base, step, batch.code, n, file);
    else if (encoding === Encoding.u64) {
      if (column !== "a" && column !== "b") throw new ParseError(file, firstLine, column, "u64 encoding outside a size column");
      readSizes(block.buffer as ArrayBuffer, from, batch, column, n);
    } else {
      readColumn(block.buffer as ArrayBuffer, from, encoding, base, step, batch[column], n, file);
      if (!descriptorInRange(encoding, base, step, n, limitOf(column))) unchecked |= 1 << k;
    }
    at += bytes;
  }
  if (flags & BLOCK_SITES) {
    const d = BLOCK_HEAD + DESCRIPTOR * COLUMNS.length;
    const encoding = block[d] as Encoding;
    const bytes = dataBytes(encoding, n);
    if (at + bytes > size || encoding === Encoding.u64) throw new ParseError(file, firstLine, "site", "corrupt site column");
    const base = view.getFloat64(d + 8, true);
    const step = view.getFloat64(d + 16, true);
    const site = siteColumn(batch);
    readColumn(block.buffer as ArrayBuffer, block.byteOffset + at, encoding, base, step, site, n, file);
    const i = descriptorInRange(encoding, base, step, n, EXACT_LIMIT) ? -1 : outOfRange(site, n, EXACT_LIMIT);
    if (i >= 0) throw new ParseError(file, firstLine, "site", `${site[i]}: not an integer in [0, 2^53]`);
    at += bytes;
  }
  const comments: TraceComment[] = [];
  for (let c = 0; c < commentCount; c++) {
    if (at + 8 > size) throw new ParseError(file, firstLine, "comment", "comment past the end of its block");
    const before = view.getUint32(at, true);
    const length = view.getUint32(at + 4, true);
    if (at + 8 + length > size || before > n || (comments.length && before < comments[comments.length - 1].before)) {
      throw new ParseError(file, firstLine, "comment", "corrupt comment record");
    }
    comments.push({ before, text: decoder.decode(block.subarray(at + 8, at + 8 + length)) });
    at += 8 + pad(length, 4);
  }
  if (comments.length) batch.comments = comments;
  const lastLine = numberLines(batch.line, n, comments, firstLine);
  if (!codesValid) {
    const i = batch.code.subarray(0, n).findIndex((code) => !isOpCode(code));
    throw new ParseError(file, batch.line[i], "op", `unknown op code ${batch.code[i]}`);
  }
  for (let k = 0; k < COLUMNS.length; k++) {
    if (!(unchecked & (1 << k))) continue;
    const column = COLUMNS[k] as Exclude<(typeof COLUMNS)[number], "code">;
    const limit = limitOf(column);
    const i = outOfRange(batch[column], n, limit);
    if (i >= 0) {
      const what = limit === SIZE_LIMIT ? "not a size (an integer in [0, 2^64))" : "not an integer in [0, 2^53]";
      throw new ParseError(file, batch.line[i], column, `${batch[column][i]}: ${what}`);
    }
  }
  return { batch, lastLine };
}

/** Addresses, ids and sequence numbers are exact doubles. */
const EXACT_LIMIT = Number.MAX_SAFE_INTEGER + 1;

/** Sizes are size_t values; every other column holds exact doubles. */
function limitOf(column: string): number {
  return column === "a" || column === "b" ? SIZE_LIMIT : EXACT_LIMIT;
}

const isIndex = (v: number, limit: number): boolean => v >= 0 && v < limit && Math.floor(v) === v;

/**
 * Whether every value a descriptor gives is an integer in [0, limit), known without looking at the values: for the
 * integer encodings from the base and the widest stored value (the column loads with no loop over it); f64
 * columns, and the few descriptors this cannot tell, are checked value by value.
 */
function descriptorInRange(encoding: number, base: number, step: number, n: number, limit: number): boolean {
  switch (encoding) {
    case Encoding.const: return n === 0 || isIndex(base, limit);
    case Encoding.arith: return n === 0 || (isIndex(base, limit) && Math.floor(step) === step && isIndex(base + step * (n - 1), limit));
    case Encoding.u8: return isIndex(base, limit) && isIndex(base + 0xff, limit);
    case Encoding.u16: return isIndex(base, limit) && isIndex(base + 0xffff, limit);
    case Encoding.u32: return isIndex(base, limit) && isIndex(base + 0xffffffff, limit);
    case Encoding.u48: return isIndex(base, limit) && isIndex(base + 0xffffffffffff, limit);
    default: return false;
  }
}

/** The first of `values[0..n)` that is not an integer in [0, limit) (NaN and infinities included), or -1. */
function outOfRange(values: Float64Array, n: number, limit: number): number {
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!(v >= 0 && v < limit && Math.floor(v) === v)) return i;
  }
  return -1;
}

/** Line numbers as the alloc-trace rendering of the block would have them; returns the block's last line. */
function numberLines(lines: Float64Array, n: number, comments: TraceComment[], firstLine: number): number {
  let line = firstLine;
  let from = 0;
  for (const comment of comments) {
    for (let i = from; i < comment.before; i++) lines[i] = ++line;
    from = comment.before;
    line++;
  }
  for (let i = from; i < n; i++) lines[i] = ++line;
  return line;
}

