// A model's span walk read off a lab: the `spans(buffer, capacity)` export, records named by `spanFields`.
//
//   ╒═════════╤═══════╤════════════╤═══════╤═══════════╤═════════╕
//   │ address │ pages │ size class │ state │ allocated │ objects │    state: 0 in use, 1 free, 2 released
//   ╘═════════╧═══════╧════════════╧═══════╧═══════════╧═════════╛

import type { Lab } from "../lab/lab.js";
import type { SpanRow } from "./types.js";
import { hasCapability, names, readRecords } from "../wasm/abi.js";

/** Whether the lab's model exports a span walk. */
export function hasSpans(lab: Lab): boolean {
  return hasCapability(lab.handle.wasm, "spans");
}

/** Every span of the lab's model in address order; empty for models without spans. */
export function spanRows(lab: Lab): SpanRow[] {
  const wasm = lab.handle.wasm;
  if (!hasCapability(wasm, "spans")) return [];
  const states = names(wasm, wasm.spanStates());
  const records = readRecords(wasm, "spans", names(wasm, wasm.spanFields()),
    (bytes) => lab.handle.buffer(bytes));
  const rows: SpanRow[] = [];
  for (let i = 0; i < records.count; i++) {
    const state = records.get(i, "state");
    rows.push({ start: records.get(i, "address"), pages: records.get(i, "pages"),
      sizeClass: records.get(i, "sizeclass"), state: states[state] ?? String(state),
      allocated: records.get(i, "allocated"), objects: records.get(i, "objects") });
  }
  return rows;
}

/** Object size of each size class, indexed by class (class 0: none); empty for models without size classes. */
export function classSizes(lab: Lab): number[] {
  const wasm = lab.handle.wasm;
  if (!hasCapability(wasm, "sizeClasses")) return [];
  return Array.from({ length: wasm.classCount() }, (_, cl) => (cl === 0 ? 0 : wasm.classSize(cl)));
}
