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
//
// Call sites: every allocation names a node of the trace tree (`t <ip> <parent>`, nodes numbered from 1), which is
// its site; the site's frames follow the parents, innermost first. In a raw file an ip is an address; in an
// interpreted one it indexes the `i <ip> <module> [<function> [<file> <line>]]` records, whose names index the
// `s` strings (both numbered from 1).

import { type ImportOptions, LiveSet, type LineParser, type ParserFactory, textTrace } from "./importer.js";
import type { ByteSource } from "./input.js";
import { SYNTHETIC_BASE } from "./rep.js";
import { type CallSite, OpCode, ParseError, type SiteFrame, type TraceSource } from "./types.js";
import { exactField, sizeField } from "./values.js";

/** Opens a heaptrack file (raw or interpreted, plain or gzip) as a streamed trace (one thread, tid 1). */
export function readHeaptrack(source: ByteSource, options: ImportOptions = {}): TraceSource {
  return textTrace(source, "heaptrack", heaptrackParser, options);
}

const TID = 1;
const SKIPPED = new Set(["v", "x", "X", "I", "S", "m", "c", "R", "A", "#"]);
/** Frames a call site keeps: its innermost ones. */
const SITE_FRAMES = 16;

const heaptrackParser: ParserFactory = (file, header, loss) => {
  const live = new LiveSet(loss);
  let seq = 0;
  let mode: "raw" | "interpreted" | undefined;
  const infoSizes: number[] = [];
  /** The trace (call site) of each allocation info. */
  const infoTraces: number[] = [];
  /** The trace tree: node k's ip and parent at 2k and 2k + 1 (node 0 is the root). */
  const tree: number[] = [0, 0];
  const strings: string[] = [""];
  /** Instruction pointers of an interpreted file (index 0 unused): address, module, function, file, line. */
  const ips: number[][] = [[]];
  const used = new Set<number>();
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

  /** Names trace node `trace` as the last op's site (node 0, the root, is no site). */
  const site = (trace: number, sink: { site(id: number): void }): void => {
    if (trace <= 0) return;
    used.add(trace);
    sink.site(trace);
  };
  const frameOf = (ip: number): SiteFrame => {
    if (mode !== "interpreted") return { address: ip };
    const [address, module, fn, source, sourceLine] = ips[ip] ?? [];
    const frame: SiteFrame = {};
    if (address !== undefined) frame.address = address;
    if (strings[module]) frame.module = strings[module];
    if (strings[fn]) frame.fn = strings[fn];
    if (strings[source]) frame.file = strings[source];
    if (sourceLine) frame.line = sourceLine;
    return frame;
  };
  /** The sites the allocations named, each with its frames up the trace tree. */
  const sitesOf = (): Map<number, CallSite> => {
    const sites = new Map<number, CallSite>();
    for (const id of used) {
      const frames: SiteFrame[] = [];
      for (let node = id; node > 0 && 2 * node < tree.length && frames.length < SITE_FRAMES; node = tree[2 * node + 1]) {
        frames.push(frameOf(tree[2 * node]));
      }
      sites.set(id, { id, frames });
    }
    return sites;
  };

  const parser: LineParser = {
    line(text, line, sink) {
      if (text === "") return;
      const type = text[0];
      if (text.length > 1 && text[1] !== " ") throw new ParseError(file, line, "type", `unknown record '${text.slice(0, 20)}'`);
      if (SKIPPED.has(type)) return;
      if (type === "s") {
        // Newer files prefix the string with its length in hex.
        const m = /^([0-9a-f]+) /.exec(text.slice(2));
        strings.push(m && parseInt(m[1], 16) === text.length - 3 - m[1].length ? text.slice(3 + m[1].length) : text.slice(2));
        return;
      }
      const args = text.length > 2 ? text.slice(2).split(" ") : [];
      switch (type) {
        case "t": {
          if (args.length !== 2) throw new ParseError(file, line, "line", "'t' takes an instruction pointer and a parent");
          tree.push(hex(args[0], line, "ip"), hex(args[1], line, "parent"));
          return;
        }
        case "i": {
          ips.push(args.map((t) => parseInt(t, 16)));
          return;
        }
        case "a": {
          setMode("interpreted", line);
          if (args.length !== 2) throw new ParseError(file, line, "line", "'a' takes size and trace index");
          infoSizes.push(hex(args[0], line, "size"));
          infoTokens.push(args[0]);
          infoTraces.push(hex(args[1], line, "trace"));
          return;
        }
        case "+": {
          if (args.length === 3) {
            setMode("raw", line);
            const size = hex(args[0], line, "size");
            const trace = hex(args[1], line, "trace");
            const ptr = hex(args[2], line, "ptr");
            live.allocated(ptr, size);
            sink.push(++seq, TID, OpCode.malloc, 0, size, 0, ptr, line);
            sink.exact(`0x${args[0]}`);
            site(trace, sink);
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
          site(infoTraces[k], sink);
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
      if (used.size) header.sites = sitesOf();
      if (matched) {
        loss.notes.push(`${matched} frees matched to the most recent live block of their (size, call stack) class`);
      }
      if (mode === "interpreted") loss.notes.push("interpreted heaptrack file: addresses are synthetic");
    },
  };
  return parser;
};
