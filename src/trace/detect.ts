// Opening a trace of any supported format: the format is named, or sniffed from the first bytes (gunzipped when
// compressed). Sniffing scores the first lines against each format's record syntax and picks the best match.

import { readAllocTrace } from "./alloc-trace.js";
import { readAndroid } from "./android.js";
import { isBinaryTrace, readBinary } from "./binary.js";
import { readHeaptrack } from "./heaptrack.js";
import type { ImportOptions } from "./importer.js";
import { type ByteSource, openBytes, sourceName } from "./input.js";
import { readLtrace } from "./ltrace.js";
import { readMtrace } from "./mtrace.js";
import { readRep } from "./rep.js";
import { ParseError, type TraceSource } from "./types.js";

export const INPUT_FORMATS = ["alloc-trace", "binary", "mtrace", "rep", "android", "heaptrack", "ltrace"] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

export interface OpenOptions extends ImportOptions {
  /** The format, when known; sniffed from the content otherwise. */
  format?: InputFormat;
}

const SNIFF_BYTES = 64 * 1024;
const SNIFF_LINES = 200;

/** Opens a trace file, URL or byte source of any supported format as a streamed TraceSource. */
export async function openTrace(source: ByteSource, options: OpenOptions = {}): Promise<TraceSource> {
  if (options.format && !INPUT_FORMATS.includes(options.format)) {
    throw new Error(`unknown trace format '${options.format}' (known: ${INPUT_FORMATS.join(", ")})`);
  }
  let reopenable = source;
  let format = options.format;
  if (!format) {
    const { head, replay } = await sniffHead(source);
    reopenable = replay;
    format = detectFormat(head, sourceName(source));
  }
  return openAs(reopenable, format, options);
}

/** The reader for a known format. */
export function openAs(source: ByteSource, format: InputFormat, options: ImportOptions = {}): TraceSource {
  switch (format) {
    case "alloc-trace": return readAllocTrace(source, options);
    case "binary": return readBinary(source);
    case "mtrace": return readMtrace(source, options);
    case "rep": return readRep(source, options);
    case "android": return readAndroid(source, options);
    case "heaptrack": return readHeaptrack(source, options);
    case "ltrace": return readLtrace(source, options);
  }
}

/**
 * The first bytes of a source (decompressed), and a source to read it again from the start. Paths, URLs and
 * byte arrays are simply reopened; a one-shot stream is replayed from what was already pulled.
 */
async function sniffHead(source: ByteSource): Promise<{ head: Uint8Array; replay: ByteSource }> {
  const oneShot = !(typeof source === "string" || source instanceof URL || source instanceof Uint8Array);
  const rawChunks: Uint8Array[] = [];
  let rawIterator: AsyncIterator<Uint8Array> | undefined;
  const tap: ByteSource = oneShot
    ? {
      [Symbol.asyncIterator]() {
        rawIterator = (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
        return {
          async next() {
            const r = await rawIterator!.next();
            if (!r.done) rawChunks.push(r.value);
            return r;
          },
        };
      },
    }
    : source;
  const parts: Uint8Array[] = [];
  let size = 0;
  const it = openBytes(tap)[Symbol.asyncIterator]();
  while (size < SNIFF_BYTES) {
    const r = await it.next();
    if (r.done) break;
    parts.push(r.value);
    size += r.value.length;
  }
  await it.return?.();
  const head = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    head.set(p, at);
    at += p.length;
  }
  if (!oneShot) return { head, replay: source };
  async function* replay(): AsyncIterable<Uint8Array> {
    yield* rawChunks;
    if (!rawIterator) return;
    for (;;) {
      const r = await rawIterator.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { head, replay: replay() };
}

const PATTERNS: Readonly<Record<Exclude<InputFormat, "binary" | "rep">, RegExp>> = {
  "alloc-trace": /^(# alloc-trace v1\b|\d+ \d+ (?:[mvV] \d+ 0x[0-9a-f]+|f 0x[0-9a-f]+|[cAaP] \d+ \d+ 0x[0-9a-f]+|r 0x[0-9a-f]+ \d+ 0x[0-9a-f]+|t \d+ \d+)$)/,
  mtrace: /^(= (Start|End)$|(@ .*)?[-+<>!] (0x[0-9a-f]+|\(nil\))( (0x[0-9a-f]+|0))?$)/,
  android: /^\d+: (malloc|calloc|memalign|realloc|free|thread_done) 0x[0-9a-f]+/,
  heaptrack: /^(v [0-9a-f]+ [0-9a-f]+$|[+] [0-9a-f]+( [0-9a-f]+ [0-9a-f]+)?$|- [0-9a-f]+$|[xXIsmtiaRc] )/,
  ltrace: /^(\d+ +|\[pid \d+\] +)?([\d:.]+ +)?([\w.+-]+->)?(malloc|calloc|realloc|reallocarray|free|memalign|aligned_alloc|posix_memalign|valloc|pvalloc)\(|resumed>/,
};

/** The format of a trace whose first bytes are `head`; throws a one-line error when none fits. */
export function detectFormat(head: Uint8Array, name = "<memory>"): InputFormat {
  if (head.length === 0) throw new ParseError(name, 0, "file", "empty trace");
  if (isBinaryTrace(head)) return "binary";
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) {
    throw new ParseError(name, 0, "file", "zstd-compressed input is not supported: decompress it first (zstd -d)");
  }
  if (startsWith(head, ALLOC_TRACE_HEADER)) return "alloc-trace";
  const text = new TextDecoder().decode(head);
  const all = text.split("\n");
  if (head.length >= SNIFF_BYTES && all.length > 1) all.pop();
  const lines = all.map((l) => l.replace(/\r$/, "")).filter((l) => l.trim() !== "").slice(0, SNIFF_LINES);
  if (lines.length === 0) throw new ParseError(name, 1, "file", "no trace records (only blank lines)");
  if (lines[0].startsWith("# alloc-trace ")) return "alloc-trace";
  if (looksLikeRep(lines)) return "rep";
  let best: InputFormat | undefined;
  let bestScore = 0;
  for (const [format, pattern] of Object.entries(PATTERNS) as [InputFormat, RegExp][]) {
    let score = 0;
    for (const l of lines) if (pattern.test(l)) score++;
    if (score > bestScore) {
      best = format;
      bestScore = score;
    }
  }
  if (!best) {
    const shown = lines[0].length > 60 ? `${lines[0].slice(0, 60)}…` : lines[0];
    throw new ParseError(name, 1, "format", `unrecognised trace format (first line '${shown}'); name it with --format ${INPUT_FORMATS.join("|")}`);
  }
  return best;
}

/** The first line of an alloc-trace file, as bytes: recognised without decoding and splitting the head. */
const ALLOC_TRACE_HEADER = new TextEncoder().encode("# alloc-trace ");

function startsWith(head: Uint8Array, prefix: Uint8Array): boolean {
  if (head.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (head[i] !== prefix[i]) return false;
  return true;
}

function looksLikeRep(lines: string[]): boolean {
  if (lines.length < 4) return false;
  for (let i = 0; i < 4; i++) if (!/^\s*\d+\s*$/.test(lines[i])) return false;
  const body = lines.slice(4);
  // Signs allowed: a negative size or id is still a .rep request, for the .rep reader to reject with its reason.
  return body.length === 0 || body.every((l) => /^\s*([ar]\s+-?\d+\s+-?\d+|f\s+-?\d+)\s*$/.test(l));
}
