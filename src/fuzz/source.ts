// Plain trace operations as a streamed TraceSource, and as alloc-trace v1 text (for counterexamples), written by
// the library's own alloc-trace writer.

import { BATCH_CAPACITY, type TraceOp, type TraceSource, emptyLoss, newBatch, pushOp } from "../trace/types.js";
import { allocTraceHeaderLine, allocTraceLine } from "../trace/write.js";

export interface SourceOptions {
  /** Display name (default "<fuzz>"). */
  name?: string;
  /** The main thread's id, the header's pid (default: the first op's tid). */
  pid?: number;
  /** Operations per batch (default BATCH_CAPACITY); 1 lets an observer see every operation's result. */
  batchSize?: number;
}

/** A TraceSource over `ops`; each op's `line` is set to its 1-based position when it has none. */
export function traceSource(ops: readonly TraceOp[], options: SourceOptions = {}): TraceSource {
  const batchSize = Math.max(1, Math.min(options.batchSize ?? BATCH_CAPACITY, BATCH_CAPACITY));
  const pid = options.pid ?? ops[0]?.tid;
  return {
    name: options.name ?? "<fuzz>",
    header: { format: "alloc-trace", pid },
    loss: emptyLoss(),
    async *batches() {
      for (let from = 0; from < ops.length; from += batchSize) {
        const batch = newBatch(Math.min(batchSize, ops.length - from));
        for (let i = from; i < Math.min(from + batchSize, ops.length); i++) {
          const op = ops[i];
          pushOp(batch, op.line ? op : { ...op, line: i + 2 });
        }
        yield batch;
      }
    },
  };
}

/** The alloc-trace v1 text of `ops`: a header line, then one line per op (so op i sits on line i + 2). */
export function formatAllocTrace(ops: readonly TraceOp[], options: { pid?: number; exe?: string } = {}): string {
  const batch = newBatch(Math.max(1, ops.length));
  ops.forEach((op, i) => pushOp(batch, { ...op, seq: i + 1 }));
  const pid = options.pid ?? ops[0]?.tid ?? 1;
  const lines = [allocTraceHeaderLine({ format: "alloc-trace", pid, ppid: 1, exe: options.exe ?? "heaplab-fuzz" }, pid)];
  for (let i = 0; i < batch.length; i++) lines.push(allocTraceLine(batch, i));
  return lines.join("\n") + "\n";
}
