// The models' invariant checkers seen from JS: every violation of the heap's invariants, by name.

import type { Model } from "./model.js";

/** One broken invariant of a model's heap. */
export interface Violation {
  /** The checker's code for the invariant (stable within a model). */
  code: number;
  /** What is broken, in words. */
  message: string;
  /** The chunk, span or page concerned (0 when none). */
  address: number;
}

const SLOTS = 2;
const buffers = new WeakMap<Model, { ptr: number; capacity: number }>();

/** True when the model was built with its checker. */
export function hasChecker(model: Model): boolean {
  return typeof model.wasm.check === "function";
}

/** Runs the model's checker now; an empty list means every invariant holds. */
export function checkModel(model: Model): Violation[] {
  if (!hasChecker(model)) throw new Error(`the ${model.name} model has no checker (export check from its index.ts)`);
  const wasm = model.wasm as typeof model.wasm & {
    check(buffer: number, capacity: number): number;
    checkMessage(code: number): number;
  };
  let buffer = buffers.get(model);
  for (;;) {
    if (!buffer) {
      buffer = { capacity: 256, ptr: 0 };
      buffer.ptr = model.buffer(buffer.capacity * SLOTS * 8);
      buffers.set(model, buffer);
    }
    const n = wasm.check(buffer.ptr, buffer.capacity);
    if (n <= buffer.capacity) {
      const records = new Float64Array(wasm.memory.buffer, buffer.ptr, n * SLOTS);
      const out: Violation[] = [];
      for (let i = 0; i < n; i++) {
        const code = records[i * SLOTS];
        out.push({ code, message: wasm.__getString(wasm.checkMessage(code)), address: records[i * SLOTS + 1] });
      }
      return out;
    }
    buffer = { capacity: n + (n >> 1), ptr: 0 };
    buffer.ptr = model.buffer(buffer.capacity * SLOTS * 8);
    buffers.set(model, buffer);
  }
}

/** Makes the model's replay check the heap after every `n` operations (0 = never); a violation stops it. */
export function setCheckEvery(model: Model, n: number): void {
  if (!hasChecker(model)) throw new Error(`the ${model.name} model has no checker (export check from its index.ts)`);
  (model.wasm as unknown as { setCheckEvery(n: number): void }).setCheckEvery(n);
}
