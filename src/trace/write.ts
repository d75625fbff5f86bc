// Trace writers: alloc-trace v1 text, heaplab binary, malloclab `.rep` and glibc mtrace. Each turns a TraceSource
// into a stream of byte chunks, one per batch, so that a trace of any length is written in bounded memory. What a
// target format cannot express is counted in the writer's own loss report.

import type { Writable } from "node:stream";
import { encodeBinaryBlocks, encodeBinaryEnd, encodeBinaryHeader } from "./binary.js";
import {
  type BatchOptions, LETTER_OF_CODE, type LossReport, OpCode, type TraceBatch, type TraceHeader, type TraceSource, emptyLoss,
  exactRequestedBytes, requestedBytes, sizeAt,
} from "./types.js";
import * as host from "#host";

/** Every writer is done with a batch once its bytes are out. */
const RECYCLE: BatchOptions = { recycle: true };

export const OUTPUT_FORMATS = ["alloc-trace", "binary", "rep", "mtrace"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Compressions a file name may ask for that the writers do not do: writing text under such a name would mislead. */
const UNWRITTEN_COMPRESSIONS: Readonly<Record<string, string>> = {
  zst: "zstd", zstd: "zstd", xz: "xz", lzma: "xz", bz2: "bzip2", lz4: "lz4", br: "brotli",
};

/** Throws when `path` asks for a compression the writers do not do; gzip (`.gz`) is the one they write. */
export function checkOutputCompression(path: string): void {
  const extension = /\.([a-z0-9]+)$/i.exec(path)?.[1].toLowerCase();
  const tool = extension && Object.hasOwn(UNWRITTEN_COMPRESSIONS, extension) ? UNWRITTEN_COMPRESSIONS[extension] : undefined;
  if (tool) {
    const plain = path.slice(0, -extension!.length - 1);
    throw new Error(`${path}: traces are written plain or gzip-compressed, not ${tool}; name it ${plain} or ${plain}.gz ` +
      `(and compress it with ${tool} afterwards)`);
  }
}

/** The output format a file name implies (`.hlb` binary, `.rep`, `.mtrace`, else alloc-trace; `.gz` ignored). */
export function outputFormatOf(path: string): OutputFormat {
  const name = path.replace(/\.gz$/, "");
  if (name.endsWith(".hlb")) return "binary";
  if (name.endsWith(".rep")) return "rep";
  if (name.endsWith(".mtrace")) return "mtrace";
  return "alloc-trace";
}

export interface WriteResult {
  /** Operations read from the source. */
  ops: number;
  /** What the target format could not express. */
  loss: LossReport;
}

const encoder = new TextEncoder();

/** The trace encoded in `format`, chunk by chunk; `loss` collects what the format drops. */
export function encodeTrace(source: TraceSource, format: OutputFormat, loss: LossReport = emptyLoss()): AsyncIterable<Uint8Array> {
  switch (format) {
    case "alloc-trace": return encodeAllocTrace(source);
    case "binary": return encodeBinary(source);
    case "rep": return encodeRep(source, loss);
    case "mtrace": return encodeMtrace(source, loss);
  }
}

/**
 * Writes a trace to a file (gzip-compressed when the name ends in `.gz`) or a stream. A file is replaced only once
 * the trace is complete: on error no partial file is left and an existing file is untouched. Node only.
 */
export async function writeTrace(
  source: TraceSource, target: string | Writable,
  options: { format?: OutputFormat; gzip?: boolean; inputs?: readonly string[]; label?: string } = {},
): Promise<WriteResult> {
  if (typeof target === "string") {
    // The one implementation of safe output files lives with the command line, which owns -o.
    checkOutputCompression(target);
    const { withOutput } = await host.output();
    const format = options.format ?? outputFormatOf(target);
    const gzip = options.gzip ?? target.endsWith(".gz");
    return withOutput(target, options, (output) => writeTrace(source, output.stream, { format, gzip }));
  }
  const { createGzip } = await host.zlib();
  const { pipeline } = await host.streamPromises();
  const { Readable } = await host.stream();
  const format = options.format ?? "alloc-trace";
  const loss = emptyLoss();
  let ops = 0;
  async function* counted(): AsyncIterable<Uint8Array> {
    for await (const chunk of encodeTrace(counting(source, (n) => { ops += n; }), format, loss)) yield chunk;
  }
  // The target stream stays open: its owner ends it (standard output must not be ended).
  if (options.gzip) await pipeline(Readable.from(counted()), createGzip(), target, { end: false });
  else await pipeline(Readable.from(counted()), target, { end: false });
  return { ops, loss };
}

/** The trace encoded in `format` as one byte array (tests, small traces). */
export async function encodeToBytes(source: TraceSource, format: OutputFormat, loss?: LossReport): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of encodeTrace(source, format, loss)) {
    parts.push(chunk);
    size += chunk.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A source whose batches also report their op counts (counted on the first pass only). */
function counting(source: TraceSource, onOps: (n: number) => void): TraceSource {
  let pass = 0;
  return {
    ...source,
    batches: async function* (options?: BatchOptions) {
      const counts = pass++ === 0;
      for await (const batch of source.batches(options)) {
        if (counts) onOps(batch.length);
        yield batch;
      }
    },
  };
}

const hex = (v: number): string => `0x${v.toString(16)}`;
const SIZE_MAX = (1n << 64n) - 1n;

/** A decimal integer; above 2^53 the exact value, never an exponent or trailing zeros. */
const dec = (v: number | bigint): string =>
  (typeof v === "bigint" || v <= Number.MAX_SAFE_INTEGER || !Number.isInteger(v) ? String(v) : BigInt(v).toString());

/** The header line alloc-trace v1 files start with, from what a source's header knows. */
export function allocTraceHeaderLine(header: TraceHeader, firstTid: number): string {
  return `# alloc-trace v1 pid=${header.pid ?? firstTid} ppid=${header.ppid ?? 0} exe=${header.exe ?? "unknown"}`;
}

/** One op as an alloc-trace v1 line, its call site (`site=<id>`) last when it has one. */
export function allocTraceLine(b: TraceBatch, i: number): string {
  const site = b.site?.[i];
  return site ? `${opText(b, i)} site=${site}` : opText(b, i);
}

function opText(b: TraceBatch, i: number): string {
  const head = `${b.seq[i]} ${b.tid[i]} ${LETTER_OF_CODE[b.code[i]]}`;
  switch (b.code[i]) {
    case OpCode.malloc: case OpCode.valloc: case OpCode.pvalloc: return `${head} ${dec(sizeAt(b, i, "a"))} ${hex(b.res[i])}`;
    case OpCode.free: return `${head} ${hex(b.ptr[i])}`;
    case OpCode.realloc: return `${head} ${hex(b.ptr[i])} ${dec(sizeAt(b, i, "a"))} ${hex(b.res[i])}`;
    case OpCode.trim: return `${head} ${dec(sizeAt(b, i, "a"))} ${dec(b.res[i])}`;
    default: return `${head} ${dec(sizeAt(b, i, "a"))} ${dec(sizeAt(b, i, "b"))} ${hex(b.res[i])}`;
  }
}

async function* encodeAllocTrace(source: TraceSource): AsyncIterable<Uint8Array> {
  let first = true;
  for await (const batch of source.batches(RECYCLE)) {
    const comments = batch.comments ?? [];
    const lines: string[] = [];
    if (first) {
      first = false;
      if (!comments.some((c) => c.text.startsWith("# alloc-trace "))) {
        lines.push(allocTraceHeaderLine(source.header, batch.length ? batch.tid[0] : 0));
      }
    }
    let next = 0;
    for (let i = 0; i < batch.length; i++) {
      while (next < comments.length && comments[next].before <= i) lines.push(comments[next++].text);
      lines.push(allocTraceLine(batch, i));
    }
    while (next < comments.length) lines.push(comments[next++].text);
    if (lines.length) yield encoder.encode(lines.join("\n") + "\n");
  }
}

async function* encodeBinary(source: TraceSource): AsyncIterable<Uint8Array> {
  let headerWritten = false;
  for await (const batch of source.batches(RECYCLE)) {
    if (!headerWritten) {
      headerWritten = true;
      yield encodeBinaryHeader(source.header);
    }
    yield* encodeBinaryBlocks(batch);
  }
  if (!headerWritten) yield encodeBinaryHeader(source.header);
  yield encodeBinaryEnd(source.loss);
}

type RepRequest = (kind: "a" | "r" | "f", id: number, bytes: number) => void;

/** Turns trace ops into malloclab requests; deterministic, so the header pass and the body pass agree. */
class RepMapper {
  private readonly ids = new Map<number, number>();
  private readonly sizes = new Map<number, number>();
  nextId = 0;
  requests = 0;
  live = 0;
  peak = 0;
  constructor(private readonly loss: LossReport | null) {}

  private count(field: "unknownFrees" | "failedCalls" | "pointerReuseResolved"): void {
    if (this.loss) this.loss[field]++;
  }

  private allocate(address: number, bytes: number, emit: RepRequest): void {
    if (this.ids.has(address)) {
      this.count("pointerReuseResolved");
      this.release(address);
    }
    const id = this.nextId++;
    this.ids.set(address, id);
    this.track(id, bytes);
    emit("a", id, bytes);
  }

  private release(address: number): number | undefined {
    const id = this.ids.get(address);
    if (id === undefined) return undefined;
    this.ids.delete(address);
    this.track(id, 0);
    return id;
  }

  private track(id: number, bytes: number): void {
    this.live += bytes - (this.sizes.get(id) ?? 0);
    if (bytes) this.sizes.set(id, bytes);
    else this.sizes.delete(id);
    if (this.live > this.peak) this.peak = this.live;
  }

  op(b: TraceBatch, i: number, emit: RepRequest): void {
    const counted: RepRequest = (kind, id, bytes) => {
      this.requests++;
      emit(kind, id, bytes);
    };
    const code = b.code[i];
    if (code === OpCode.trim) return;
    if (code === OpCode.free) {
      if (b.ptr[i] === 0) return;
      const id = this.release(b.ptr[i]);
      if (id === undefined) this.count("unknownFrees");
      else counted("f", id, 0);
      return;
    }
    if (code !== OpCode.realloc) {
      if (b.res[i] === 0) this.count("failedCalls");
      else this.allocate(b.res[i], requestedBytes(b, i), counted);
      return;
    }
    const old = b.ptr[i];
    const bytes = b.a[i];
    if (old !== 0 && bytes === 0) {
      const id = this.release(old);
      if (id === undefined) this.count("unknownFrees");
      else counted("f", id, 0);
      return;
    }
    if (b.res[i] === 0) {
      this.count("failedCalls");
      return;
    }
    const id = old === 0 ? undefined : this.ids.get(old);
    if (id === undefined) {
      if (old !== 0) this.count("unknownFrees");
      this.allocate(b.res[i], bytes, counted);
      return;
    }
    this.ids.delete(old);
    if (this.ids.has(b.res[i])) {
      this.count("pointerReuseResolved");
      this.release(b.res[i]);
    }
    this.ids.set(b.res[i], id);
    this.track(id, bytes);
    counted("r", id, bytes);
  }
}

async function* encodeRep(source: TraceSource, loss: LossReport): AsyncIterable<Uint8Array> {
  const census = new RepMapper(null);
  const ignore: RepRequest = () => {};
  for await (const batch of source.batches(RECYCLE)) for (let i = 0; i < batch.length; i++) census.op(batch, i, ignore);
  // 2016+ header: weight 1 (utilisation and throughput), ids, requests, peak payload.
  yield encoder.encode(`1\n${census.nextId}\n${census.requests}\n${census.peak}\n`);
  const mapper = new RepMapper(loss);
  let trims = 0;
  let nullFrees = 0;
  for await (const batch of source.batches(RECYCLE)) {
    const lines: string[] = [];
    const emit: RepRequest = (kind, id, bytes) => lines.push(kind === "f" ? `f ${id}` : `${kind} ${id} ${bytes}`);
    for (let i = 0; i < batch.length; i++) {
      if (batch.code[i] === OpCode.trim) trims++;
      if (batch.code[i] === OpCode.free && batch.ptr[i] === 0) nullFrees++;
      mapper.op(batch, i, emit);
    }
    if (lines.length) yield encoder.encode(lines.join("\n") + "\n");
  }
  if (trims) loss.notes.push(`${trims} malloc_trim calls dropped (.rep has no trim)`);
  if (nullFrees) loss.notes.push(`${nullFrees} free(NULL) calls dropped`);
  loss.notes.push("op kinds (calloc, memalign family) and alignments become plain a/r requests");
}

async function* encodeMtrace(source: TraceSource, loss: LossReport): AsyncIterable<Uint8Array> {
  yield encoder.encode("= Start\n");
  const ptr = (v: number): string => (v === 0 ? "(nil)" : hex(v));
  const size = (v: number | bigint): string => (v === 0 ? "0" : `0x${v.toString(16)}`);
  let trims = 0;
  let nullFrees = 0;
  let overflows = 0;
  for await (const b of source.batches(RECYCLE)) {
    const lines: string[] = [];
    for (let i = 0; i < b.length; i++) {
      switch (b.code[i]) {
        case OpCode.trim: trims++; break;
        case OpCode.free:
          if (b.ptr[i] === 0) nullFrees++;
          else lines.push(`- ${ptr(b.ptr[i])}`);
          break;
        case OpCode.realloc: {
          const old = b.ptr[i];
          const n = sizeAt(b, i, "a");
          if (b.res[i] === 0) {
            if (n === 0 && old !== 0) lines.push(`- ${ptr(old)}`);
            else lines.push(`! ${ptr(old)} ${size(n)}`);
          } else if (old === 0) lines.push(`+ ${ptr(b.res[i])} ${size(n)}`);
          else lines.push(`< ${ptr(old)}`, `> ${ptr(b.res[i])} ${size(n)}`);
          break;
        }
        default: {
          const bytes = exactRequestedBytes(b, i);
          if (typeof bytes === "bigint" && bytes > SIZE_MAX) {
            overflows++;
            break;
          }
          if (b.res[i] === 0) loss.failedCalls++;
          lines.push(`+ ${ptr(b.res[i])} ${size(bytes)}`);
        }
      }
    }
    if (lines.length) yield encoder.encode(lines.join("\n") + "\n");
  }
  yield encoder.encode("= End\n");
  if (trims) loss.notes.push(`${trims} malloc_trim calls dropped (mtrace does not log them)`);
  if (nullFrees) loss.notes.push(`${nullFrees} free(NULL) calls dropped (mtrace does not log them)`);
  if (overflows) loss.notes.push(`${overflows} calloc calls whose size overflowed dropped (mtrace does not log them)`);
  loss.notes.push("thread ids and op kinds (calloc, memalign family) are not kept by mtrace");
}
