// The batch replay loop, for a model that supplies the operation itself: each op runs under the journal when
// asked, and a failed op (the allocator's own abort, a model limit, a failed per-op check) is rolled back and
// stops the batch.

import { journalBegin, journalCommit, journalRollback, vmAtCeiling, vmClearFailure } from "./vmem";
import { clearError, settleMemory } from "./ops";

/** Runs `count` ops with `run`, `check` after each, `after` once one has stuck; returns how many completed. */
export function replayBatch(
  ops: usize, count: i32, results: usize, journal: bool,
  run: (ops: usize, i: i32, results: usize) => bool, check: () => bool,
  after: (ops: usize, i: i32, results: usize) => void,
): i32 {
  for (let i = 0; i < count; i++) {
    clearError();
    // Near the engine's memory cap any operation may run out half way: only the journal can undo it then.
    const journaled = journal || vmAtCeiling();
    if (journaled) journalBegin();
    vmClearFailure();
    const ok = run(ops, i, results) && !settleMemory() && check();
    if (!ok) {
      settleMemory();
      if (journaled) journalRollback();
      return i;
    }
    if (journaled) journalCommit();
    after(ops, i, results);
  }
  return count;
}
