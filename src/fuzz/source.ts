// Plain trace operations as a streamed TraceSource, and back to alloc-trace v1 text (for counterexamples).

import { BATCH_CAPACITY, LETTER_OF_CODE, OpCode, type TraceOp, type TraceSource, emptyLoss, newBatch, pushOp }
  from "../trace/types.js";

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

const hex = (v: number) => `0x${v.toString(16)}`;

/** One alloc-trace v1 line for `op`. */
export function formatOp(op: TraceOp): string {
  const head = `${op.seq} ${op.tid} ${LETTER_OF_CODE[op.code]}`;
  switch (op.code) {
    case OpCode.free: return `${head} ${hex(op.ptr)}`;
    case OpCode.realloc: return `${head} ${hex(op.ptr)} ${op.a} ${hex(op.res)}`;
    case OpCode.trim: return `${head} ${op.a} ${op.res}`;
    case OpCode.malloc: case OpCode.valloc: case OpCode.pvalloc: return `${head} ${op.a} ${hex(op.res)}`;
    default: return `${head} ${op.a} ${op.b} ${hex(op.res)}`;
  }
}

/** The alloc-trace v1 text of `ops`: a header line, then one line per op (so op i sits on line i + 2). */
export function formatAllocTrace(ops: readonly TraceOp[], options: { pid?: number; exe?: string } = {}): string {
  const pid = options.pid ?? ops[0]?.tid ?? 1;
  const lines = [`# alloc-trace v1 pid=${pid} ppid=1 exe=${options.exe ?? "heaplab-fuzz"}`];
  ops.forEach((op, i) => lines.push(formatOp({ ...op, seq: i + 1 })));
  return lines.join("\n") + "\n";
}
