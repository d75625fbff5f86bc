// The `--addresses` lines: `<seq> <op> <size> <where>`, one per op that returns a pointer, in exactly the form
// the native replayers of test/oracle print, so that a model and the real allocator can be diffed line by line.
//
//   where = heap+0x…            offset from the heap start (the model's heapBase())
//         | mmap+0x… / mmap-0x… offset from the first mmapped chunk's user address in this output
//         | arena<k>+0x…        k = 1, 2, … by first appearance in this output; offset from that arena's first heap
//         | null
// A malloc_trim op prints `<seq> t <pad> <0|1>`.

import { readAllocTrace } from "../trace/alloc-trace.js";
import type { ByteSource } from "../trace/input.js";
import { LETTER_OF_CODE, OpCode, type TraceBatch, type TraceSource, requestedBytes } from "../trace/types.js";
import { createLab, type Lab } from "./lab.js";
import { LineBytes } from "./line-bytes.js";
import { type Model, REGION_ARENA, REGION_HEAP, REGION_MMAP, REGION_SKIPPED, RESULT_SLOTS } from "./model.js";
import type { BatchObserver } from "./replay.js";
import type { LabOptions } from "./types.js";

function offset(delta: number): string {
  return delta < 0 ? `-0x${(-delta).toString(16)}` : `+0x${delta.toString(16)}`;
}

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const PLUS_HEX = ascii("+0x");
const MINUS_HEX = ascii("-0x");
const HEAP = ascii("heap");
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

const LETTER_BYTES = LETTER_OF_CODE.map((letter) => letter.charCodeAt(0));

/** Formats results into address lines; keeps the numbering of mmaps and arenas across batches. */
export class AddressFormatter {
  private firstMmap: number | undefined;
  private readonly arenaNumbers = new Map<number, number>();
  private readonly model: Model;

  constructor(model: Model) {
    this.model = model;
  }

  where(address: number, region: number): string {
    if (address === 0) return "null";
    if (region === REGION_HEAP) return `heap${offset(address - this.model.wasm.heapBase())}`;
    if (region === REGION_MMAP) {
      if (this.firstMmap === undefined) this.firstMmap = address;
      return `mmap${offset(address - this.firstMmap)}`;
    }
    if (region >= REGION_ARENA) {
      const k = region - REGION_ARENA;
      let shown = this.arenaNumbers.get(k);
      if (shown === undefined) {
        shown = this.arenaNumbers.size + 1;
        this.arenaNumbers.set(k, shown);
      }
      return `arena${shown}${offset(address - this.model.wasm.arenaBase(k))}`;
    }
    return `region${region}+0x${address.toString(16)}`;
  }

  /** The lines for ops [from, to) of `batch` (results: 2 slots per op, op `from` first). */
  lines(batch: TraceBatch, from: number, to: number, results: Float64Array): string[] {
    const out: string[] = [];
    for (let i = from; i < to; i++) {
      const code = batch.code[i];
      if (code === OpCode.free) continue;
      const r = (i - from) * RESULT_SLOTS;
      if (results[r + 1] === REGION_SKIPPED) continue;
      const letter = LETTER_OF_CODE[code];
      if (code === OpCode.trim) {
        out.push(`${batch.seq[i]} t ${batch.a[i]} ${results[r]}`);
        continue;
      }
      out.push(`${batch.seq[i]} ${letter} ${requestedBytes(batch, i)} ${this.where(results[r], results[r + 1])}`);
    }
    return out;
  }

  /** Writes the lines for ops [from, to) of `batch` into `out`, byte for byte those of `lines()`. */
  writeLines(batch: TraceBatch, from: number, to: number, results: Float64Array, out: LineBytes): void {
    const heapBase = this.model.wasm.heapBase();
    const { code: codes, seq, a } = batch;
    for (let i = from; i < to; i++) {
      const code = codes[i];
      if (code === OpCode.free) continue;
      const r = (i - from) * RESULT_SLOTS;
      if (results[r + 1] === REGION_SKIPPED) continue;
      out.decimal(seq[i]);
      if (code === OpCode.trim) {
        out.bytes(TRIM);
        out.decimal(a[i]);
        out.byte(32);
        out.decimal(results[r]);
        out.byte(10);
        continue;
      }
      out.byte(32);
      out.byte(LETTER_BYTES[code]);
      out.byte(32);
      out.decimal(requestedBytes(batch, i));
      out.byte(32);
      const address = results[r];
      const region = results[r + 1];
      if (address !== 0 && region === REGION_HEAP) {
        out.bytes(HEAP);
        writeOffset(out, address - heapBase);
      } else {
        out.ascii(this.where(address, region));
      }
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
  const trace = typeof source === "object" && "batches" in source ? source : readAllocTrace(source as ByteSource);
  await lab.replay(trace, { ...options, observe: formatter.observer((l) => { for (const x of l) lines.push(x); }) });
  return lines;
}
