// The alloc-trace reader's worker thread (Node only): reads, gunzips and parses a trace file, and posts each batch
// to the thread that replays it, its columns transferred rather than copied. At most WINDOW batches are in flight
// without the consumer's acknowledgement, so a fast reader never buffers a long trace ahead of a slow replay.
//
//   worker ──{ batch, header, loss }──▶ consumer      (batch columns transferred)
//   worker ◀──────────── ack ───────── consumer      (one per batch taken)
//   worker ──{ done | error, header, loss }──▶ consumer

import { parentPort, workerData } from "node:worker_threads";
import { readAllocTrace } from "./alloc-trace.js";
import { ParseError, type TraceBatch } from "./types.js";

export interface ParseJob {
  path: string;
  lenient: boolean;
  window: number;
}

const job = workerData as ParseJob;
const port = parentPort!;
let credit = job.window;
let wake: (() => void) | undefined;
port.on("message", () => {
  credit++;
  wake?.();
  wake = undefined;
});

function columns(batch: TraceBatch): ArrayBuffer[] {
  return [batch.seq, batch.tid, batch.code, batch.ptr, batch.a, batch.b, batch.res, batch.line]
    .map((column) => column.buffer as ArrayBuffer);
}

async function run(): Promise<void> {
  const source = readAllocTrace(job.path, { lenient: job.lenient, worker: false });
  try {
    for await (const batch of source.batches()) {
      while (credit === 0) await new Promise<void>((resolve) => { wake = resolve; });
      credit--;
      port.postMessage({ batch, header: source.header, loss: source.loss }, columns(batch));
    }
    port.postMessage({ done: true, header: source.header, loss: source.loss });
  } catch (e) {
    const error = e instanceof ParseError
      ? { parse: [e.file, e.line, e.field, e.reason] }
      : { message: (e as Error).message ?? String(e) };
    port.postMessage({ error, header: source.header, loss: source.loss });
  }
  port.close();
}

void run();
