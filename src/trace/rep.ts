// CS:APP malloclab traces (`.rep`): a four-number header, then one request per line.
//
//   2002 handout:  <sugg_heapsize> <num_ids> <num_ops> <weight>
//   2016+ driver:  <weight 0-3>    <num_ids> <num_ops> <max_alloc | ignore_ranges>
//   a <id> <bytes>     ptr[id] = malloc(bytes)
//   r <id> <bytes>     ptr[id] = realloc(ptr[id], bytes)
//   f <id>             free(ptr[id])           (id -1: free(NULL), Autolab driver)
//
// Ids become synthetic addresses, SYNTHETIC_BASE + 16·(id + 1): distinct while live, so the lab's address → object
// map sees exactly the trace's objects. seq is the 0-based request index, as the malloclab driver counts.

import { type ImportOptions, type LineParser, type ParserFactory, textTrace } from "./importer.js";
import type { ByteSource } from "./input.js";
import { OpCode, ParseError, type TraceSource } from "./types.js";
import { exactField, sizeField } from "./values.js";

/** Where synthetic addresses start (any nonzero base works; this one reads well in hex). */
export const SYNTHETIC_BASE = 0x10000000;

/** The synthetic address of id `id`. */
export function addressOfId(id: number): number {
  return SYNTHETIC_BASE + 16 * (id + 1);
}

/** Opens a malloclab `.rep` trace as a streamed trace (one thread, tid 1). */
export function readRep(source: ByteSource, options: ImportOptions = {}): TraceSource {
  return textTrace(source, "rep", repParser, options);
}

const TID = 1;

const repParser: ParserFactory = (file, header, loss) => {
  const numbers: number[] = [];
  let numIds = 0;
  let numOps = 0;
  let ops = 0;
  let live: Uint8Array = new Uint8Array(0);

  const decimal = (text: string | undefined, line: number, name: string): number => {
    if (text === undefined) throw new ParseError(file, line, name, "missing");
    if (!/^-?[0-9]+$/.test(text)) throw new ParseError(file, line, name, `not a decimal number: '${text.slice(0, 40)}'`);
    if (text.startsWith("-")) return -sizeField(text.slice(1), 10, file, line, name);
    return name === "bytes" ? sizeField(text, 10, file, line, name) : exactField(text, 10, file, line, name);
  };

  const startBody = (line: number): void => {
    const [first, ids, count, fourth] = numbers;
    numIds = ids;
    numOps = count;
    if (numIds > 1 << 28) throw new ParseError(file, line, "num_ids", `implausibly many ids (${numIds})`);
    live = new Uint8Array(numIds + 1);
    header.variant = first <= 3 && fourth !== 0 && fourth !== 1 ? "2016" : first <= 3 && fourth <= 1 ? "2015" : "2002";
    if (header.variant === "2002") loss.notes.push(`2002 header: suggested heap size ${first}, weight ${fourth}`);
    else loss.notes.push(`${header.variant} header: weight ${first}, ${header.variant === "2016" ? "max_alloc" : "ignore_ranges"} ${fourth}`);
  };

  const parser: LineParser = {
    line(text, line, sink) {
      const trimmed = text.trim();
      if (trimmed === "" || trimmed.startsWith("#")) return;
      if (numbers.length < 4) {
        const n = decimal(trimmed, line, ["header (sugg_heapsize or weight)", "num_ids", "num_ops", "header (weight or max_alloc)"][numbers.length]);
        if (n < 0) throw new ParseError(file, line, "header", "negative header value");
        numbers.push(n);
        if (numbers.length === 4) startBody(line);
        return;
      }
      const tokens = trimmed.split(/\s+/);
      const kind = tokens[0];
      if (kind !== "a" && kind !== "r" && kind !== "f") {
        throw new ParseError(file, line, "op", `unknown request '${kind.slice(0, 20)}' (expected a, r or f)`);
      }
      const id = decimal(tokens[1], line, "id");
      if (id < -1 || id >= numIds || (id === -1 && kind !== "f")) {
        throw new ParseError(file, line, "id", `id ${id} outside 0..${numIds - 1} (num_ids in the header)`);
      }
      if (tokens.length !== (kind === "f" ? 2 : 3)) {
        throw new ParseError(file, line, "line", `'${kind}' takes ${kind === "f" ? 1 : 2} argument(s)`);
      }
      if (ops >= numOps) throw new ParseError(file, line, "num_ops", `more requests than the header's ${numOps}`);
      const seq = ops++;
      if (kind === "f") {
        const ptr = id === -1 ? 0 : addressOfId(id);
        if (id >= 0 && !live[id]) loss.unknownFrees++;
        if (id >= 0) live[id] = 0;
        sink.push(seq, TID, OpCode.free, ptr, 0, 0, 0, line);
        return;
      }
      const bytes = decimal(tokens[2], line, "bytes");
      if (bytes < 0) throw new ParseError(file, line, "bytes", "negative size");
      const address = addressOfId(id);
      if (kind === "a") {
        if (live[id]) loss.pointerReuseResolved++;
        live[id] = 1;
        sink.push(seq, TID, OpCode.malloc, 0, bytes, 0, address, line);
        sink.exact(tokens[2]);
      } else {
        const old = live[id] ? address : 0;
        live[id] = 1;
        sink.push(seq, TID, OpCode.realloc, old, bytes, 0, address, line);
        sink.exact(tokens[2]);
      }
    },
    end(line) {
      if (numbers.length < 4) throw new ParseError(file, line, "header", `only ${numbers.length} of the 4 header numbers`);
      if (ops !== numOps) throw new ParseError(file, line, "num_ops", `header says ${numOps} requests, the file has ${ops}`);
    },
  };
  return parser;
};
