// Opening a trace for the commands that replay it into one lab (replay, render).

import { openTrace } from "../trace/detect.js";
import { type Prefetched, prefetch } from "../trace/prefetch.js";
import type { BatchOptions } from "../trace/types.js";

/**
 * Opens a trace for a replaying command, its first batch read ahead, and the model options to replay it with: the
 * recording's `# heap-base` as heap_base unless one is given, so that heap offsets count from the recorded
 * program's own break (memalign beyond a page depends on it; not for a model without a brk heap, `brkHeap` false),
 * and the recording machine's RAM and swap as overcommit_limit, so that the requests its kernel refused fail in
 * the replay too. A trace that fails to open fails when `trace` is awaited, after the caller has checked its model.
 */
export function openForReplay(
  path: string, options: Record<string, number>, read: { lenient?: boolean } & BatchOptions = {}, brkHeap = true,
): { trace: Promise<Prefetched>; options: Promise<Record<string, number>> } {
  const trace = openTrace(path, { lenient: read.lenient }).then((t) => prefetch(t, { recycle: read.recycle }));
  trace.catch(() => {});
  const withBase = trace.then(async (t) => {
    await t.firstRead;
    const { heapBase, memTotal, swapTotal } = t.header;
    const out = { ...options };
    if (brkHeap && heapBase !== undefined && options.heap_base === undefined) out.heap_base = heapBase;
    if (memTotal !== undefined && options.overcommit_limit === undefined) {
      out.overcommit_limit = memTotal + (swapTotal ?? 0);
    }
    return out;
  }, () => options);
  return { trace, options: withBase };
}
