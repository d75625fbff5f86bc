// TCMalloc's span walk read off a lab: the model's `spans(buffer, capacity)` export, 6 f64 per span.
//
//   ╒═════════╤═══════╤════════════╤═══════╤═══════════╤═════════╕
//   │ address │ pages │ size class │ state │ allocated │ objects │    state: 0 in use, 1 free, 2 released
//   ╘═════════╧═══════╧════════════╧═══════╧═══════════╧═════════╛

import type { Lab } from "../lab/lab.js";
import type { SpanRow } from "./types.js";

const SPAN_WIDTH = 6;
const SPAN_STATES = ["in-use", "free", "released"];

type SpanExport = (buffer: number, capacity: number) => number;

/** Walk buffers per model instance (the model's stub runtime never frees, so each lab keeps one and grows it). */
const buffers = new WeakMap<object, { pointer: number; capacity: number }>();

/** Whether the lab's model exports a span walk (TCMalloc does, ptmalloc has no spans). */
export function hasSpans(lab: Lab): boolean {
  return typeof lab.handle.wasm.spans === "function";
}

/** Every span of a TCMalloc lab in address order; empty for models without spans. */
export function spanRows(lab: Lab): SpanRow[] {
  if (!hasSpans(lab)) return [];
  const wasm = lab.handle.wasm;
  const walk = wasm.spans as SpanExport;
  let buffer = buffers.get(wasm) ?? { pointer: 0, capacity: 0 };
  for (;;) {
    if (buffer.capacity === 0) {
      buffer = { pointer: lab.handle.buffer(1024 * SPAN_WIDTH * 8), capacity: 1024 };
      buffers.set(wasm, buffer);
    }
    const count = walk(buffer.pointer, buffer.capacity);
    if (count <= buffer.capacity) {
      const f = new Float64Array(wasm.memory.buffer, buffer.pointer, count * SPAN_WIDTH);
      const rows: SpanRow[] = [];
      for (let i = 0; i < count; i++) {
        const o = i * SPAN_WIDTH;
        rows.push({ start: f[o], pages: f[o + 1], sizeClass: f[o + 2], state: SPAN_STATES[f[o + 3]] ?? String(f[o + 3]),
          allocated: f[o + 4], objects: f[o + 5] });
      }
      return rows;
    }
    const capacity = count + (count >> 2);
    buffer = { pointer: lab.handle.buffer(capacity * SPAN_WIDTH * 8), capacity };
    buffers.set(wasm, buffer);
  }
}

/** Object size of each TCMalloc size class, indexed by class (class 0: none); empty for other models. */
export function classSizes(lab: Lab): number[] {
  const wasm = lab.handle.wasm;
  if (typeof wasm.classCount !== "function" || typeof wasm.classSize !== "function") return [];
  const count = (wasm.classCount as () => number)();
  return Array.from({ length: count }, (_, cl) => (cl === 0 ? 0 : (wasm.classSize as (cl: number) => number)(cl)));
}
