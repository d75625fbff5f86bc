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
import { LineBytes } from "./line-bytes.js";
import {
  BATCH_OPS, LINE_ROOM, type Model, REGION_ARENA, REGION_HEAP, REGION_MAIN_MAPPED, REGION_MMAP, REGION_SKIPPED, RESULT_SLOTS,
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

function writeOffset(out: LineBytes, delta: number): void {
  if (delta < 0) {
    out.bytes(MINUS_HEX);
    out.hex(-delta);
  } else {
    out.bytes(PLUS_HEX);
    out.hex(delta);
  }
}

const decoder = new TextDecoder();
const LETTER_BYTES = LETTER_OF_CODE.map((letter) => letter.charCodeAt(0));
/** linesOrigin's origins. */
const MMAP_ORIGIN = 0;
const MAIN_ORIGIN = 1;

/**
 * Formats results into address lines; keeps the numbering of mmaps and arenas across batches. The model's instance
 * writes the lines of a replayed window (assembly/common/address-lines.ts) and leaves the rare others to
 * `writeLine`: numbers beyond 2^53, an arena's first line, a region tag no model names.
 */
export class AddressFormatter {
  private readonly arenaNumbers = new Map<number, number>();
  private readonly model: Model;
  /** Where `lines()` writes before decoding. */
  private readonly text = new LineBytes(1 << 16);
  /** Linear address of the buffer the instance writes lines into; 0 until the first window. */
  private outPtr = 0;

  constructor(model: Model) {
    this.model = model;
    model.wasm.linesReset();
  }

  /** The `where` field of a line: heap+0x…, mmap±0x…, main±0x…, arena<k>+0x… or null. */
  private writeWhere(out: LineBytes, address: number, region: number, heapBase: number): void {
    const wasm = this.model.wasm;
    if (address === 0) {
      out.bytes(NULL);
    } else if (region === REGION_HEAP) {
      out.bytes(HEAP);
      writeOffset(out, address - heapBase);
    } else if (region === REGION_MMAP || region === REGION_MAIN_MAPPED) {
      const which = region === REGION_MMAP ? MMAP_ORIGIN : MAIN_ORIGIN;
      if (!wasm.linesOrigin(which)) wasm.setLinesOrigin(which, address);
      out.bytes(region === REGION_MMAP ? MMAP : MAIN);
      writeOffset(out, address - wasm.linesOrigin(which));
    } else if (region >= REGION_ARENA) {
      const k = region - REGION_ARENA;
      let shown = this.arenaNumbers.get(k);
      if (shown === undefined) {
        shown = this.arenaNumbers.size + 1;
        this.arenaNumbers.set(k, shown);
        wasm.linesArena(k, shown, wasm.arenaBase(k));
      }
      out.bytes(ARENA);
      out.decimal(shown);
      writeOffset(out, address - wasm.arenaBase(k));
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

  /**
   * Writes the lines for ops [from, to) of `batch` into `out`: the window the model replayed last, as a batch
   * observer sees it (its trace columns are still in the model's instance).
   */
  writeLines(batch: TraceBatch, from: number, to: number, results: Float64Array, out: LineBytes): void {
    const wasm = this.model.wasm;
    const heapBase = wasm.heapBase();
    this.outPtr ||= this.model.buffer(BATCH_OPS * LINE_ROOM);
    const count = to - from;
    for (let k = 0; k < count;) {
      const stop = wasm.formatLines(k, count, heapBase, this.model.resultsPtr, this.outPtr);
      const written = wasm.linesWritten();
      out.reserve(written);
      out.buffer.set(new Uint8Array(wasm.memory.buffer, this.outPtr, written), out.length);
      out.length += written;
      if (stop >= count) break;
      this.writeLine(batch, from + stop, results, stop * RESULT_SLOTS, out, heapBase);
      k = stop + 1;
    }
  }

  /** Writes the line of op `i` of `batch`, its results at `results[r]`. */
  private writeLine(batch: TraceBatch, i: number, results: Float64Array, r: number, out: LineBytes, heapBase: number): void {
    const code = batch.code[i];
    if (code === OpCode.free || results[r + 1] === REGION_SKIPPED) return;
    out.decimal(batch.seq[i]);
    out.byte(32);
    out.byte(LETTER_BYTES[code]);
    out.byte(32);
    if (code === OpCode.trim) {
      out.decimal(sizeAt(batch, i, "a"));
      out.byte(32);
      out.decimal(results[r]);
    } else {
      out.decimal(exactRequestedBytes(batch, i));
      out.byte(32);
      this.writeWhere(out, results[r], results[r + 1], heapBase);
    }
    out.byte(10);
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
