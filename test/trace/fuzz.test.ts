// Parsers under hostile input: random bytes and mutated real lines give a typed ParseError (strict) or skipped,
// counted lines (lenient), never another exception and never a hang.

import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { INPUT_FORMATS, type InputFormat, openAs, openTrace } from "../../src/trace/detect.js";
import { ParseError } from "../../src/trace/types.js";
import { encodeToBytes } from "../../src/trace/write.js";
import { readAllocTrace } from "../../src/trace/alloc-trace.js";
import { sharedTraceFiles } from "./helpers.js";

const encoder = new TextEncoder();

/** Reads a whole source; returns the error it threw, or null. */
async function drain(bytes: Uint8Array, format: InputFormat | undefined, lenient = false): Promise<unknown> {
  try {
    const source = format ? openAs(bytes, format, { lenient }) : await openTrace(bytes, { lenient });
    for await (const batch of source.batches()) void batch;
    return null;
  } catch (e) {
    return e;
  }
}

/** Real lines of every format to mutate. */
const SEEDS: Record<Exclude<InputFormat, "binary">, string[]> = {
  "alloc-trace": [
    "# alloc-trace v1 pid=7 ppid=1 exe=x", "1 7 m 24 0x55555555a2a0", "2 7 c 3 5 0x55555555a2c0",
    "3 7 r 0x55555555a2a0 100 0x55555555a300", "4 7 f 0x55555555a2c0", "5 7 a 64 100 0x55555555a400",
    "6 7 P 32 8 0x0", "7 7 t 0 1", "8 7 V 10 0x55555555b000",
  ],
  mtrace: [
    "= Start", "@ ./prog:(main+0x1c)[0x4005d6] + 0x55555555a2a0 0x40", "@ [0x7ffff7e4a1b0] - 0x55555555a2a0",
    "< 0x55555555a2f0", "> 0x55555555a340 0x100", "! 0x55555555a340 0xff", "+ (nil) 0x10", "= End",
  ],
  rep: ["20000", "3", "6", "1", "a 0 512", "a 1 128", "r 0 640", "f 1", "a 2 16", "f 0"],
  android: ["186: malloc 0xb6038060 20", "186: calloc 0xb48c1100 32 8", "200: realloc 0x85423700 0xb6038060 40", "186: free 0xb48c1100", "200: thread_done 0x0"],
  heaptrack: ["v 10500 3", "x 9 /bin/prog", "+ 40 1 55555555a2a0", "- 55555555a2a0", "a 20 1", "+ 0", "- 0"],
  ltrace: ["1234 malloc(24) = 0x55555555a2a0", "1235 malloc(4096 <unfinished ...>", "1235 <... malloc resumed> ) = 0x55555555b000", "free(0x55555555a2a0) = <void>"],
};

const mutation = fc.record({
  line: fc.nat(),
  at: fc.nat(),
  kind: fc.integer({ min: 0, max: 5 }),
  char: fc.constantFrom(" ", "x", "0", "9", "-", "#", "(", ")", "\t", "\r", "0x", "ff", "é", "\u0000", ":", "<", "="),
});

function mutate(lines: string[], mutations: { line: number; at: number; kind: number; char: string }[]): string {
  const out = [...lines];
  for (const m of mutations) {
    const i = m.line % out.length;
    const l = out[i];
    const at = l.length ? m.at % l.length : 0;
    switch (m.kind) {
      case 0: out[i] = l.slice(0, at) + m.char + l.slice(at + 1); break;
      case 1: out[i] = l.slice(0, at) + l.slice(at + 1); break;
      case 2: out[i] = l.slice(0, at) + m.char + l.slice(at); break;
      case 3: out.splice(i, 1); if (!out.length) out.push(l); break;
      case 4: out.splice(i, 0, l); break;
      default: out[i] = l.slice(0, at); break;
    }
  }
  return out.join("\n");
}

/** `text` in chunks cut at the offsets `at`. */
async function* cutAt(text: Uint8Array, at: number[]): AsyncIterable<Uint8Array> {
  let from = 0;
  for (const to of [...new Set(at)].sort((x, y) => x - y).concat(text.length)) {
    yield text.slice(from, to);
    from = to;
  }
}

/** An alloc-trace's ops as rows (all columns and the line), or the message of the error that stopped it. */
async function readRows(source: Uint8Array | AsyncIterable<Uint8Array>): Promise<number[][] | string> {
  try {
    const rows: number[][] = [];
    for await (const b of readAllocTrace(source).batches()) {
      for (let i = 0; i < b.length; i++) {
        rows.push([b.seq[i], b.tid[i], b.code[i], b.ptr[i], b.a[i], b.b[i], b.res[i], b.line[i], b.site?.[i] ?? 0]);
      }
    }
    return rows;
  } catch (e) {
    return (e as Error).message;
  }
}

/** HEAPLAB_LONG=1 runs ten times as many cases. */
const RUNS = process.env.HEAPLAB_LONG === "1" ? 10 : 1;

/** A ParseError, or the one-line error of a corrupt gzip stream (random bytes may start with its magic). */
function expectOnlyParseErrors(error: unknown, context: string): void {
  if (error === null) return;
  const gzip = error instanceof Error && /: corrupt or truncated gzip data \(/.test(error.message);
  if (!(error instanceof ParseError) && !gzip) throw new Error(`${context}: ${String((error as Error)?.stack ?? error)}`);
  expect((error as Error).message.includes("\n")).toBe(false);
}

describe("fuzzing the parsers", () => {
  for (const format of INPUT_FORMATS) {
    it(`${format}: random bytes give a ParseError or parse`, async () => {
      await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (bytes) => {
        expectOnlyParseErrors(await drain(bytes, format), format);
      }), { numRuns: 60 * RUNS });
    });
  }

  for (const [format, lines] of Object.entries(SEEDS) as [Exclude<InputFormat, "binary">, string[]][]) {
    it(`${format}: mutated real lines give a ParseError naming a line, and parse when lenient`, async () => {
      await fc.assert(fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 6 }), async (mutations) => {
        const text = encoder.encode(mutate(lines, mutations));
        const strict = await drain(text, format);
        expectOnlyParseErrors(strict, format);
        const lenient = await drain(text, format, true);
        if (lenient !== null) {
          // Only a file with no records at all can still fail when lenient.
          expect((lenient as ParseError).field).toMatch(/file|header|num_ops/);
        }
        expectOnlyParseErrors(await drain(text, undefined), `${format} (detected)`);
      }), { numRuns: 40 * RUNS });
    });
  }

  it("alloc-trace: the same ops and the same error wherever the input is cut into chunks", async () => {
    // A cut before every newline leaves no whole line in a chunk: every line then goes the line-by-line way, the
    // reference for the one-pass scanner that whole lines inside a chunk take.
    const varied = [...SEEDS["alloc-trace"], "9 7 m 5 0x10 site=3", "10 7 f 0x10\r", "", "# note", "11 7 m 7 0x20 "];
    await fc.assert(fc.asyncProperty(
      fc.array(mutation, { maxLength: 2 }), fc.array(fc.nat(), { maxLength: 6 }), async (mutations, cuts) => {
        const text = encoder.encode(mutate(varied, mutations));
        const newlines = [...text.keys()].filter((i) => text[i] === 10);
        const reference = await readRows(cutAt(text, newlines));
        expect(await readRows(text)).toEqual(reference);
        expect(await readRows(cutAt(text, cuts.map((c) => c % (text.length + 1))))).toEqual(reference);
      },
    ), { numRuns: 60 * RUNS });
  });

  it.skipIf(sharedTraceFiles().length === 0)("binary: flipped and truncated bytes of a real trace give a ParseError", async () => {
    const path = sharedTraceFiles().find((p) => p.includes("sort-S1M"))!;
    const binary = await encodeToBytes(readAllocTrace(gunzipSync(readFileSync(path))), "binary");
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }), fc.nat(),
      async (flips, cut) => {
        const copy = binary.slice(0, binary.length - (cut % 64 === 0 ? cut % binary.length : 0));
        for (const f of flips) if (copy.length) copy[f.at % copy.length] = f.value;
        expectOnlyParseErrors(await drain(copy, "binary"), "binary");
      },
    ), { numRuns: 300 * RUNS });
  });
});
