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
// is counted as an unknown free. Each distinct caller becomes a call site (`header.sites`): its address, and the
// file and symbol tr_where() named.

import { type ImportOptions, LiveSet, type LineParser, type ParserFactory, textTrace } from "./importer.js";
import type { ByteSource } from "./input.js";
import { type CallSite, OpCode, ParseError, type SiteFrame, type TraceSource } from "./types.js";
import { exactField, sizeField } from "./values.js";

/** Opens a glibc mtrace log as a streamed trace (one thread, tid 1). */
export function readMtrace(source: ByteSource, options: ImportOptions = {}): TraceSource {
  return textTrace(source, "mtrace", mtraceParser, options);
}

const TID = 1;

const mtraceParser: ParserFactory = (file, header, loss, options) => {
  const live = new LiveSet(loss);
  /** Site ids by the caller text tr_where() printed. */
  const siteIds = new Map<string, number>();
  const siteOf = (caller: string): number => {
    if (!caller) return 0;
    let id = siteIds.get(caller);
    if (id === undefined) {
      id = siteIds.size + 1;
      siteIds.set(caller, id);
      (header.sites ??= new Map<number, CallSite>()).set(id, { id, frames: [callerFrame(caller)] });
    }
    return id;
  };
  let seq = 0;
  let pendingOld: { ptr: number; line: number; caller: string } | null = null;

  const pointer = (text: string | undefined, line: number, name: string): number => {
    if (text === "(nil)" || text === "0") return 0;
    if (text !== undefined && isHex(text)) return exactField(text.slice(2), 16, file, line, name);
    throw new ParseError(file, line, name, text ? `not a pointer: '${text.slice(0, 40)}'` : "missing");
  };
  const size = (text: string | undefined, line: number): number => {
    if (text !== undefined && isHex(text)) return sizeField(text.slice(2), 16, file, line, "size");
    if (text !== undefined && /^[0-9]+$/.test(text)) return sizeField(text, 10, file, line, "size");
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
      // The record is read from the right: "<op> <arg>" or "<op> <arg> <arg>", after an optional caller.
      let end = text.length;
      while (end > 0 && text.charCodeAt(end - 1) === 32) end--;
      const s1 = text.lastIndexOf(" ", end - 1);
      const s2 = s1 > 0 ? text.lastIndexOf(" ", s1 - 1) : -1;
      const s3 = s2 > 0 ? text.lastIndexOf(" ", s2 - 1) : -1;
      const last = text.slice(s1 + 1, end);
      const middle = s1 >= 0 ? text.slice(s2 + 1, s1) : "";
      const first = s2 >= 0 ? text.slice(s3 + 1, s2) : "";
      let op: string;
      let opStart: number;
      let args: [string, string | undefined];
      if (s1 >= 0 && isOneArgOp(middle)) {
        op = middle;
        opStart = s2 + 1;
        args = [last, undefined];
      } else if (s2 >= 0 && isTwoArgOp(first)) {
        op = first;
        opStart = s3 + 1;
        args = [middle, last];
      } else {
        throw new ParseError(file, line, "op", `no mtrace record (+ - < > !) in '${text.slice(0, 60)}'`);
      }
      if (opStart > 0 && !text.startsWith("@ ")) {
        throw new ParseError(file, line, "caller", `expected '@ <caller>' before the record, got '${text.slice(0, 20)}'`);
      }
      const ptr = pointer(args[0], line, "ptr");
      if (op !== ">") unpairedRealloc(line);
      const caller = opStart > 2 ? text.slice(2, opStart - 1).trim() : "";
      switch (op) {
        case "+": {
          const n = size(args[1], line);
          if (ptr === 0) loss.failedCalls++;
          live.allocated(ptr, n);
          sink.push(++seq, TID, OpCode.malloc, 0, n, 0, ptr, line);
          sink.exact(args[1]);
          if (caller) sink.site(siteOf(caller));
          break;
        }
        case "-":
          live.freed(ptr);
          sink.push(++seq, TID, OpCode.free, ptr, 0, 0, 0, line);
          break;
        case "<":
          pendingOld = { ptr, line, caller };
          break;
        case ">": {
          if (!pendingOld) throw new ParseError(file, line, "op", "realloc '>' line without the '<' line before it");
          const n = size(args[1], line);
          live.freed(pendingOld.ptr);
          live.allocated(ptr, n);
          sink.push(++seq, TID, OpCode.realloc, pendingOld.ptr, n, 0, ptr, line);
          sink.exact(args[1]);
          if (caller || pendingOld.caller) sink.site(siteOf(caller || pendingOld.caller));
          pendingOld = null;
          break;
        }
        case "!": {
          const n = size(args[1], line);
          loss.failedCalls++;
          sink.push(++seq, TID, OpCode.realloc, ptr, n, 0, 0, line);
          sink.exact(args[1]);
          if (caller) sink.site(siteOf(caller));
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

/**
 * A caller as tr_where() prints it: `file:(sym+off)[0xaddr]`, `file:[0xaddr]` or `[0xaddr]`. The symbol, when
 * printed, stands for the function.
 */
function callerFrame(caller: string): SiteFrame {
  const m = /^(?:(.*?):)?(?:\((.*)\))?\[(0x[0-9a-fA-F]+)\]$/.exec(caller);
  if (!m) return { fn: caller };
  const frame: SiteFrame = { address: Number(m[3]) };
  if (m[1]) frame.module = m[1];
  if (m[2]) frame.fn = m[2];
  return frame;
}

/** Whether a token is 0x-hex. */
function isHex(text: string): boolean {
  return /^0[xX][0-9a-fA-F]+$/.test(text);
}

function isOneArgOp(t: string): boolean {
  return t === "-" || t === "<";
}

function isTwoArgOp(t: string): boolean {
  return t === "+" || t === ">" || t === "!";
}
