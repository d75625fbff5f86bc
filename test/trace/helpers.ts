// Small helpers for the trace tests: collecting a source's ops, and building sources from plain ops.

import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { allocTraceLine } from "../../src/trace/write.js";
import {
  type TraceBatch, type TraceComment, type TraceHeader, type TraceOp, type TraceSource, emptyLoss, newBatch, opAt,
  pushOp,
} from "../../src/trace/types.js";

export const sharedTraceDir = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../../shared/traces");

/** The shared traces (../shared/traces/*.trace.gz), or none when the folder is missing. */
export function sharedTraceFiles(): string[] {
  if (!existsSync(sharedTraceDir)) return [];
  return readdirSync(sharedTraceDir).filter((f) => f.endsWith(".trace.gz")).sort().map((f) => join(sharedTraceDir, f));
}

/** Every op of a source, as plain data. */
export async function collect(source: TraceSource): Promise<TraceOp[]> {
  const ops: TraceOp[] = [];
  for await (const b of source.batches()) for (let i = 0; i < b.length; i++) ops.push(opAt(b, i));
  return ops;
}

/** Ops as compact strings without line numbers: easy to compare and to read in a failure. */
export function show(ops: TraceOp[]): string[] {
  const batch = newBatch(Math.max(ops.length, 1));
  for (const op of ops) pushOp(batch, op);
  return ops.map((_, i) => allocTraceLine(batch, i));
}

/** A TraceSource over plain ops, in batches of `batchSize`, with optional comments before given op indexes. */
export function sourceOf(
  ops: TraceOp[], header: Partial<TraceHeader> = {}, batchSize = 1000, comments: { at: number; text: string }[] = [],
): TraceSource {
  return {
    name: "<ops>",
    header: { format: "ops", ...header },
    loss: emptyLoss(),
    batches: async function* () {
      let batch: TraceBatch = newBatch(batchSize);
      let pending = [...comments].sort((a, b) => a.at - b.at);
      let start = 0;
      const flushComments = (upTo: number): void => {
        while (pending.length && pending[0].at <= upTo) {
          const c = pending.shift()!;
          (batch.comments ??= [] as TraceComment[]).push({ before: c.at - start, text: c.text });
        }
      };
      for (let k = 0; k < ops.length; k++) {
        flushComments(k);
        pushOp(batch, ops[k]);
        if (batch.length === batchSize) {
          yield batch;
          start = k + 1;
          batch = newBatch(batchSize);
        }
      }
      flushComments(Infinity);
      pending = [];
      if (batch.length || batch.comments) yield batch;
    },
  };
}
