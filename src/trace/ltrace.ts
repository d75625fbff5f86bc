// ltrace logs of the allocator calls (what villoc reads):
//
//   [<pid> |[pid <pid>] ][<timestamp> ][lib->]malloc(24)          = 0x55555555a2a0 [<0.000123>]
//   calloc(1, 24) = 0x…   realloc(0x…, 48) = 0x…   free(0x…) = <void>   memalign(16, 100) = 0x…
//   malloc(4096 <unfinished ...>           … later, from the same pid …   <... malloc resumed> ) = 0x…
//   free(0x… <no return ...>               no result yet: resumed later, or the program died inside the call
//   +++ exited (status 0) +++   --- SIGCHLD … ---   @villoc(…)
//
// Calls of other functions are skipped silently; allocator calls whose result ltrace cannot show
// (posix_memalign writes it through a pointer) are skipped and counted. NULL prints as 0, nil or (nil).

import { type ImportOptions, LiveSet, type LineParser, type ParserFactory, parseUnsigned, textTrace } from "./importer.js";
import type { ByteSource } from "./input.js";
import { OpCode, ParseError, type TraceSource } from "./types.js";
import { exactField } from "./values.js";

/** Opens an ltrace log as a streamed trace (tid = the pid prefix, else 1). */
export function readLtrace(source: ByteSource, options: ImportOptions = {}): TraceSource {
  return textTrace(source, "ltrace", ltraceParser, options);
}

const PREFIX = /^(?:(\d+) +|\[pid (\d+)\] +)?(?:(?:\d\d:\d\d:\d\d(?:\.\d+)?|\d+\.\d+) +)?/;
const CALL = /^(?:[\w.+-]+->)?([A-Za-z_]\w*)\((.*)$/;
const RESUMED = /^<\.\.\. ([A-Za-z_]\w*) resumed> ?(.*)$/;
const UNFINISHED = / ?<unfinished \.\.\.>$/;
const NO_RETURN = / ?<no return \.\.\.>$/;
/** Arguments of each allocator call. */
const ARITY: Readonly<Record<string, number>> = {
  malloc: 1, calloc: 2, realloc: 2, reallocarray: 3, free: 1, memalign: 2, aligned_alloc: 2, posix_memalign: 3,
  valloc: 1, pvalloc: 1, malloc_trim: 1,
};
const ALLOCATOR = new Set([
  "malloc", "calloc", "realloc", "reallocarray", "free", "memalign", "aligned_alloc", "posix_memalign", "valloc",
  "pvalloc", "malloc_trim",
]);

const POINTER_FIELDS = new Set(["ptr", "result"]);
const SIZE_MAX = (1n << 64n) - 1n;
const bigMin = (a: bigint, b: bigint): bigint => (a < b ? a : b);

const ltraceParser: ParserFactory = (file, _header, loss) => {
  const live = new LiveSet(loss);
  const pending = new Map<number, { text: string; line: number }>();
  let seq = 0;
  let unresolved = 0;

  const value = (text: string | undefined, line: number, name: string): number => {
    if (text === undefined) throw new ParseError(file, line, name, "missing");
    const t = text.trim();
    if (t === "nil" || t === "(nil)" || t === "NULL") return 0;
    const v = parseUnsigned(t, file, line, name, POINTER_FIELDS.has(name));
    if (Number.isNaN(v)) throw new ParseError(file, line, name, `not a number or pointer: '${t.slice(0, 40)}'`);
    return v;
  };

  /** One complete call `name(args) = result`; `line` is where it started. */
  const call = (name: string, rest: string, line: number, tid: number, sink: Parameters<LineParser["line"]>[2]): void => {
    const close = rest.lastIndexOf(")");
    if (close < 0) throw new ParseError(file, line, "args", `no closing parenthesis in '${name}(${rest.slice(0, 40)}'`);
    const args = rest.slice(0, close).trim() === "" ? [] : rest.slice(0, close).split(",");
    let after = rest.slice(close + 1).trim().replace(/ *<[0-9.]+>$/, "");
    if (!after.startsWith("=")) throw new ParseError(file, line, "result", `no '= <result>' after ${name}(…)`);
    after = after.slice(1).trim();
    if (args.length !== ARITY[name]) {
      throw new ParseError(file, line, "args", `${name} takes ${ARITY[name]} argument(s), got ${args.length}`);
    }
    const arg = (k: number, field: string): number => value(args[k], line, field);
    const token = (k: number): string => args[k].trim();
    const res = name === "free" ? 0 : value(after, line, "result");
    const failed = res === 0 && name !== "free" && name !== "malloc_trim";
    if (failed) loss.failedCalls++;
    switch (name) {
      case "malloc": case "valloc": case "pvalloc": {
        const size = arg(0, "size");
        live.allocated(res, size);
        const code = name === "malloc" ? OpCode.malloc : name === "valloc" ? OpCode.valloc : OpCode.pvalloc;
        sink.push(++seq, tid, code, 0, size, 0, res, line);
        sink.exact(token(0));
        return;
      }
      case "calloc": {
        const nmemb = arg(0, "nmemb");
        const size = arg(1, "size");
        live.allocated(res, nmemb * size);
        sink.push(++seq, tid, OpCode.calloc, 0, nmemb, size, res, line);
        sink.exact(token(0), token(1));
        return;
      }
      case "realloc": case "reallocarray": {
        const old = arg(0, "ptr");
        // reallocarray's product as the size; one that overflows fails as realloc(p, SIZE_MAX) does.
        const size = name === "realloc" ? arg(1, "size") : Math.min(arg(1, "nmemb") * arg(2, "size"), 2 ** 64);
        if (!failed || size === 0) {
          live.freed(old);
          live.allocated(res, size);
        }
        sink.push(++seq, tid, OpCode.realloc, old, size, 0, res, line);
        if (size > Number.MAX_SAFE_INTEGER) {
          sink.exact(name === "realloc" ? token(1) : String(bigMin(BigInt(token(1)) * BigInt(token(2)), SIZE_MAX)));
        }
        return;
      }
      case "free": {
        const ptr = arg(0, "ptr");
        live.freed(ptr);
        sink.push(++seq, tid, OpCode.free, ptr, 0, 0, 0, line);
        return;
      }
      case "memalign": case "aligned_alloc": {
        const align = arg(0, "alignment");
        const size = arg(1, "size");
        live.allocated(res, size);
        sink.push(++seq, tid, name === "memalign" ? OpCode.memalign : OpCode.alignedAlloc, 0, align, size, res, line);
        sink.exact(token(0), token(1));
        return;
      }
      case "posix_memalign":
        if (failed) loss.failedCalls--;
        unresolved++;
        return;
      case "malloc_trim":
        sink.push(++seq, tid, OpCode.trim, 0, arg(0, "pad"), 0, res, line);
        sink.exact(token(0));
        return;
    }
  };

  const parser: LineParser = {
    line(text, line, sink) {
      const m = PREFIX.exec(text)!;
      const pid = m[1] ?? m[2];
      const tid = pid === undefined ? 1 : exactField(pid, 10, file, line, "pid");
      let body = text.slice(m[0].length).trim();
      if (body === "" || body.startsWith("+++") || body.startsWith("---") || body.startsWith("@villoc")) return;
      const resumed = body.charCodeAt(0) === 60 /* < */ ? RESUMED.exec(body) : null;
      if (resumed) {
        const start = pending.get(tid);
        if (!start) {
          if (ALLOCATOR.has(resumed[1])) throw new ParseError(file, line, "call", `'${resumed[1]} resumed' without its unfinished start`);
          return;
        }
        pending.delete(tid);
        body = start.text + resumed[2];
        line = start.line;
      }
      const c = CALL.exec(body);
      if (!c) return;
      if (!ALLOCATOR.has(c[1])) return;
      // "<no return ...>" is followed by "<... resumed>" when the call does return after all (another thread
      // hit a breakpoint meanwhile); only a call never resumed is dropped.
      if (body.charCodeAt(body.length - 1) === 62 /* > */ && (UNFINISHED.test(body) || NO_RETURN.test(body))) {
        pending.set(tid, { text: body.replace(UNFINISHED, "").replace(NO_RETURN, ""), line });
        return;
      }
      call(c[1], c[2], line, tid, sink);
    },
    end() {
      if (unresolved) loss.notes.push(`${unresolved} posix_memalign calls skipped: ltrace does not show their result`);
      if (pending.size) loss.notes.push(`${pending.size} calls that never returned skipped`);
      loss.linesSkipped += unresolved + pending.size;
    },
  };
  return parser;
};
