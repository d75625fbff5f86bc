// alloc-trace v1: heaplab's text format (see ../shared/traces/README.md and docs/formats.md).
//
//   # alloc-trace v1 pid=<pid> ppid=<ppid> exe=<basename>
//   <seq> <tid> <op> <args...> [<res>]
//
// The reader works on bytes, never on whole-file strings: a line is scanned field by field into the columns of a
// TraceBatch, and a batch is handed on every BATCH_CAPACITY operations.

import { type ByteSource, openBytes, scanLines, sourceName } from "./input.js";
import {
  BATCH_CAPACITY, CODE_OF_LETTER, type LossReport, type OpLetter, ParseError, type TraceBatch, type TraceHeader,
  type TraceSource, emptyLoss, newBatch,
} from "./types.js";

/** Number of numeric fields after the op letter, results included. */
const ARITY: Readonly<Record<OpLetter, number>> = { m: 2, c: 3, r: 3, f: 1, a: 3, A: 3, P: 3, v: 2, V: 2, t: 2 };

export interface ReadOptions {
  /** Skip malformed lines and count them in the loss report instead of throwing. */
  lenient?: boolean;
}

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
    batches: () => parse(source, name, header, loss, options),
  };
}

async function* parse(
  source: ByteSource, name: string, header: TraceHeader, loss: LossReport, options: ReadOptions,
): AsyncIterable<TraceBatch> {
  let batch = newBatch();
  const ready: TraceBatch[] = [];
  let lineNo = 0;
  let sawHeader = false;

  const fields = new Float64Array(3);
  const onLine = (buf: Uint8Array, start: number, end: number): void => {
    lineNo++;
    if (start === end || buf[start] === 35 /* # */) {
      const text = decoder.decode(buf.subarray(start, end));
      (batch.comments ??= []).push({ before: batch.length, text });
      if (!sawHeader && start !== end) {
        sawHeader = true;
        readHeader(text, header);
      }
      return;
    }
    try {
      parseLine(buf, start, end, fields, batch, lineNo, name);
    } catch (e) {
      if (!(e instanceof ParseError) || !options.lenient) throw e;
      loss.linesSkipped++;
      return;
    }
    if (batch.length === BATCH_CAPACITY) {
      ready.push(batch);
      batch = newBatch();
    }
  };

  for await (const _ of scanLines(openBytes(source), onLine)) {
    while (ready.length) yield ready.shift()!;
  }
  if (batch.length || batch.comments?.length) yield batch;
  if (lineNo === 0) throw new ParseError(name, 0, "file", "empty trace");
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
  for (let k = 0; k < arity; k++) {
    const field = fieldName(letter, k);
    from = p;
    stop = next(field);
    fields[k] = isAddressField(letter, k) ? hex(buf, from, stop, file, lineNo, field) : decimal(buf, from, stop, file, lineNo, field);
  }
  if (p < end) throw new ParseError(file, lineNo, "line", `unexpected extra field '${decoder.decode(buf.subarray(p, end))}'`);

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
  return v;
}

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
  return v;
}
