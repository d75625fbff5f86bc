// Forked children. A child's recording starts with the heap it inherited: it frees and reallocs blocks its parent
// allocated before fork, at the parent's addresses. `heaplab record` writes `# fork-of <parent file> <seq>` into a
// child's header (the parent's last record before the fork); a replay of the child first replays its ancestors,
// the root first, each up to its fork, so the child starts from the heap it really had. `lab.replay` does this
// for every trace it is given first (option `forkOf: false` turns it off; `after` names the parent instead).
//
// No Node built-in here: the lab runs in a browser too, where a parent's file is a URL next to the child's.

import { openTrace } from "../trace/detect.js";
import { type Prefetched, prefetch } from "../trace/prefetch.js";
import type { TraceHeader } from "../trace/types.js";

/** A parent's trace and the sequence number of its last record before a fork. */
export interface ForkPoint {
  path: string;
  seq: number;
}

/** The parent's trace, read from its fork point's file (its header known). */
export interface Ancestor extends ForkPoint {
  trace: Prefetched;
}

/** Parses `parent.trace@seq` (the CLI's `--after`, the lab's `after`). */
export function parseAfter(text: string): ForkPoint {
  const at = text.lastIndexOf("@");
  const seq = Number(text.slice(at + 1));
  if (at <= 0 || !/^\d+$/.test(text.slice(at + 1)) || !Number.isSafeInteger(seq)) {
    throw new Error(`--after ${text}: expected <parent trace>@<sequence number>`);
  }
  return { path: text.slice(0, at), seq };
}

/** Ancestor chains longer than this are a loop of `# fork-of` lines, not a process tree. */
const MAX_DEPTH = 256;

/**
 * Where a `# fork-of` file lies: next to the trace that names it (a URL beside a URL), as written when absolute.
 * A trace read from memory or standard input names its parent relative to the working directory.
 */
export function besideTrace(traceName: string, file: string): string {
  if (file.startsWith("/") || /^[a-z][a-z0-9+.-]*:/i.test(file)) return file;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(traceName)) return new URL(file, traceName).href;
  if (traceName === "-" || traceName.startsWith("<")) return file;
  const slash = traceName.lastIndexOf("/");
  return slash < 0 ? file : `${traceName.slice(0, slash + 1)}${file}`;
}

/**
 * The ancestors a child's replay starts from, the root first: the parent `after` names (else the one in the child's
 * `# fork-of`, next to the child's file), then that parent's own, and so on.
 */
export async function forkAncestors(
  childPath: string, header: TraceHeader, after?: ForkPoint, read: { lenient?: boolean } = {},
): Promise<Ancestor[]> {
  const chain: Ancestor[] = [];
  let point = after ?? (header.forkOf && { path: besideTrace(childPath, header.forkOf.file), seq: header.forkOf.seq });
  while (point) {
    if (chain.length === MAX_DEPTH) throw new Error(`${childPath}: more than ${MAX_DEPTH} ancestors: a loop of fork-of lines`);
    const trace = prefetch(await openTrace(point.path, { lenient: read.lenient }));
    await trace.firstRead;
    chain.unshift({ ...point, trace });
    const forkOf = trace.header.forkOf;
    point = forkOf && { path: besideTrace(point.path, forkOf.file), seq: forkOf.seq };
  }
  return chain;
}
