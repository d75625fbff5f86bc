// The models' invariant checkers seen from JS: every violation of the heap's invariants, by name.

import type { Model } from "./model.js";
import { hasCapability, readRecords } from "../wasm/abi.js";

/** One broken invariant of a model's heap. */
export interface Violation {
  /** The checker's code for the invariant (stable within a model). */
  code: number;
  /** What is broken, in words. */
  message: string;
  /** The chunk, span or page concerned (0 when none). */
  address: number;
}

/** Fields of the checker's records. */
const FIELDS = ["code", "address"];

/** True when the model was built with its checker. */
export function hasChecker(model: Model): boolean {
  return hasCapability(model.wasm, "checker");
}

/** The model's checker exports; an error when it has none. */
function checker(model: Model) {
  const wasm = model.wasm;
  if (!hasCapability(wasm, "checker")) {
    throw new Error(`the ${model.name} model has no checker (export check from its index.ts)`);
  }
  return wasm;
}

/** Runs the model's checker now; an empty list means every invariant holds. */
export function checkModel(model: Model): Violation[] {
  const wasm = checker(model);
  const records = readRecords(wasm, "check", FIELDS, (bytes) => model.buffer(bytes));
  const out: Violation[] = [];
  for (let i = 0; i < records.count; i++) {
    const code = records.get(i, "code");
    out.push({ code, message: wasm.__getString(wasm.checkMessage(code)), address: records.get(i, "address") });
  }
  return out;
}

/** Makes the model's replay check the heap after every `n` operations (0 = never); a violation stops it. */
export function setCheckEvery(model: Model, n: number): void {
  checker(model).setCheckEvery(n);
}
