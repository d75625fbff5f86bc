// glibc mtrace logs (`MALLOC_TRACE=file`, malloc/mtrace-impl.c):
//
//   = Start
//   [@ <caller>] + <ptr> <size>      malloc, calloc, the memalign family, realloc(NULL, n)   (ptr "(nil)" = failed)
//   [@ <caller>] - <ptr>             free(ptr), realloc(ptr, 0)
//   [@ <caller>] < <old>             realloc: the old block ...
//   [@ <caller>] > <new> <size>      ... and the new one (two lines)
//   [@ <caller>] ! <old> <size>      failed realloc (the old block stays)
//   = End
//
// The caller prefix takes every form tr_where() prints: `@ file:(sym+off)[0xaddr] `, `@ file:[0xaddr] `,
// `@ [0xaddr] `, or nothing. Fields are read from the right, so a caller holding spaces does no harm. Sizes are
// `%#lx` (0x-hex, "0" for zero). Frees carry no size: the live set resolves it, and a free of a block never seen
// is counted as an unknown free.

import { type ImportOptions, LiveSet, type LineParser, type ParserFactory, textTrace } from "./importer.js";
import type { ByteSource } from "./input.js";
import { OpCode, ParseError, type TraceSource } from "./types.js";

/** Opens a glibc mtrace log as a streamed trace (one thread, tid 1). */
export function readMtrace(source: ByteSource, options: ImportOptions = {}): TraceSource {
  return textTrace(source, "mtrace", mtraceParser, options);
}

const TID = 1;

const mtraceParser: ParserFactory = (file, _header, loss, options) => {
  const live = new LiveSet(loss);
  let seq = 0;
  let pendingOld: { ptr: number; line: number } | null = null;

  const pointer = (text: string | undefined, line: number, name: string): number => {
    if (text === "(nil)" || text === "0" || text === "0x0") return 0;
    if (text && /^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text.slice(2), 16);
    throw new ParseError(file, line, name, text ? `not a pointer: '${text.slice(0, 40)}'` : "missing");
  };
  const size = (text: string | undefined, line: number): number => {
    if (text === "0") return 0;
    if (text && /^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text.slice(2), 16);
    if (text && /^[0-9]+$/.test(text)) return Number(text);
    throw new ParseError(file, line, "size", text ? `not a size: '${text.slice(0, 40)}'` : "missing");
  };
  const unpairedRealloc = (line: number): void => {
    if (!pendingOld) return;
    const reason = `realloc '<' line ${pendingOld.line} has no '>' line after it`;
    pendingOld = null;
    if (!options.lenient) throw new ParseError(file, line, "op", reason);
    loss.linesSkipped++;
  };

  const parser: LineParser = {
    line(text, line, sink) {
      if (text === "" || text.startsWith("= ")) {
        unpairedRealloc(line);
        return;
      }
      const tokens = text.split(" ");
      if (tokens[tokens.length - 1] === "") tokens.pop();
      // The op is the last token but one (one argument) or but two (two arguments).
      let at = tokens.length - 2;
      if (!(at >= 0 && isOneArgOp(tokens[at]))) at = tokens.length - 3;
      if (at < 0 || !(isOneArgOp(tokens[at]) || isTwoArgOp(tokens[at]))) {
        throw new ParseError(file, line, "op", `no mtrace record (+ - < > !) in '${text.slice(0, 60)}'`);
      }
      if (at > 0 && tokens[0] !== "@") {
        throw new ParseError(file, line, "caller", `expected '@ <caller>' before the record, got '${tokens[0]}'`);
      }
      const op = tokens[at];
      if (isOneArgOp(op) !== (at === tokens.length - 2)) {
        throw new ParseError(file, line, "op", `'${op}' takes ${isOneArgOp(op) ? 1 : 2} argument(s)`);
      }
      const ptr = pointer(tokens[at + 1], line, "ptr");
      if (op !== ">") unpairedRealloc(line);
      switch (op) {
        case "+": {
          const n = size(tokens[at + 2], line);
          if (ptr === 0) loss.failedCalls++;
          live.allocated(ptr, n);
          sink.push(++seq, TID, OpCode.malloc, 0, n, 0, ptr, line);
          break;
        }
        case "-":
          live.freed(ptr);
          sink.push(++seq, TID, OpCode.free, ptr, 0, 0, 0, line);
          break;
        case "<":
          pendingOld = { ptr, line };
          break;
        case ">": {
          if (!pendingOld) throw new ParseError(file, line, "op", "realloc '>' line without the '<' line before it");
          const n = size(tokens[at + 2], line);
          live.freed(pendingOld.ptr);
          live.allocated(ptr, n);
          sink.push(++seq, TID, OpCode.realloc, pendingOld.ptr, n, 0, ptr, line);
          pendingOld = null;
          break;
        }
        case "!": {
          const n = size(tokens[at + 2], line);
          loss.failedCalls++;
          sink.push(++seq, TID, OpCode.realloc, ptr, n, 0, 0, line);
          break;
        }
      }
    },
    end(line) {
      unpairedRealloc(line);
    },
  };
  return parser;
};

function isOneArgOp(t: string): boolean {
  return t === "-" || t === "<";
}

function isTwoArgOp(t: string): boolean {
  return t === "+" || t === ">" || t === "!";
}
