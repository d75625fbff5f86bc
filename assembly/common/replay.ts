// The batch replay loop, for a model that supplies the operation itself: each op runs under the journal when
// asked, and a failed op (the allocator's own abort, a model limit, a failed per-op check) is rolled back and
// stops the batch.

import { journalBegin, journalCommit, journalRollback } from "./vmem";
import { clearError } from "./ops";

/** Runs `count` ops with `run`, `check` after each, `after` once one has stuck; returns how many completed. */
export function replayBatch(
  ops: usize, count: i32, results: usize, journal: bool,
  run: (ops: usize, i: i32, results: usize) => bool, check: () => bool,
  after: (ops: usize, i: i32, results: usize) => void,
): i32 {
  for (let i = 0; i < count; i++) {
    clearError();
    if (journal) journalBegin();
    const ok = run(ops, i, results) && check();
    if (!ok) {
      if (journal) journalRollback();
      return i;
    }
    if (journal) journalCommit();
    after(ops, i, results);
  }
  return count;
}
