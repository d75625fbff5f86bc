// Streaming at scale: replays a generated trace of HEAPLAB_STREAM_OPS operations (default 10 million; the
// contract is checked with 100 million) through the ptmalloc model, then reports on it (the report's metrics,
// peaks decomposed, histograms), and prints the process's RSS growth, which must stay bounded (under 500 MB above
// the simulated heap) however long the trace is.

import { createLab, newBatch, BATCH_CAPACITY, reportReplay } from "../dist/index.js";

const TOTAL = Number(process.env.HEAPLAB_STREAM_OPS ?? 10_000_000);
const LIVE = 20_000;

/**
 * A trace of mallocs and frees over a bounded live set (xorshift sizes and victims), generated batch by batch.
 * Like a real heap, it hands freed addresses out again (newest first).
 */
function generated(total) {
  let state = 0x9e3779b9;
  const rand = () => {
    state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  return {
    name: `generated(${total})`,
    header: { format: "alloc-trace", pid: 1 },
    loss: { unknownFrees: 0, sizesInferred: 0, failedCalls: 0, pointerReuseResolved: 0, linesSkipped: 0, notes: [] },
    async *batches() {
      const live = [];
      const freed = [];
      let next = 0x10000;
      let seq = 0;
      while (seq < total) {
        const batch = newBatch();
        while (batch.length < BATCH_CAPACITY && seq < total) {
          const i = batch.length++;
          seq++;
          batch.seq[i] = seq; batch.tid[i] = 1; batch.line[i] = seq;
          if (live.length >= LIVE || (live.length > 0 && rand() < 0.5)) {
            const k = (rand() * live.length) | 0;
            batch.code[i] = 4; batch.ptr[i] = live[k]; batch.a[i] = 0; batch.b[i] = 0; batch.res[i] = 0;
            freed.push(live[k]);
            live[k] = live[live.length - 1];
            live.pop();
          } else {
            const size = rand() < 0.9 ? 8 + ((rand() * 500) | 0) : 1000 + ((rand() * 200000) | 0);
            const address = freed.length ? freed.pop() : (next += 16);
            batch.code[i] = 1; batch.ptr[i] = 0; batch.a[i] = size; batch.b[i] = 0; batch.res[i] = address;
            live.push(address);
          }
        }
        yield batch;
      }
    },
  };
}

const rss = () => process.memoryUsage().rss / 2 ** 20;

/** Runs `work(observe)` and prints its ops/s and the RSS it added. */
async function measure(title, lab, work) {
  const before = rss();
  let peakRss = before;
  let ops = 0;
  const t0 = performance.now();
  await work((batch, from, to) => {
    ops += to - from;
    if (ops % (BATCH_CAPACITY * 16) < BATCH_CAPACITY) peakRss = Math.max(peakRss, rss());
  });
  const seconds = (performance.now() - t0) / 1000;
  const heap = lab.stats().system_mem / 2 ** 20;
  console.log(`${title}: ${ops.toLocaleString("en-US")} ops in ${seconds.toFixed(1)} s (${Math.round(ops / seconds).toLocaleString("en-US")} ops/s)`);
  console.log(`  RSS ${before.toFixed(0)} MB before, ${peakRss.toFixed(0)} MB at most: +${(peakRss - before).toFixed(0)} MB (simulated heap ${heap.toFixed(1)} MB)`);
}

const replayLab = await createLab({ model: "ptmalloc", metrics: false });
await measure("replay", replayLab, (observe) => replayLab.replay(generated(TOTAL), { observe }));
const reportLab = await createLab({ model: "ptmalloc" });
await measure("report", reportLab, (observe) => reportReplay(reportLab, generated(TOTAL), { observe }));
