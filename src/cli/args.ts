// Command-line pieces every command shares.

import { openTrace } from "../trace/detect.js";
import { type Prefetched, prefetch } from "../trace/prefetch.js";
import type { BatchOptions } from "../trace/types.js";

/** Prints `help` and returns the exit code when help was asked for (0) or the arguments are incomplete (2). */
export function helpExit(asked: boolean | undefined, complete: boolean, help: string): number | null {
  if (!asked && complete) return null;
  console.log(help);
  return asked ? 0 : 2;
}

/** The `--threads` value of the replaying commands: merge every thread on the main thread, or one arena each. */
export function threadsArg(value: string | undefined): "merge" | "arena" {
  if (value !== "merge" && value !== "arena") throw new Error("--threads must be merge or arena");
  return value;
}

/**
 * Opens a trace for a replaying command, its first batch read ahead, and the model options to replay it with: the
 * recording's `# heap-base` as heap_base unless one is given, so that heap offsets count from the recorded
 * program's own break (memalign beyond a page depends on it). A trace that fails to open fails when `trace` is
 * awaited, after the caller has checked its model.
 */
export function openForReplay(
  path: string, options: Record<string, number>, read: { lenient?: boolean } & BatchOptions = {},
): { trace: Promise<Prefetched>; options: Promise<Record<string, number>> } {
  const trace = openTrace(path, { lenient: read.lenient }).then((t) => prefetch(t, { recycle: read.recycle }));
  trace.catch(() => {});
  const withBase = trace.then(async (t) => {
    await t.firstRead;
    const base = t.header.heapBase;
    return base === undefined || options.heap_base !== undefined ? options : { ...options, heap_base: base };
  }, () => options);
  return { trace, options: withBase };
}
