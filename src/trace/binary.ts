// heaplab's binary trace format (`.hlb`, optionally gzip-compressed): the columns of each TraceBatch stored as
// little-endian arrays, each in the narrowest encoding that holds it exactly. Loading is a copy per column, not a
// parse per byte. The layout is specified in docs/formats.md.
//
//   file   ┌──────────┬─────────┬─────────┬───────────────┬─────────┬─────────┬─────┬─────────────┐
//          │ "HLBT"   │ version │ json    │ header JSON   │ block 0 │ block 1 │ …   │ end block   │
//          │ 4 bytes  │ u32 = 1 │ u32 len │ padded to 8   │         │         │     │             │
//          └──────────┴─────────┴─────────┴───────────────┴─────────┴─────────┴─────┴─────────────┘
//   block  ┌────────────┬─────┬──────────┬──────┬─────────────────────┬──────────────┬──────────────┐
//          │ byteLength │ ops │ comments │ 0    │ 7 column descriptors│ column data  │ comments     │
//          │ u32        │ u32 │ u32      │ u32  │ 24 bytes each       │ each 8-padded│ 8-padded     │
//          └────────────┴─────┴──────────┴──────┴─────────────────────┴──────────────┴──────────────┘
//   column descriptor: u8 encoding, 7 zero bytes, f64 base, f64 step
//   comment: u32 before (op index in the block), u32 byte length, UTF-8 bytes padded to 4
//   end block: u32 0, u32 trailer length, trailer JSON (the loss report) padded to 8

import { type ByteSource, openBytes, sourceName } from "./input.js";
import {
  type LossReport, ParseError, type TraceBatch, type TraceComment, type TraceHeader, type TraceSource, emptyLoss,
  newBatch,
} from "./types.js";

export const BINARY_MAGIC = "HLBT";
export const BINARY_VERSION = 1;

/** How a column is stored: value(i) = base + stored(i), or base + step·i, or base alone. */
export const Encoding = { const: 0, arith: 1, u8: 2, u16: 3, u32: 4, u48: 5, f64: 6 } as const;
type Encoding = (typeof Encoding)[keyof typeof Encoding];

const COLUMNS = ["seq", "tid", "code", "ptr", "a", "b", "res"] as const;
const BLOCK_HEAD = 16;
const DESCRIPTOR = 24;

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function pad(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** Header and trailer JSON are small; a larger length means a corrupt file. */
const MAX_JSON = 1 << 24;

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
  const encoding = range < 2 ** 8 ? Encoding.u8 : range < 2 ** 16 ? Encoding.u16 : range < 2 ** 32 ? Encoding.u32
    : range < 2 ** 48 ? Encoding.u48 : Encoding.f64;
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

/** One batch as one block. */
export function encodeBinaryBlock(batch: TraceBatch): Uint8Array {
  if (!littleEndian) throw new Error("binary traces need a little-endian host");
  const n = batch.length;
  const plans = COLUMNS.map((c) => ({ column: c, ...chooseEncoding(batch[c], n) }));
  const comments = (batch.comments ?? []).map((c) => ({ before: c.before, bytes: encoder.encode(c.text) }));
  let size = BLOCK_HEAD + DESCRIPTOR * COLUMNS.length;
  for (const p of plans) size += dataBytes(p.encoding, n);
  for (const c of comments) size += 8 + pad(c.bytes.length, 4);
  size = pad(size, 8);

  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, size, true);
  view.setUint32(4, n, true);
  view.setUint32(8, comments.length, true);
  let at = BLOCK_HEAD;
  for (const p of plans) {
    out[at] = p.encoding;
    view.setFloat64(at + 8, p.base, true);
    view.setFloat64(at + 16, p.step, true);
    at += DESCRIPTOR;
  }
  for (const p of plans) {
    writeColumn(out.buffer, at, p.encoding, p.base, batch[p.column], n);
    at += dataBytes(p.encoding, n);
  }
  for (const c of comments) {
    view.setUint32(at, c.before, true);
    view.setUint32(at + 4, c.bytes.length, true);
    out.set(c.bytes, at + 8);
    at += 8 + pad(c.bytes.length, 4);
  }
  return out;
}

function writeColumn(buffer: ArrayBuffer, at: number, encoding: Encoding, base: number, values: ArrayLike<number>, n: number): void {
  switch (encoding) {
    case Encoding.u8: { const a = new Uint8Array(buffer, at, n); for (let i = 0; i < n; i++) a[i] = values[i] - base; break; }
    case Encoding.u16: { const a = new Uint16Array(buffer, at, n); for (let i = 0; i < n; i++) a[i] = values[i] - base; break; }
    case Encoding.u32: { const a = new Uint32Array(buffer, at, n); for (let i = 0; i < n; i++) a[i] = values[i] - base; break; }
    case Encoding.u48: {
      const lo = new Uint32Array(buffer, at, n);
      const hi = new Uint16Array(buffer, at + pad(4 * n, 8), n);
      for (let i = 0; i < n; i++) {
        const d = values[i] - base;
        const h = Math.floor(d / 2 ** 32);
        hi[i] = h;
        lo[i] = d - h * 2 ** 32;
      }
      break;
    }
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

/** The op-code column: almost always u8 or constant; anything else goes through a scratch column. */
function readCodes(
  buffer: ArrayBuffer, at: number, encoding: number, base: number, step: number, out: Uint8Array, n: number,
  file: string,
): void {
  if (encoding === Encoding.u8 && base === 0) out.set(new Uint8Array(buffer, at, n));
  else if (encoding === Encoding.const) out.fill(base, 0, n);
  else {
    const scratch = new Float64Array(n);
    readColumn(buffer, at, encoding, base, step, scratch, n, file);
    out.set(scratch);
  }
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
  return { name, header, loss, batches: () => parseBinary(source, name, header, loss) };
}

/** Exact byte counts from a trace's bytes. */
interface BlockSource {
  /** Exactly n bytes in a fresh buffer, or null when the input ends first. */
  read(n: number): Promise<Uint8Array | null>;
  /** Fills `out` from `offset` to its end; false when the input ends first. */
  readInto(out: Uint8Array, offset: number): Promise<boolean>;
  /** Bytes seen but not yet consumed (0 at the end of an empty input). */
  readonly remaining: number;
  close(): Promise<void>;
}

/** Pulls exact byte counts out of a chunk stream (gzip, URLs, memory). */
class ByteReader implements BlockSource {
  private chunks: Uint8Array[] = [];
  private offset = 0;
  private available = 0;
  private readonly it: AsyncIterator<Uint8Array>;
  done = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Exactly n bytes in a fresh buffer, or null when the stream ends first. */
  async read(n: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    return (await this.readInto(out, 0)) ? out : null;
  }

  /** Fills `out` from `offset` to its end; false when the stream ends first. */
  async readInto(out: Uint8Array, offset: number): Promise<boolean> {
    const n = out.length - offset;
    while (this.available < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else if (r.value.length) {
        this.chunks.push(r.value);
        this.available += r.value.length;
      }
    }
    if (this.available < n) return false;
    let filled = offset;
    while (filled < out.length) {
      const chunk = this.chunks[0];
      const take = Math.min(out.length - filled, chunk.length - this.offset);
      out.set(chunk.subarray(this.offset, this.offset + take), filled);
      filled += take;
      this.offset += take;
      if (this.offset === chunk.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    this.available -= n;
    return true;
  }

  get remaining(): number {
    return this.available;
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}

/** Reads an uncompressed file straight into each block's buffer: no stream, no intermediate copy. */
class FileReader implements BlockSource {
  private position = 0;
  remaining = 0;
  private constructor(private readonly handle: import("node:fs/promises").FileHandle) {}

  /** A reader for a plain (not gzip) file, or null when the file is compressed. */
  static async open(path: string): Promise<FileReader | null> {
    const { open } = await import("node:fs/promises");
    const handle = await open(path, "r");
    const magic = new Uint8Array(2);
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    if (bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b) {
      await handle.close();
      return null;
    }
    return new FileReader(handle);
  }

  async read(n: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    return (await this.readInto(out, 0)) ? out : null;
  }

  async readInto(out: Uint8Array, offset: number): Promise<boolean> {
    let at = offset;
    while (at < out.length) {
      const { bytesRead } = await this.handle.read(out, at, out.length - at, this.position);
      if (bytesRead === 0) break;
      at += bytesRead;
      this.position += bytesRead;
    }
    this.remaining = at - offset;
    return at === out.length;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

function isNodeFilePath(source: ByteSource): source is string {
  return typeof source === "string" && typeof process !== "undefined" && !!process.versions?.node && !/^https?:/.test(source);
}

async function* parseBinary(source: ByteSource, file: string, header: TraceHeader, loss: LossReport): AsyncIterable<TraceBatch> {
  if (!littleEndian) throw new Error("binary traces need a little-endian host");
  let reader: BlockSource | null = null;
  if (isNodeFilePath(source)) {
    try {
      reader = await FileReader.open(source);
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    }
  }
  reader ??= new ByteReader(openBytes(source));
  try {
    yield* readBlocks(reader, file, header, loss);
  } finally {
    await reader.close();
  }
}

async function* readBlocks(reader: BlockSource, file: string, header: TraceHeader, loss: LossReport): AsyncIterable<TraceBatch> {
  const truncated = (what: string): ParseError => new ParseError(file, 0, what, "truncated binary trace");
  const head = await reader.read(12);
  if (!head) {
    if (reader.remaining === 0) throw new ParseError(file, 0, "file", "empty trace");
    throw truncated("header");
  }
  if (!isBinaryTrace(head)) throw new ParseError(file, 0, "magic", "not a heaplab binary trace");
  const headView = new DataView(head.buffer);
  const version = headView.getUint32(4, true);
  if (version !== BINARY_VERSION) throw new ParseError(file, 0, "version", `unsupported binary trace version ${version}`);
  const jsonLength = headView.getUint32(8, true);
  if (jsonLength > MAX_JSON) throw new ParseError(file, 0, "header", `corrupt header length ${jsonLength}`);
  const json = await reader.read(pad(12 + jsonLength, 8) - 12);
  if (!json) throw truncated("header");
  Object.assign(header, parseJson(json.subarray(0, jsonLength), file, "header"));
  header.format = "binary";

  let lineNo = 0;
  for (;;) {
    const blockHead = await reader.read(8);
    if (!blockHead) throw truncated("block");
    const view = new DataView(blockHead.buffer);
    const size = view.getUint32(0, true);
    if (size === 0) {
      const trailerLength = view.getUint32(4, true);
      if (trailerLength > MAX_JSON) throw new ParseError(file, lineNo, "trailer", `corrupt trailer length ${trailerLength}`);
      const trailer = await reader.read(pad(8 + trailerLength, 8) - 8);
      if (!trailer) throw truncated("trailer");
      const saved = parseJson(trailer.subarray(0, trailerLength), file, "trailer") as Partial<LossReport>;
      for (const k of ["unknownFrees", "sizesInferred", "failedCalls", "pointerReuseResolved", "linesSkipped"] as const) {
        loss[k] += Number(saved[k] ?? 0);
      }
      loss.notes.push(...(saved.notes ?? []));
      return;
    }
    const ops = view.getUint32(4, true);
    if (size % 8 || size < BLOCK_HEAD + DESCRIPTOR * COLUMNS.length || ops > size) {
      throw new ParseError(file, lineNo, "block", `corrupt block header (length ${size}, ${ops} ops)`);
    }
    const block = new Uint8Array(size);
    block.set(blockHead);
    if (!(await reader.readInto(block, 8))) throw truncated("block");
    const decoded = decodeBlock(block, file, lineNo);
    lineNo = decoded.lastLine;
    yield decoded.batch;
  }
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

function decodeBlock(block: Uint8Array, file: string, firstLine: number): { batch: TraceBatch; lastLine: number } {
  const view = new DataView(block.buffer);
  const size = block.length;
  const n = view.getUint32(4, true);
  const commentCount = view.getUint32(8, true);
  const batch = newBatch(Math.max(n, 1));
  batch.length = n;
  let at = BLOCK_HEAD + DESCRIPTOR * COLUMNS.length;
  for (let k = 0; k < COLUMNS.length; k++) {
    const d = BLOCK_HEAD + DESCRIPTOR * k;
    const encoding = block[d] as Encoding;
    const bytes = dataBytes(encoding, n);
    if (at + bytes > size) throw new ParseError(file, firstLine, COLUMNS[k], "column data past the end of its block");
    const column = COLUMNS[k];
    const base = view.getFloat64(d + 8, true);
    const step = view.getFloat64(d + 16, true);
    if (column === "code") readCodes(block.buffer as ArrayBuffer, at, encoding, base, step, batch.code, n, file);
    else readColumn(block.buffer as ArrayBuffer, at, encoding, base, step, batch[column], n, file);
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
  // Line numbers as the alloc-trace rendering of the file would have them.
  let line = firstLine;
  let next = 0;
  const lines = batch.line;
  for (let i = 0; i < n; i++) {
    while (next < comments.length && comments[next].before === i) { line++; next++; }
    lines[i] = ++line;
  }
  line += comments.length - next;
  for (let i = 0; i < n; i++) {
    const code = batch.code[i];
    if (code < 1 || code > 10) throw new ParseError(file, batch.line[i], "op", `unknown op code ${code}`);
  }
  return { batch, lastLine: line };
}

