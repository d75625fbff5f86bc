// heaptrack data files: one record per line, the first character its type, numbers lowercase hex without 0x.
//
// Raw stream (`heaptrack --raw`, written by libheaptrack):
//   + <size> <trace index> <ptr>     allocation (calloc as n·size; realloc as "- old" then "+ new")
//   - <ptr>                          deallocation
//   v x X I S m t c R A #            version, exe, cmdline, page info, suppressions, modules, trace tree, time,
//                                    RSS, attach, comment: no allocator call, skipped
// Interpreted stream (the usual heaptrack.<app>.<pid>.gz): `a <size> <trace>` defines allocation info k (0-based),
// `+ <k>` allocates and `- <k>` frees "one live block of info k". Addresses are gone, so each allocation gets a
// fresh synthetic address and a free takes the most recent live block of its class (LIFO, heaptrack's own notion
// of a temporary allocation); the loss report says how many frees were matched that way.

import { type ImportOptions, LiveSet, type LineParser, type ParserFactory, textTrace } from "./importer.js";
import type { ByteSource } from "./input.js";
import { SYNTHETIC_BASE } from "./rep.js";
import { OpCode, ParseError, type TraceSource } from "./types.js";
import { exactField, sizeField } from "./values.js";

/** Opens a heaptrack file (raw or interpreted, plain or gzip) as a streamed trace (one thread, tid 1). */
export function readHeaptrack(source: ByteSource, options: ImportOptions = {}): TraceSource {
  return textTrace(source, "heaptrack", heaptrackParser, options);
}

const TID = 1;
const SKIPPED = new Set(["v", "x", "X", "I", "S", "m", "t", "c", "R", "A", "#", "s", "i"]);

const heaptrackParser: ParserFactory = (file, header, loss) => {
  const live = new LiveSet(loss);
  let seq = 0;
  let mode: "raw" | "interpreted" | undefined;
  const infoSizes: number[] = [];
  /** The size tokens of `infoSizes`, for the exact value of a size beyond 2^53. */
  const infoTokens: string[] = [];
  const classes = new Map<number, number[]>();
  let nextSynthetic = SYNTHETIC_BASE;
  let matched = 0;

  const hex = (text: string | undefined, line: number, name: string): number => {
    if (text && /^[0-9a-f]+$/.test(text)) {
      return name === "size" ? sizeField(text, 16, file, line, name) : exactField(text, 16, file, line, name);
    }
    throw new ParseError(file, line, name, text ? `not a hex number: '${text.slice(0, 40)}'` : "missing");
  };
  const setMode = (m: "raw" | "interpreted", line: number): void => {
    if (mode && mode !== m) throw new ParseError(file, line, "line", `a ${m} record in a ${mode} heaptrack file`);
    mode = m;
    header.variant = m;
  };

  const parser: LineParser = {
    line(text, line, sink) {
      if (text === "") return;
      const type = text[0];
      if (text.length > 1 && text[1] !== " ") throw new ParseError(file, line, "type", `unknown record '${text.slice(0, 20)}'`);
      if (SKIPPED.has(type)) return;
      const args = text.length > 2 ? text.slice(2).split(" ") : [];
      switch (type) {
        case "a": {
          setMode("interpreted", line);
          if (args.length !== 2) throw new ParseError(file, line, "line", "'a' takes size and trace index");
          infoSizes.push(hex(args[0], line, "size"));
          infoTokens.push(args[0]);
          hex(args[1], line, "trace");
          return;
        }
        case "+": {
          if (args.length === 3) {
            setMode("raw", line);
            const size = hex(args[0], line, "size");
            hex(args[1], line, "trace");
            const ptr = hex(args[2], line, "ptr");
            live.allocated(ptr, size);
            sink.push(++seq, TID, OpCode.malloc, 0, size, 0, ptr, line);
            sink.exact(`0x${args[0]}`);
            return;
          }
          if (args.length !== 1) throw new ParseError(file, line, "line", "'+' takes size, trace, ptr (raw) or an info index");
          setMode("interpreted", line);
          const k = hex(args[0], line, "info");
          if (k >= infoSizes.length) throw new ParseError(file, line, "info", `allocation info ${k} not defined yet`);
          const address = (nextSynthetic += 16);
          let stack = classes.get(k);
          if (!stack) classes.set(k, (stack = []));
          stack.push(address);
          sink.push(++seq, TID, OpCode.malloc, 0, infoSizes[k], 0, address, line);
          sink.exact(`0x${infoTokens[k]}`);
          return;
        }
        case "-": {
          if (args.length !== 1) throw new ParseError(file, line, "line", "'-' takes one argument");
          const value = hex(args[0], line, mode === "interpreted" ? "info" : "ptr");
          if (mode !== "interpreted") {
            live.freed(value);
            sink.push(++seq, TID, OpCode.free, value, 0, 0, 0, line);
            return;
          }
          const address = classes.get(value)?.pop();
          if (address === undefined) {
            loss.unknownFrees++;
            return;
          }
          matched++;
          sink.push(++seq, TID, OpCode.free, address, 0, 0, 0, line);
          return;
        }
        default:
          throw new ParseError(file, line, "type", `unknown record type '${type}'`);
      }
    },
    end() {
      if (matched) {
        loss.notes.push(`${matched} frees matched to the most recent live block of their (size, call stack) class`);
      }
      if (mode === "interpreted") loss.notes.push("interpreted heaptrack file: addresses are synthetic");
    },
  };
  return parser;
};
