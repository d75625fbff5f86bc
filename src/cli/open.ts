// Opening a trace for the commands that replay it into one lab (replay, render).

import { openTrace } from "../trace/detect.js";
import { type Prefetched, prefetch } from "../trace/prefetch.js";
import type { BatchOptions } from "../trace/types.js";

/**
 * Opens a trace for a replaying command, its first batch read ahead, and the model options to replay it with: the
 * recording's `# heap-base` as heap_base unless one is given, so that heap offsets count from the recorded
 * program's own break (memalign beyond a page depends on it); not for a model without a brk heap (`brkHeap`
 * false). A trace that fails to open fails when `trace` is awaited, after the caller has checked its model.
 */
export function openForReplay(
  path: string, options: Record<string, number>, read: { lenient?: boolean } & BatchOptions = {}, brkHeap = true,
): { trace: Promise<Prefetched>; options: Promise<Record<string, number>> } {
  const trace = openTrace(path, { lenient: read.lenient }).then((t) => prefetch(t, { recycle: read.recycle }));
  trace.catch(() => {});
  const withBase = trace.then(async (t) => {
    await t.firstRead;
    const base = t.header.heapBase;
    return !brkHeap || base === undefined || options.heap_base !== undefined ? options : { ...options, heap_base: base };
  }, () => options);
  return { trace, options: withBase };
}
