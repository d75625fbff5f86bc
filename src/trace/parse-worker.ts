// The alloc-trace reader's worker thread (Node only): reads, gunzips and parses a trace file, and posts each batch
// to the thread that replays it, its columns transferred rather than copied. At most WINDOW batches are in flight
// without the consumer's acknowledgement, so a fast reader never buffers a long trace ahead of a slow replay.
//
//   worker ──{ batch, header, loss, sites }──▶ consumer   (batch columns transferred; the call sites defined
//                                                   since the last message, the header's other fields whole)
//   worker ◀── { taken, returned } ── consumer        (every few batches taken, and whenever the consumer is
//                                                   about to wait; a recycling consumer sends back the columns
//                                                   of the batches it is done with)
//   worker ──{ done | error, header, loss }──▶ consumer

import { parentPort, workerData } from "node:worker_threads";
import { type WorkerAck, parse } from "./alloc-trace.js";
import { BatchPool, type CallSite, ParseError, batchOver, emptyLoss, type TraceHeader } from "./types.js";

export interface ParseJob {
  path: string;
  lenient: boolean;
  window: number;
}

const job = workerData as ParseJob;
const port = parentPort!;
const pool = new BatchPool();
let credit = job.window;
let wake: (() => void) | undefined;
port.on("message", (ack: WorkerAck) => {
  credit += ack.taken;
  for (const columns of ack.returned) pool.give(batchOver(columns));
  wake?.();
  wake = undefined;
});

/** Sites of `header` already posted; the last of them is posted again, as its `# frame` lines may have followed. */
let sitesPosted = 0;

/** The header without its call sites, and the sites defined since the last message (a trace may hold thousands). */
function headerUpdate(header: TraceHeader): { header: TraceHeader; sites?: CallSite[] } {
  const { sites, ...rest } = header;
  if (!sites || sites.size === 0) return { header: rest };
  const fresh = [...sites.values()].slice(Math.max(0, sitesPosted - 1));
  sitesPosted = sites.size;
  return { header: rest, sites: fresh };
}

async function run(): Promise<void> {
  const header: TraceHeader = { format: "alloc-trace" };
  const loss = emptyLoss();
  try {
    for await (const batch of parse(job.path, job.path, header, loss, { lenient: job.lenient }, pool)) {
      while (credit === 0) await new Promise<void>((resolve) => { wake = resolve; });
      credit--;
      port.postMessage({ batch, ...headerUpdate(header), loss }, [batch.seq.buffer as ArrayBuffer]);
    }
    port.postMessage({ done: true, ...headerUpdate(header), loss });
  } catch (e) {
    const error = e instanceof ParseError
      ? { parse: [e.file, e.line, e.field, e.reason] }
      : { message: (e as Error).message ?? String(e) };
    port.postMessage({ error, ...headerUpdate(header), loss });
  }
  port.close();
}

void run();
