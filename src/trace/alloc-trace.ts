// alloc-trace v1: heaplab's text format (see ../shared/traces/README.md and docs/formats.md).
//
//   # alloc-trace v1 pid=<pid> ppid=<ppid> exe=<basename>
//   <seq> <tid> <op> <args...> [<res>]
//
// The reader works on bytes, never on whole-file strings: a line is scanned field by field into the columns of a
// TraceBatch, and a batch is handed on every BATCH_CAPACITY operations.

import { type ByteSource, openBytes, sourceName } from "./input.js";
import {
  BATCH_CAPACITY, type BatchOptions, BatchPool, type CallSite, CODE_OF_LETTER, type LossReport, OpCode, type OpLetter, ParseError,
  type TraceBatch, type TraceHeader, type TraceSource, emptyLoss, pooledRead, pushFields, setWide, siteColumn,
} from "./types.js";
import { readSiteComment } from "./sites.js";
import { MAX_LINE_BYTES, exactField, heapBaseProblem, lineTooLong, sizeField } from "./values.js";
import * as host from "#host";

/** Number of numeric fields after the op letter, results included. */
const ARITY: Readonly<Record<OpLetter, number>> = { m: 2, c: 3, r: 3, f: 1, a: 3, A: 3, P: 3, v: 2, V: 2, t: 2 };

export interface ReadOptions {
  /** Skip malformed lines and count them in the loss report instead of throwing. */
  lenient?: boolean;
  /**
   * In Node, read, gunzip and parse a file in a worker thread while the caller replays: true always, false never,
   * by default for a file of at least WORKER_MIN_BYTES when a core is free for it. Batches, header, loss report and
   * errors are the same either way.
   */
  worker?: boolean;
}

/**
 * Smaller files are parsed in the caller's thread: starting a worker costs more than it saves (on 2 cores, a
 * worker loses on sqlite3-memdb's 0.85 MB and wins 8% on eight times that trace). Compared with the file's size,
 * compressed or not (gzip shrinks alloc-trace about tenfold).
 */
const WORKER_MIN_BYTES = 1 << 22;
/** Batches a worker may post ahead of the consumer: enough that neither thread waits on the other's turn. */
const WORKER_WINDOW = 16;

/** The recorder's comment naming the program break it started with. */
const HEAP_BASE = "# heap-base ";
const MEM_TOTAL = "# mem-total ";
const SWAP_TOTAL = "# swap-total ";
const FORK_OF = "# fork-of ";
const BRK_BLOCKED_AT = "# brk-blocked-at ";

/** Bytes of input scanned between hand-overs (about 4,000 lines). */
const SLICE = 1 << 17;

const decoder = new TextDecoder();

/** Opens an alloc-trace v1 file (plain or gzip) as a streamed trace. */
export function readAllocTrace(source: ByteSource, options: ReadOptions = {}): TraceSource {
  const name = sourceName(source);
  const header: TraceHeader = { format: "alloc-trace" };
  const loss = emptyLoss();
  return {
    name,
    header,
    loss,
    batches: (batchOptions?: BatchOptions) => workerScript() && options.worker !== false && typeof source === "string"
      ? parseInWorker(source, name, header, loss, options, batchOptions)
      : pooledRead(batchOptions, (pool) => parse(source, name, header, loss, options, pool)),
  };
}

/**
 * The worker script next to this module, when there is one that Node can run: the package's compiled .js files
 * in Node (never in a browser, nor when this module runs from TypeScript sources).
 */
function workerScript(): URL | undefined {
  if (typeof process === "undefined" || !process.versions?.node || !import.meta.url.endsWith(".js")) return undefined;
  return new URL("./parse-worker.js", import.meta.url);
}

/**
 * Whether a core is free for the worker: on a machine whose cores are all busy, the two threads only take turns,
 * and the worker's start and the batches' hand-over are pure cost. The tasks running now (Linux's /proc/loadavg,
 * this thread among them) say it; the one-minute load average, where they cannot be read, lags behind the
 * machine by a minute: after another busy program it keeps the worker off long after a core came free.
 */
async function idleCore(): Promise<boolean> {
  const { availableParallelism, loadavg } = await host.os();
  const running = await runningTasks();
  return (running ?? loadavg()[0]) <= availableParallelism() - 1;
}

/** Tasks running or runnable on the machine now, this thread included (null where /proc/loadavg is not there). */
async function runningTasks(): Promise<number | null> {
  const { readFile } = await host.fsPromises();
  const text = await readFile("/proc/loadavg", "latin1").catch(() => "");
  const running = /^\S+ \S+ \S+ (\d+)\//.exec(text);
  return running ? Number(running[1]) : null;
}

/** The consumer's message to the worker: batches taken since the last one, and columns it may refill. */
export interface WorkerAck {
  taken: number;
  returned: ArrayBuffer[];
}

interface WorkerMessage {
  batch?: TraceBatch;
  done?: true;
  error?: { parse?: [string, number, string, string]; message?: string };
  /** The header but its call sites, which come a few at a time in `sites` (parse-worker.ts). */
  header: TraceHeader;
  sites?: CallSite[];
  loss: LossReport;
}

/** Batches acknowledged in one message: a message costs the replaying thread about as much as a batch's lines. */
const ACK_EVERY = 4;

/**
 * The consumer's acknowledgements of batches taken (and the columns of batches it is done with), sent ACK_EVERY at
 * a time, and all of them before the consumer waits, so the worker never waits on an acknowledgement held back.
 */
class Acks {
  private count = 0;
  private returned: ArrayBuffer[] = [];

  constructor(private readonly worker: { postMessage(message: WorkerAck, transfer: ArrayBuffer[]): void }) {}

  /** One batch taken, and the columns of one the consumer is done with, if any. */
  add(columns: ArrayBuffer | undefined): void {
    this.count++;
    if (columns) this.returned.push(columns);
    if (this.count >= ACK_EVERY) this.flush();
  }

  flush(): void {
    if (!this.count) return;
    this.worker.postMessage({ taken: this.count, returned: this.returned }, this.returned);
    this.count = 0;
    this.returned = [];
  }
}

/** parse() in a worker thread (see parse-worker.ts), for a file path in Node; small files stay in this thread. */
async function* parseInWorker(
  path: string, name: string, header: TraceHeader, loss: LossReport, options: ReadOptions, batchOptions: BatchOptions = {},
): AsyncIterable<TraceBatch> {
  const { stat } = await host.fsPromises();
  const size = await stat(path).then((s) => s.size, () => 0);
  const worth = options.worker === true || (size >= WORKER_MIN_BYTES && await idleCore());
  if (!worth || /^https?:/.test(path)) {
    yield* pooledRead(batchOptions, (pool) => parse(path, name, header, loss, options, pool));
    return;
  }
  const { Worker } = await host.workerThreads();
  const worker = new Worker(workerScript()!, {
    workerData: { path, lenient: !!options.lenient, window: WORKER_WINDOW },
  });
  worker.unref();
  const inbox: WorkerMessage[] = [];
  /** Batches handed to a recycling consumer that it may still hold. */
  const held: TraceBatch[] = [];
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const arrive = (): void => {
    wake?.();
    wake = undefined;
  };
  const acks = new Acks(worker);
  worker.on("message", (m: WorkerMessage) => { inbox.push(m); arrive(); });
  worker.on("error", (e: Error) => { failure = e; arrive(); });
  worker.on("exit", () => { failure ??= new Error(`${name}: the trace reader's worker stopped`); arrive(); });
  try {
    for (;;) {
      while (!inbox.length) {
        if (failure) throw failure;
        acks.flush();
        // Referenced only while awaited: a consumer that stops iterating does not keep the process alive.
        worker.ref();
        await new Promise<void>((resolve) => { wake = resolve; });
        worker.unref();
      }
      const m = inbox.shift()!;
      Object.assign(header, m.header);
      for (const site of m.sites ?? []) (header.sites ??= new Map()).set(site.id, site);
      Object.assign(loss, m.loss);
      if (m.error) {
        const p = m.error.parse;
        throw p ? new ParseError(p[0], p[1], p[2], p[3]) : new Error(m.error.message);
      }
      if (m.done) return;
      const batch = m.batch!;
      let done: TraceBatch | undefined;
      if (batchOptions.recycle) {
        held.push(batch);
        if (held.length > 2) done = held.shift();
      }
      acks.add(done?.seq.buffer as ArrayBuffer | undefined);
      yield batch;
    }
  } finally {
    void worker.terminate();
  }
}

/** Reads, gunzips and parses `source` in this thread, filling batches from `pool`. */
export async function* parse(
  source: ByteSource, name: string, header: TraceHeader, loss: LossReport, options: ReadOptions, pool: BatchPool,
): AsyncIterable<TraceBatch> {
  const reader = new LineReader(name, header, loss, options, pool);
  for await (const chunk of openBytes(source)) {
    // A slice holds about a batch of lines: batches go out as they fill, and a recycling pool stays a few batches.
    for (let at = 0; at < chunk.length; at += SLICE) {
      reader.chunk(chunk.subarray(at, at + SLICE));
      while (reader.ready.length) yield reader.ready.shift()!;
    }
  }
  reader.finish();
  if (reader.batch.length || reader.batch.comments?.length) yield reader.batch;
  if (reader.lineNo === 0) throw new ParseError(name, 0, "file", "empty trace");
}

/**
 * Splits chunks into lines (a line cut by a chunk boundary is carried over) and scans each into the current
 * batch. Well-formed operation lines take the fast scanner; anything it does not accept goes to `parseLine`, which
 * either reads it the same way or throws the precise ParseError.
 */
class LineReader {
  batch: TraceBatch;
  readonly ready: TraceBatch[] = [];
  lineNo = 0;
  private sawHeader = false;
  private carry: Uint8Array | null = null;
  private readonly fields = new Float64Array(3);
  private readonly name: string;
  private readonly header: TraceHeader;
  private readonly loss: LossReport;
  private readonly lenient: boolean;
  private readonly pool: BatchPool;

  constructor(name: string, header: TraceHeader, loss: LossReport, options: ReadOptions, pool: BatchPool) {
    this.pool = pool;
    this.batch = pool.take();
    this.name = name;
    this.header = header;
    this.loss = loss;
    this.lenient = !!options.lenient;
  }

  chunk(bytes: Uint8Array): void {
    // One array type for every line scanned (a Node Buffer has another map): the scanner stays monomorphic.
    const chunk = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    let start = 0;
    if (this.carry) {
      const nl = chunk.indexOf(10);
      // A line that never ends would otherwise be copied again with every slice (quadratic) and held whole.
      if ((nl < 0 ? chunk.length : nl) + this.carry.length > MAX_LINE_BYTES) this.tooLong(this.carry);
      if (nl < 0) {
        const joined = new Uint8Array(this.carry.length + chunk.length);
        joined.set(this.carry);
        joined.set(chunk, this.carry.length);
        this.carry = joined;
        return;
      }
      const line = new Uint8Array(this.carry.length + nl);
      line.set(this.carry);
      line.set(chunk.subarray(0, nl), this.carry.length);
      this.carry = null;
      this.line(line, 0, stripCR(line, 0, line.length));
      start = nl + 1;
    }
    for (;;) {
      // Most lines are plain operations, scanned in one pass that also finds their end; the first line may start
      // with a byte-order mark, and anything else goes line by line through `line`.
      if (this.lineNo > 0) {
        const next = scanOp(chunk, start, chunk.length, this.batch, this.lineNo + 1, -1);
        if (next >= 0) {
          this.lineNo++;
          if (this.batch.length === BATCH_CAPACITY) this.handOn();
          start = next;
          continue;
        }
      }
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      this.line(chunk, start, stripCR(chunk, start, nl));
      start = nl + 1;
    }
    if (start < chunk.length) {
      if (chunk.length - start > MAX_LINE_BYTES) this.tooLong(chunk.subarray(start));
      this.carry = chunk.slice(start);
    }
  }

  private tooLong(start: Uint8Array): never {
    throw lineTooLong(this.name, this.lineNo + 1, decoder.decode(start.subarray(0, 80)));
  }

  /** Reads the last line when the input does not end with a newline. */
  finish(): void {
    const carry = this.carry;
    this.carry = null;
    if (carry && carry.length) this.line(carry, 0, stripCR(carry, 0, carry.length));
  }

  private line(buf: Uint8Array, start: number, end: number): void {
    this.lineNo++;
    if (this.lineNo === 1 && end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) {
      start += 3; // a UTF-8 byte-order mark, which editors on Windows write
    }
    if (start === end || buf[start] === 35 /* # */) {
      this.comment(buf, start, end);
      return;
    }
    const batch = this.batch;
    if (scanOp(buf, start, end, batch, this.lineNo, end) < 0) {
      try {
        parseLine(buf, start, end, this.fields, batch, this.lineNo, this.name);
      } catch (e) {
        if (!(e instanceof ParseError) || !this.lenient) throw e;
        this.loss.linesSkipped++;
        return;
      }
    }
    if (batch.length === BATCH_CAPACITY) this.handOn();
  }

  /** The current batch is full: it is ready, and a new one takes its place. */
  private handOn(): void {
    this.ready.push(this.batch);
    this.batch = this.pool.take();
  }

  private comment(buf: Uint8Array, start: number, end: number): void {
    const text = decoder.decode(buf.subarray(start, end));
    (this.batch.comments ??= []).push({ before: this.batch.length, text });
    if (!this.sawHeader && start !== end) {
      this.sawHeader = true;
      readHeader(text, this.header);
    } else if (text.startsWith(HEAP_BASE) && this.header.heapBase === undefined) {
      this.header.heapBase = addressOf(text.slice(HEAP_BASE.length).trim(), this.name, this.lineNo, "heap-base");
    } else if (text.startsWith(BRK_BLOCKED_AT) && this.header.brkBlockedAt === undefined) {
      const at = text.slice(BRK_BLOCKED_AT.length).trim();
      this.header.brkBlockedAt = addressOf(at, this.name, this.lineNo, "brk-blocked-at");
    } else if (text.startsWith(MEM_TOTAL)) {
      this.header.memTotal = byteCount(text.slice(MEM_TOTAL.length)) ?? this.header.memTotal;
    } else if (text.startsWith(SWAP_TOTAL)) {
      this.header.swapTotal = byteCount(text.slice(SWAP_TOTAL.length)) ?? this.header.swapTotal;
    } else if (text.startsWith(FORK_OF) && this.header.forkOf === undefined) {
      const [file, seq] = text.slice(FORK_OF.length).trim().split(" ");
      if (file && /^\d+$/.test(seq ?? "")) this.header.forkOf = { file, seq: Number(seq) };
    } else {
      readSiteComment(text, this.header);
    }
  }
}

function byteCount(text: string): number | undefined {
  const bytes = Number(text.trim());
  return Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : undefined;
}

function stripCR(buf: Uint8Array, start: number, end: number): number {
  return end > start && buf[end - 1] === 13 ? end - 1 : end;
}

/** The value of a `# heap-base` or `# brk-blocked-at` comment, which must be a page of user space. */
function addressOf(text: string, file: string, line: number, field: string): number {
  const hex = /^0x[0-9a-fA-F]+$/.test(text);
  if (!hex && !/^[0-9]+$/.test(text)) throw new ParseError(file, line, field, `not an address: '${text.slice(0, 40)}'`);
  const base = sizeField(hex ? text.slice(2) : text, hex ? 16 : 10, file, line, field);
  const problem = heapBaseProblem(base);
  if (problem) throw new ParseError(file, line, field, problem);
  return base;
}

// The fast scanner keeps its position here rather than in a closure: one field reader call per field, no
// allocation per line.
let cursor = 0;

/** Decimal digits at `p` (up to `limit`); `cursor` = the index of the byte after them. -1: none, or beyond 2^53. */
function digitsAt(buf: Uint8Array, p: number, limit: number): number {
  const from = p;
  let v = 0;
  for (; p < limit; p++) {
    const d = buf[p] - 48;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
  }
  cursor = p;
  return p === from || v > Number.MAX_SAFE_INTEGER ? -1 : v;
}

/** A `0x`-prefixed hex number at `p` (see digitsAt); -1 when there is none. */
function hexAt(buf: Uint8Array, p: number, limit: number): number {
  if (p + 2 >= limit || buf[p] !== 48 || (buf[p + 1] | 32) !== 120) return -1;
  p += 2;
  const from = p;
  let v = 0;
  for (; p < limit; p++) {
    const c = buf[p];
    if (c >= 48 && c <= 57) {
      v = v * 16 + (c - 48);
    } else {
      const lower = c | 32;
      if (lower < 97 || lower > 102) break;
      v = v * 16 + (lower - 87);
    }
  }
  cursor = p;
  return p === from || v > Number.MAX_SAFE_INTEGER ? -1 : v;
}

/** Whether the field that ended at `cursor` is followed by a space and more (`cursor` then moves past the space). */
function spaceNext(buf: Uint8Array, limit: number): boolean {
  if (cursor + 1 >= limit || buf[cursor] !== 32) return false;
  cursor++;
  return true;
}

/**
 * Scans a well-formed operation line at `start` into the next slot of `batch`; -1 (the batch unchanged) when the
 * line is anything else, for `parseLine` to read or reject. With `lineEnd` ≥ 0 the line is [start, lineEnd);
 * with -1 the scan finds the line's newline itself (`limit`, the end of the input at hand, need not hold all of
 * the line: then -1 too). Returns the index past the line (past its newline, when it found one).
 */
function scanOp(buf: Uint8Array, start: number, limit: number, batch: TraceBatch, lineNo: number, lineEnd: number): number {
  const seq = digitsAt(buf, start, limit);
  if (seq < 0 || !spaceNext(buf, limit)) return -1;
  const tid = digitsAt(buf, cursor, limit);
  if (tid < 0 || cursor + 2 >= limit || buf[cursor] !== 32 || buf[cursor + 2] !== 32) return -1;
  const letter = buf[cursor + 1];
  const p = cursor + 3;
  let ptr = 0;
  let a = 0;
  let b = 0;
  let res: number;
  let code: number;
  switch (letter) {
    case 109 /* m */: case 118 /* v */: case 86 /* V */:
      code = letter === 109 ? OpCode.malloc : letter === 118 ? OpCode.valloc : OpCode.pvalloc;
      a = digitsAt(buf, p, limit);
      if (a < 0 || !spaceNext(buf, limit)) return -1;
      res = hexAt(buf, cursor, limit);
      break;
    case 102 /* f */:
      code = OpCode.free;
      ptr = hexAt(buf, p, limit);
      res = ptr < 0 ? -1 : 0;
      break;
    case 114 /* r */:
      code = OpCode.realloc;
      ptr = hexAt(buf, p, limit);
      if (ptr < 0 || !spaceNext(buf, limit)) return -1;
      a = digitsAt(buf, cursor, limit);
      if (a < 0 || !spaceNext(buf, limit)) return -1;
      res = hexAt(buf, cursor, limit);
      break;
    case 99 /* c */: case 97 /* a */: case 65 /* A */: case 80 /* P */:
      code = letter === 99 ? OpCode.calloc : letter === 97 ? OpCode.memalign
        : letter === 65 ? OpCode.alignedAlloc : OpCode.posixMemalign;
      a = digitsAt(buf, p, limit);
      if (a < 0 || !spaceNext(buf, limit)) return -1;
      b = digitsAt(buf, cursor, limit);
      if (b < 0 || !spaceNext(buf, limit)) return -1;
      res = hexAt(buf, cursor, limit);
      break;
    case 116 /* t */:
      code = OpCode.trim;
      a = digitsAt(buf, p, limit);
      if (a < 0 || !spaceNext(buf, limit)) return -1;
      res = digitsAt(buf, cursor, limit);
      break;
    default:
      return -1;
  }
  if (res < 0) return -1;
  // The line ends after the result ("\n" or "\r\n"), or optional fields follow it after a space.
  let end = lineEnd;
  let next = lineEnd;
  let site = 0;
  if (lineEnd < 0) {
    let c = cursor < limit ? buf[cursor] : -1;
    // The recorder's one optional field, " site=<id>" before the newline, is read in the same pass; a line with
    // other fields takes the general path below.
    if (c === 32 && isSiteAt(buf, cursor + 1, limit)) {
      const resEnd = cursor;
      site = digitsAt(buf, cursor + 6, limit);
      c = site >= 0 && cursor < limit ? buf[cursor] : -1;
      if (c !== 10 && c !== 13) {
        cursor = resEnd;
        c = 32;
        site = 0;
      }
    }
    if (c === 10 || (c === 13 && cursor + 1 < limit && buf[cursor + 1] === 10)) {
      end = cursor;
      next = cursor + (c === 10 ? 1 : 2);
    } else {
      const nl = c === 32 ? buf.indexOf(10, cursor) : -1;
      if (nl < 0) return -1;
      end = stripCR(buf, cursor, nl);
      next = nl + 1;
    }
  }
  if (cursor < end) {
    // Optional fields after the result: the call site (`site=<id>`), or key=value fields of later versions.
    if (buf[cursor] !== 32) return -1;
    site = optionalFields(buf, cursor + 1, end);
    if (site < 0) return -1;
  }
  pushFields(batch, seq, tid, code, ptr, a, b, res, lineNo);
  if (site > 0) siteColumn(batch)[batch.length - 1] = site;
  return next;
}

/** Whether `site=` starts at `at`, with room for a digit after it. */
function isSiteAt(buf: Uint8Array, at: number, limit: number): boolean {
  return at + 5 < limit && buf[at] === 115 && buf[at + 1] === 105 && buf[at + 2] === 116 && buf[at + 3] === 101
    && buf[at + 4] === 61;
}

/**
 * Reads the optional `key=value` fields of an op line from `from` to `end`: the site id (0 when none), or -1 when
 * a field is not of that form (an empty field, no `=`, a site id that is not a decimal number).
 */
function optionalFields(buf: Uint8Array, from: number, end: number): number {
  let site = 0;
  let p = from;
  while (p < end) {
    let q = p;
    while (q < end && buf[q] !== 32) q++;
    const eq = buf.indexOf(61 /* = */, p);
    if (q === p || eq <= p || eq >= q) return -1;
    if (eq - p === 4 && buf[p] === 115 && buf[p + 1] === 105 && buf[p + 2] === 116 && buf[p + 3] === 101) {
      const id = digitsAt(buf, eq + 1, q);
      if (id < 0 || cursor !== q) return -1;
      site = id;
    }
    p = q + 1;
  }
  return site;
}

function readHeader(text: string, header: TraceHeader): void {
  for (const m of text.matchAll(/(\w+)=(\S+)/g)) {
    if (m[1] === "pid") header.pid = Number(m[2]);
    else if (m[1] === "ppid") header.ppid = Number(m[2]);
    else if (m[1] === "exe") header.exe = m[2];
  }
}

/** Scans one operation line into the next slot of `batch`. */
function parseLine(
  buf: Uint8Array, start: number, end: number, fields: Float64Array, batch: TraceBatch, lineNo: number, file: string,
): void {
  let p = start;
  const next = (field: string): number => {
    if (p >= end) throw new ParseError(file, lineNo, field, "missing");
    const q = buf.indexOf(32, p);
    const stop = q < 0 || q > end ? end : q;
    const begin = p;
    p = stop + 1;
    if (stop === begin) throw new ParseError(file, lineNo, field, "empty field (two spaces?)");
    return stop;
  };
  let stop = next("seq");
  const seq = decimal(buf, start, stop, file, lineNo, "seq");
  let from = p;
  stop = next("tid");
  const tid = decimal(buf, from, stop, file, lineNo, "tid");
  from = p;
  stop = next("op");
  const letter = String.fromCharCode(buf[from]) as OpLetter;
  const code = stop - from === 1 ? CODE_OF_LETTER[letter] : undefined;
  if (code === undefined) {
    throw new ParseError(file, lineNo, "op", `unknown op '${decoder.decode(buf.subarray(from, stop))}'`);
  }
  const arity = ARITY[letter];
  let wide: bigint[] | undefined;
  for (let k = 0; k < arity; k++) {
    const field = fieldName(letter, k);
    from = p;
    stop = next(field);
    fields[k] = isAddressField(letter, k) ? hex(buf, from, stop, file, lineNo, field) : decimal(buf, from, stop, file, lineNo, field);
    if (fields[k] > Number.MAX_SAFE_INTEGER) (wide ??= [])[k] = BigInt(decoder.decode(buf.subarray(from, stop)));
  }
  let site = 0;
  if (p < end) {
    site = optionalFields(buf, p, end);
    if (site < 0) {
      const extra = decoder.decode(buf.subarray(p, end));
      const reason = /^site=/.test(extra) ? `site id not a decimal number: '${extra}'` : `unexpected extra field '${extra}'`;
      throw new ParseError(file, lineNo, /^site=/.test(extra) ? "site" : "line", reason);
    }
  }

  const i = batch.length;
  batch.seq[i] = seq;
  batch.tid[i] = tid;
  batch.code[i] = code;
  batch.line[i] = lineNo;
  batch.ptr[i] = 0;
  batch.b[i] = 0;
  batch.res[i] = 0;
  switch (letter) {
    case "m": case "v": case "V": batch.a[i] = fields[0]; batch.res[i] = fields[1]; break;
    case "f": batch.a[i] = 0; batch.ptr[i] = fields[0]; break;
    case "r": batch.ptr[i] = fields[0]; batch.a[i] = fields[1]; batch.res[i] = fields[2]; break;
    case "t": batch.a[i] = fields[0]; batch.res[i] = fields[1]; break;
    default: batch.a[i] = fields[0]; batch.b[i] = fields[1]; batch.res[i] = fields[2]; break;
  }
  if (wide) {
    // Only sizes reach here (addresses and counts beyond 2^53 are refused): field 1 of `r` and `b`'s own field.
    const a = letter === "r" ? 1 : 0;
    if (wide[a] !== undefined) setWide(batch, i, "a", wide[a]);
    if (ARITY[letter] === 3 && letter !== "r" && wide[1] !== undefined) setWide(batch, i, "b", wide[1]);
  }
  if (site > 0) siteColumn(batch)[i] = site;
  batch.length = i + 1;
}

const FIELD_NAMES: Readonly<Record<OpLetter, readonly string[]>> = {
  m: ["size", "res"], v: ["size", "res"], V: ["size", "res"], f: ["ptr"], r: ["old", "size", "res"],
  c: ["nmemb", "size", "res"], a: ["align", "size", "res"], A: ["align", "size", "res"], P: ["align", "size", "res"],
  t: ["pad", "res"],
};

function fieldName(letter: OpLetter, k: number): string {
  return FIELD_NAMES[letter][k];
}

function isAddressField(letter: OpLetter, k: number): boolean {
  const name = FIELD_NAMES[letter][k];
  return name === "res" ? letter !== "t" : name === "ptr" || name === "old";
}

function decimal(buf: Uint8Array, from: number, to: number, file: string, line: number, field: string): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) {
      throw new ParseError(file, line, field, `not a decimal number: '${decoder.decode(buf.subarray(from, to))}'`);
    }
    v = v * 10 + d;
  }
  if (v <= Number.MAX_SAFE_INTEGER) return v;
  const digits = decoder.decode(buf.subarray(from, to));
  return EXACT_FIELDS.has(field) ? exactField(digits, 10, file, line, field) : sizeField(digits, 10, file, line, field);
}

/** Decimal fields that count or name something (the rest are sizes, which may take any size_t value). */
const EXACT_FIELDS = new Set(["seq", "tid", "res"]);

function hex(buf: Uint8Array, from: number, to: number, file: string, line: number, field: string): number {
  if (to - from < 3 || buf[from] !== 48 || (buf[from + 1] | 32) !== 120) {
    throw new ParseError(file, line, field, `not a 0x-prefixed hex address: '${decoder.decode(buf.subarray(from, to))}'`);
  }
  let v = 0;
  for (let i = from + 2; i < to; i++) {
    const c = buf[i] | 32;
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) throw new ParseError(file, line, field, `not a hex address: '${decoder.decode(buf.subarray(from, to))}'`);
    v = v * 16 + d;
  }
  return v <= Number.MAX_SAFE_INTEGER ? v : exactField(decoder.decode(buf.subarray(from + 2, to)), 16, file, line, field);
}
