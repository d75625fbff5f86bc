// Android malloc_debug `record_allocs` dumps (also what `memory_replay` reads):
//
//   <tid>: malloc <ptr> <size>
//   <tid>: calloc <ptr> <nmemb> <size>
//   <tid>: memalign <ptr> <alignment> <size>      (posix_memalign too)
//   <tid>: realloc <new> <old> <size>             (old 0x0: realloc(NULL, size))
//   <tid>: free <ptr>
//   <tid>: thread_done 0x0
//
// Newer releases append the call's start and end time in nanoseconds to each record; they are accepted and
// dropped. Pointers are 0x-hex; the recording keeps the real addresses and thread ids.

import { type ImportOptions, LiveSet, type LineParser, type ParserFactory, textTrace } from "./importer.js";
import type { ByteSource } from "./input.js";
import { OpCode, ParseError, type TraceSource } from "./types.js";
import { exactField, sizeField } from "./values.js";

/** Opens an Android record_allocs dump as a streamed trace. */
export function readAndroid(source: ByteSource, options: ImportOptions = {}): TraceSource {
  return textTrace(source, "android", androidParser, options);
}

/** Numeric arguments of each record kind, timestamps excluded. */
const ARITY: Readonly<Record<string, number>> = { malloc: 2, calloc: 3, memalign: 3, realloc: 3, free: 1, thread_done: 1 };

const androidParser: ParserFactory = (file, _header, loss) => {
  const live = new LiveSet(loss);
  let seq = 0;
  const hex = (text: string | undefined, line: number, name: string): number => {
    if (text && /^0x[0-9a-fA-F]+$/.test(text)) return exactField(text.slice(2), 16, file, line, name);
    if (text === "0") return 0;
    throw new ParseError(file, line, name, text ? `not a 0x-hex pointer: '${text.slice(0, 40)}'` : "missing");
  };
  const dec = (text: string | undefined, line: number, name: string): number => {
    if (text && /^[0-9]+$/.test(text)) return sizeField(text, 10, file, line, name);
    throw new ParseError(file, line, name, text ? `not a decimal number: '${text.slice(0, 40)}'` : "missing");
  };

  const parser: LineParser = {
    line(text, line, sink) {
      const trimmed = text.trim();
      if (trimmed === "" || trimmed.startsWith("#")) return;
      const tokens = trimmed.split(/\s+/);
      const m = /^([0-9]+):$/.exec(tokens[0]);
      if (!m) throw new ParseError(file, line, "tid", `expected '<tid>:', got '${tokens[0].slice(0, 20)}'`);
      const tid = exactField(m[1], 10, file, line, "tid");
      const kind = tokens[1];
      const arity = ARITY[kind];
      if (arity === undefined) throw new ParseError(file, line, "op", `unknown record '${(kind ?? "").slice(0, 20)}'`);
      const extra = tokens.length - 2 - arity;
      if (extra !== 0 && extra !== 2) {
        throw new ParseError(file, line, "line", `'${kind}' takes ${arity} argument(s) (and optionally 2 timestamps)`);
      }
      if (extra === 2) {
        dec(tokens[2 + arity], line, "start_ns");
        dec(tokens[3 + arity], line, "end_ns");
      }
      const ptr = hex(tokens[2], line, "ptr");
      switch (kind) {
        case "malloc": {
          const size = dec(tokens[3], line, "size");
          if (ptr === 0) loss.failedCalls++;
          live.allocated(ptr, size);
          sink.push(++seq, tid, OpCode.malloc, 0, size, 0, ptr, line);
          sink.exact(tokens[3]);
          break;
        }
        case "calloc": {
          const nmemb = dec(tokens[3], line, "nmemb");
          const size = dec(tokens[4], line, "size");
          if (ptr === 0) loss.failedCalls++;
          live.allocated(ptr, nmemb * size);
          sink.push(++seq, tid, OpCode.calloc, 0, nmemb, size, ptr, line);
          sink.exact(tokens[3], tokens[4]);
          break;
        }
        case "memalign": {
          const align = dec(tokens[3], line, "alignment");
          const size = dec(tokens[4], line, "size");
          if (ptr === 0) loss.failedCalls++;
          live.allocated(ptr, size);
          sink.push(++seq, tid, OpCode.memalign, 0, align, size, ptr, line);
          sink.exact(tokens[3], tokens[4]);
          break;
        }
        case "realloc": {
          const old = hex(tokens[3], line, "old");
          const size = dec(tokens[4], line, "size");
          if (ptr === 0 && size !== 0) loss.failedCalls++;
          else {
            live.freed(old);
            live.allocated(ptr, size);
          }
          sink.push(++seq, tid, OpCode.realloc, old, size, 0, ptr, line);
          sink.exact(tokens[4]);
          break;
        }
        case "free":
          live.freed(ptr);
          sink.push(++seq, tid, OpCode.free, ptr, 0, 0, 0, line);
          break;
        case "thread_done":
          break;
      }
    },
  };
  return parser;
};
