// Opening a trace for the commands that replay it into one lab (replay, render).

import { type InputFormat, openTrace } from "../trace/detect.js";
import { type ByteSource, named, raw } from "../trace/input.js";
import { type Prefetched, prefetch } from "../trace/prefetch.js";
import type { BatchOptions } from "../trace/types.js";
import { type Ancestor, type ForkPoint, forkAncestors } from "../lab/fork.js";

/** The name standard input's errors are reported under. */
export const STDIN_NAME = "<stdin>";

/** The trace a command's argument names: `-` is standard input, read as it comes. */
export function traceInput(path: string): ByteSource {
  return path === "-" ? named(STDIN_NAME, process.stdin) : path;
}

/**
 * The trace a command that reads it several times names: standard input is read whole first, then replayed from
 * memory as often as asked, under its name.
 */
export async function rereadableInput(path: string): Promise<ByteSource> {
  if (path !== "-") return path;
  const chunks: Uint8Array[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Uint8Array);
  const bytes = Buffer.concat(chunks);
  return named(STDIN_NAME, { [Symbol.asyncIterator]: () => raw(bytes)[Symbol.asyncIterator]() });
}

/**
 * Opens a trace for a replaying command, its first batch read ahead, and the model options to replay it with: the
 * recording's `# heap-base` as heap_base unless one is given, so that heap offsets count from the recorded
 * program's own break (memalign beyond a page depends on it; not for a model without a brk heap, `brkHeap` false),
 * and the recording machine's RAM and swap as overcommit_limit, so that the requests its kernel refused fail in
 * the replay too, and the mapping above its heap as brk_blocked_at. A forked child's ancestors (its `# fork-of` line, or `after`) are opened too, and its heap offsets
 * count from its root ancestor's break, where its inherited heap began. A trace that fails to open fails when
 * `trace` is awaited, after the caller has checked its model.
 */
export function openForReplay(
  path: string, options: Record<string, number>,
  read: { lenient?: boolean; format?: InputFormat; after?: ForkPoint } & BatchOptions = {}, brkHeap = true,
): { trace: Promise<Prefetched>; options: Promise<Record<string, number>>; ancestors: Promise<Ancestor[]> } {
  const trace = openTrace(traceInput(path), { lenient: read.lenient, format: read.format }).then((t) => prefetch(t, { recycle: read.recycle }));
  trace.catch(() => {});
  const ancestors = trace.then(async (t) => {
    await t.firstRead;
    return forkAncestors(path === "-" ? STDIN_NAME : path, t.header, read.after, { lenient: read.lenient });
  }, () => []);
  ancestors.catch(() => {});
  const withBase = trace.then(async (t) => {
    await t.firstRead;
    const { memTotal, swapTotal } = t.header;
    const { brkBlockedAt } = (await ancestors)[0]?.trace.header ?? t.header;
    const heapBase = (await ancestors)[0]?.trace.header.heapBase ?? t.header.heapBase;
    const out = { ...options };
    if (brkHeap && heapBase !== undefined && options.heap_base === undefined) out.heap_base = heapBase;
    if (brkHeap && brkBlockedAt !== undefined && options.brk_blocked_at === undefined) {
      out.brk_blocked_at = brkBlockedAt;
    }
    if (memTotal !== undefined && options.overcommit_limit === undefined) {
      out.overcommit_limit = memTotal + (swapTotal ?? 0);
    }
    return out;
  }, () => options);
  return { trace, options: withBase, ancestors };
}
