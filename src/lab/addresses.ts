// The `--addresses` lines: `<seq> <op> <size> <where>`, one per op that returns a pointer, in exactly the form
// the native replayers of test/oracle print, so that a model and the real allocator can be diffed line by line.
//
//   where = heap+0x…            offset from the heap start (the model's heapBase())
//         | mmap+0x… / mmap-0x… offset from the first mmapped chunk's user address in this output
//         | main+0x… / main-0x… the main arena outside the brk heap (mapped when the break could not move):
//                               offset from the first such block in this output
//         | arena<k>+0x…        k = 1, 2, … by first appearance in this output; offset from that arena's first heap
//         | null
// A malloc_trim op prints `<seq> t <pad> <0|1>`.

import { openTrace } from "../trace/detect.js";
import type { ByteSource } from "../trace/input.js";
import { LETTER_OF_CODE, OpCode, type TraceBatch, type TraceSource, exactRequestedBytes, sizeAt } from "../trace/types.js";
import { createLab, type Lab } from "./lab.js";
import { FIELD_ROOM, LineBytes, putDecimal, putHex } from "./line-bytes.js";
import {
  type Model, REGION_ARENA, REGION_HEAP, REGION_MAIN_MAPPED, REGION_MMAP, REGION_SKIPPED, RESULT_SLOTS,
} from "./model.js";
import type { BatchObserver } from "./replay.js";
import type { LabOptions } from "./types.js";

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const PLUS_HEX = ascii("+0x");
const MINUS_HEX = ascii("-0x");
const HEAP = ascii("heap");
const MMAP = ascii("mmap");
const MAIN = ascii("main");
const ARENA = ascii("arena");
const REGION = ascii("region");
const NULL = ascii("null");
const TRIM = ascii(" t ");

function writeOffset(out: LineBytes, delta: number): void {
  if (delta < 0) {
    out.bytes(MINUS_HEX);
    out.hex(-delta);
  } else {
    out.bytes(PLUS_HEX);
    out.hex(delta);
  }
}

/** Copies `piece` to `buffer[at]`; returns the index after it. */
function put(buffer: Uint8Array, at: number, piece: Uint8Array): number {
  for (let k = 0; k < piece.length; k++) buffer[at++] = piece[k];
  return at;
}

/** Room for a line of the fast path: three numbers, an offset and the words between them. */
const LINE_ROOM = 4 * FIELD_ROOM + 16;

const decoder = new TextDecoder();
const LETTER_BYTES = LETTER_OF_CODE.map((letter) => letter.charCodeAt(0));

/** Formats results into address lines; keeps the numbering of mmaps and arenas across batches. */
export class AddressFormatter {
  private firstMmap: number | undefined;
  private firstMainMapped: number | undefined;
  private readonly arenaNumbers = new Map<number, number>();
  private readonly model: Model;
  /** Where `lines()` writes before decoding. */
  private readonly text = new LineBytes(1 << 16);

  constructor(model: Model) {
    this.model = model;
  }

  /** The `where` field of a line: heap+0x…, mmap±0x…, main±0x…, arena<k>+0x… or null. */
  private writeWhere(out: LineBytes, address: number, region: number, heapBase: number): void {
    if (address === 0) {
      out.bytes(NULL);
    } else if (region === REGION_HEAP) {
      out.bytes(HEAP);
      writeOffset(out, address - heapBase);
    } else if (region === REGION_MMAP) {
      if (this.firstMmap === undefined) this.firstMmap = address;
      out.bytes(MMAP);
      writeOffset(out, address - this.firstMmap);
    } else if (region === REGION_MAIN_MAPPED) {
      if (this.firstMainMapped === undefined) this.firstMainMapped = address;
      out.bytes(MAIN);
      writeOffset(out, address - this.firstMainMapped);
    } else if (region >= REGION_ARENA) {
      const k = region - REGION_ARENA;
      let shown = this.arenaNumbers.get(k);
      if (shown === undefined) {
        shown = this.arenaNumbers.size + 1;
        this.arenaNumbers.set(k, shown);
      }
      out.bytes(ARENA);
      out.decimal(shown);
      writeOffset(out, address - this.model.wasm.arenaBase(k));
    } else {
      out.bytes(REGION);
      out.decimal(region);
      out.bytes(PLUS_HEX);
      out.hex(address);
    }
  }

  /** The lines for ops [from, to) of `batch` (results: 2 slots per op, op `from` first). */
  lines(batch: TraceBatch, from: number, to: number, results: Float64Array): string[] {
    this.writeLines(batch, from, to, results, this.text);
    const text = decoder.decode(this.text.take());
    return text ? text.slice(0, -1).split("\n") : [];
  }

  /** Writes the lines for ops [from, to) of `batch` into `out`. */
  writeLines(batch: TraceBatch, from: number, to: number, results: Float64Array, out: LineBytes): void {
    const heapBase = this.model.wasm.heapBase();
    const { code: codes, seq } = batch;
    for (let i = from; i < to; i++) {
      const code = codes[i];
      if (code === OpCode.free) continue;
      const r = (i - from) * RESULT_SLOTS;
      if (results[r + 1] === REGION_SKIPPED) continue;
      if (code === OpCode.trim) {
        out.decimal(seq[i]);
        out.bytes(TRIM);
        out.decimal(sizeAt(batch, i, "a"));
        out.byte(32);
        out.decimal(results[r]);
        out.byte(10);
        continue;
      }
      const size = exactRequestedBytes(batch, i);
      const address = results[r];
      const region = results[r + 1];
      if (address === 0 || region === REGION_HEAP || region === REGION_MMAP) {
        // The lines of nearly every op: written at a position kept in a local, with the room for them made once.
        if (region === REGION_MMAP && address !== 0) this.firstMmap ??= address;
        const origin = region === REGION_HEAP ? heapBase : this.firstMmap!;
        if (typeof size === "number" && Number.isSafeInteger(size) && size >= 0 && Number.isSafeInteger(seq[i]) && seq[i] >= 0) {
          out.reserve(LINE_ROOM);
          const buffer = out.buffer;
          let at = putDecimal(buffer, out.length, seq[i]);
          buffer[at++] = 32;
          buffer[at++] = LETTER_BYTES[code];
          buffer[at++] = 32;
          at = putDecimal(buffer, at, size);
          buffer[at++] = 32;
          if (address === 0) {
            at = put(buffer, at, NULL);
          } else {
            at = put(buffer, at, region === REGION_HEAP ? HEAP : MMAP);
            const delta = address - origin;
            at = put(buffer, at, delta < 0 ? MINUS_HEX : PLUS_HEX);
            at = putHex(buffer, at, Math.abs(delta));
          }
          buffer[at++] = 10;
          out.length = at;
          continue;
        }
      }
      out.decimal(seq[i]);
      out.byte(32);
      out.byte(LETTER_BYTES[code]);
      out.byte(32);
      out.decimal(size);
      out.byte(32);
      this.writeWhere(out, address, region, heapBase);
      out.byte(10);
    }
  }

  /** A batch observer that hands each batch's lines to `sink` (awaited when it returns a promise). */
  observer(sink: (lines: string[]) => void | Promise<void>): BatchObserver {
    return (batch, from, to, results) => sink(this.lines(batch, from, to, results));
  }
}

export interface AddressOptions extends LabOptions {
  threads?: "merge" | "arena";
  strict?: boolean;
  lenient?: boolean;
}

/** Replays a trace and returns its address lines (see the top of this file). */
export async function addressLines(
  source: ByteSource | TraceSource, options: AddressOptions = {},
): Promise<string[]> {
  const lab: Lab = await createLab({ metrics: false, ...options });
  const formatter = new AddressFormatter(lab.handle);
  const lines: string[] = [];
  const trace = typeof source === "object" && "batches" in source ? source : await openTrace(source as ByteSource);
  await lab.replay(trace, { ...options, observe: formatter.observer((l) => { for (const x of l) lines.push(x); }) });
  return lines;
}
