// Thread lifecycle events: comment lines of alloc-trace v1 (kept as they are by the binary format), so that a
// reader that does not know them passes them by as it passes every comment.
//
//   # thread-start <tid> parent=<tid> seq=N     thread <tid>, created by thread <parent>, began after N calls
//   # thread-exit <tid> seq=N                    thread <tid> ended after N calls: its last call is before the line

import type { TraceBatch } from "./types.js";

export interface ThreadEvent {
  kind: "start" | "exit";
  tid: number;
  /** The creating thread (thread-start only). */
  parent?: number;
  /** Calls the process had made when the event happened. */
  seq: number;
}

/** A thread exit in a batch: it happened before op `before` of the batch (`before === length`: after the last). */
export interface ThreadExit {
  before: number;
  tid: number;
  seq: number;
}

const PREFIX = "# thread-";
const START = /^# thread-start (\d+) parent=(\d+) seq=(\d+)\s*$/;
const EXIT = /^# thread-exit (\d+) seq=(\d+)\s*$/;

/** The thread event a comment line states, or null for any other comment (and a malformed event line). */
export function threadEventOf(text: string): ThreadEvent | null {
  if (!text.startsWith(PREFIX)) return null;
  const start = START.exec(text);
  if (start) return { kind: "start", tid: Number(start[1]), parent: Number(start[2]), seq: Number(start[3]) };
  const exit = EXIT.exec(text);
  if (exit) return { kind: "exit", tid: Number(exit[1]), seq: Number(exit[2]) };
  return null;
}

/** The comment line of an event, as the recorder writes it. */
export function threadEventLine(event: ThreadEvent): string {
  return event.kind === "start"
    ? `# thread-start ${event.tid} parent=${event.parent ?? 0} seq=${event.seq}`
    : `# thread-exit ${event.tid} seq=${event.seq}`;
}

/** The thread exits among a batch's comments, in file order. */
export function threadExitsOf(batch: TraceBatch): ThreadExit[] {
  const exits: ThreadExit[] = [];
  for (const comment of batch.comments ?? []) {
    if (!comment.text.startsWith(PREFIX)) continue;
    const event = threadEventOf(comment.text);
    if (event?.kind === "exit") exits.push({ before: comment.before, tid: event.tid, seq: event.seq });
  }
  return exits;
}
