// Byte streams from files, URLs or memory, decompressed on the fly when they start with the gzip or zstd magic.
// Node's `fs` and `zlib` are reached through `#host`, lazily and only for file paths: a browser build never sees them.

import * as host from "#host";

/** Where a trace comes from: a file path (Node), a URL (fetched), or the bytes themselves. */
export type ByteSource = string | URL | Uint8Array | AsyncIterable<Uint8Array>;

const CHUNK = 1 << 20;

function isNode(): boolean {
  return typeof process !== "undefined" && !!process.versions?.node;
}

/** A stream of bytes with the name its errors are reported under (`<stdin>`, a path …). */
export interface NamedBytes extends AsyncIterable<Uint8Array> {
  readonly name: string;
}

/** `chunks` under `name`. */
export function named(name: string, chunks: AsyncIterable<Uint8Array>): NamedBytes {
  return { name, [Symbol.asyncIterator]: () => chunks[Symbol.asyncIterator]() };
}

/** A short display name for a source (its path, URL or given name, else "<memory>"). */
export function sourceName(source: ByteSource): string {
  if (typeof source === "string") return source;
  if (source instanceof URL) return source.href;
  const name = (source as Partial<NamedBytes>).name;
  return typeof name === "string" ? name : "<memory>";
}

/** The bytes of a source as they are stored (compressed or not). */
export async function* raw(source: ByteSource): AsyncIterable<Uint8Array> {
  if (source instanceof Uint8Array) {
    // In slices, as a file would come: a reader then hands on batches as it goes instead of all at the end.
    for (let at = 0; at < source.length; at += CHUNK) yield source.subarray(at, at + CHUNK);
    return;
  }
  if (typeof source === "string" && isNode() && !/^https?:/.test(source)) {
    const { createReadStream } = await host.fs();
    for await (const chunk of createReadStream(source, { highWaterMark: CHUNK })) yield chunk as Uint8Array;
    return;
  }
  if (typeof source === "string" || source instanceof URL) {
    const response = await fetch(source);
    if (!response.ok || !response.body) throw new Error(`${sourceName(source)}: HTTP ${response.status}`);
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  }
  yield* source as AsyncIterable<Uint8Array>;
}

async function* gunzip(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  if (isNode()) {
    const { createGunzip } = await host.zlib();
    const { Readable } = await host.stream();
    const stream = Readable.from(chunks).pipe(createGunzip({ chunkSize: CHUNK }));
    for await (const chunk of stream) yield chunk as Uint8Array;
    return;
  }
  const ds = new DecompressionStream("gzip");
  const writer = ds.writable.getWriter();
  const pump = (async () => {
    for await (const c of chunks) await writer.write(c as Uint8Array<ArrayBuffer>);
    await writer.close();
  })();
  const reader = ds.readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    yield value;
  }
  await pump;
}

/**
 * zstd, decoded in JavaScript (fzstd): the same code in Node and in a browser, which has no zstd stream of its
 * own. Output is handed on after every input chunk, as it is decoded.
 */
async function* unzstd(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const { Decompress } = await import("fzstd");
  const out: Uint8Array[] = [];
  const stream = new Decompress((data) => { out.push(data); });
  for await (const c of chunks) {
    stream.push(c);
    yield* out.splice(0);
  }
  stream.push(new Uint8Array(0), true);
  yield* out.splice(0);
}

/** The compression a source's first bytes announce, if any. */
export function compressionOf(head: Uint8Array): "gzip" | "zstd" | undefined {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  return undefined;
}

/** The bytes of a source, decompressed when gzip- or zstd-compressed. Errors name the source. */
export async function* openBytes(source: ByteSource): AsyncIterable<Uint8Array> {
  const name = sourceName(source);
  const it = raw(source)[Symbol.asyncIterator]();
  let first: IteratorResult<Uint8Array>;
  try {
    first = await it.next();
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}`);
  }
  if (first.done) return;
  async function* rest(): AsyncIterable<Uint8Array> {
    yield first.value;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  const head = first.value;
  const compression = compressionOf(head);
  if (compression) {
    try {
      yield* compression === "gzip" ? gunzip(rest()) : unzstd(rest());
    } catch (e) {
      throw new Error(`${name}: corrupt or truncated ${compression} data (${(e as Error).message})`);
    }
    return;
  }
  yield* rest();
}

/**
 * Splits a byte stream into lines (without the newline), calling `onLine(bytes, start, end)` for each; yields
 * after every input chunk so that a consumer can hand on what the lines produced.
 */
export async function* scanLines(
  chunks: AsyncIterable<Uint8Array>,
  onLine: (buf: Uint8Array, start: number, end: number) => void,
): AsyncGenerator<void> {
  let carry: Uint8Array | null = null;
  for await (const chunk of chunks) {
    let buf = chunk;
    let start = 0;
    if (carry) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        const joined: Uint8Array = new Uint8Array(carry.length + chunk.length);
        joined.set(carry);
        joined.set(chunk, carry.length);
        carry = joined;
        yield;
        continue;
      }
      const line = new Uint8Array(carry.length + nl);
      line.set(carry);
      line.set(chunk.subarray(0, nl), carry.length);
      carry = null;
      onLine(line, 0, stripCR(line, 0, line.length));
      start = nl + 1;
    }
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0) break;
      onLine(buf, start, stripCR(buf, start, nl));
      start = nl + 1;
    }
    if (start < buf.length) carry = buf.slice(start);
    yield;
  }
  if (carry && carry.length) onLine(carry, 0, stripCR(carry, 0, carry.length));
}

function stripCR(buf: Uint8Array, start: number, end: number): number {
  return end > start && buf[end - 1] === 13 ? end - 1 : end;
}
