// The replay loop every model shares: the model registers what differs (`replayUse`, the way a decomposer
// registers with metrics.ts) and its `replay` export calls `replayBatch`. So the rules of the model ABI hold for
// every model alike: an op code outside the batch format and a thread index the model keeps no state for are
// errors, an error stops the batch, a journaled op that fails is rolled back whole, options are refused after
// init.
//
//   replayBatch(ops, count, results, journal)
//   └── for each op:  clear the error · journal begin (also without `journal` near the memory cap) · clear
//                     simulated memory's failure
//                     · thread in [0, threads)          else ERR_THREAD
//                     · op code in [OP_MALLOC, OP_THREAD_EXIT] else ERR_UNKNOWN_OP
//                     · the model's runOp (writes the op's result slots)
//                     · a store simulated memory could not take becomes the op's error (limit, segv)
//                     · the model's check after the op (its invariant checker, when due)
//                     · error: journal rollback, the model's leave, return the ops done
//                     · else journal commit, the model's afterOp (metrics; not for a thread exit, which is no call)
//       the model's leave (back to the main thread)

import { journalBegin, journalCommit, journalRollback, vmAtCeiling, vmClearFailure } from "./vmem";
import {
  opField, raise, failed, clearError, settleMemory, OP_MALLOC, OP_THREAD_EXIT, ERR_UNKNOWN_OP, ERR_THREAD,
} from "./ops";

/** Runs op `i` of the batch, its thread and op code already checked, writing its result; false on an error. */
type RunOp = (ops: usize, i: i32, results: usize) => bool;
/** The invariant checker after an op; false (with the error raised) when it found the heap broken. */
type CheckOp = () => bool;
/** Called after each completed op (the metrics hook). */
type AfterOp = (ops: usize, i: i32, results: usize) => void;
/** Called when a batch ends, completed or stopped. */
type Leave = () => void;

function noModel(ops: usize, i: i32, results: usize): bool {
  raise(ERR_UNKNOWN_OP, "no model registered its operations");
  return false;
}
function noCheck(): bool {
  return true;
}
function noAfter(ops: usize, i: i32, results: usize): void {}
function noLeave(): void {}

let runOp: RunOp = noModel;
let checkOp: CheckOp = noCheck;
let afterOp: AfterOp = noAfter;
let leave: Leave = noLeave;
let threads: i32 = 0;
let initialised: bool = false;

/** Registers the model's parts of the loop; `threadCount` threads (0 … threadCount − 1) have state in the model. */
export function replayUse(run: RunOp, check: CheckOp, after: AfterOp, done: Leave, threadCount: i32): void {
  runOp = run;
  checkOp = check;
  afterOp = after;
  leave = done;
  threads = threadCount;
}

/** Whether `setOption` may still change the model: only before `init`, as an environment variable is read once. */
export function optionsOpen(): bool {
  return !initialised;
}

/** Closes the options: the model's `init` has built its state from them. */
export function optionsClose(): void {
  initialised = true;
}

/** Raises the error of an op code the model does not run. */
export function unknownOp(code: i32): void {
  raise(ERR_UNKNOWN_OP, "unknown operation " + code.toString());
}

/** Whether op `i` names a thread with state and an op code of the batch format; raises the error when not. */
function runnable(ops: usize, i: i32): bool {
  const thread = opField(ops, i, 1);
  if (!(thread >= 0 && thread < <f64>threads)) {
    raise(ERR_THREAD, "thread index out of range (the model keeps state for " + threads.toString() + " threads)");
    return false;
  }
  const code = opField(ops, i, 0);
  if (!(code >= <f64>OP_MALLOC && code <= <f64>OP_THREAD_EXIT && code == Math.floor(code))) {
    unknownOp(<i32>code);
    return false;
  }
  return true;
}

/** Runs `count` operations of the batch at `ops`; stops at the first error; returns how many completed. */
export function replayBatch(ops: usize, count: i32, results: usize, journal: bool): i32 {
  for (let i = 0; i < count; i++) {
    clearError();
    // Near the engine's memory cap any operation may run out half way: only the journal can undo it then.
    const journaled = journal || vmAtCeiling();
    if (journaled) journalBegin();
    vmClearFailure();
    const ran = runnable(ops, i) && runOp(ops, i, results);
    // A store that could not land is the op's error even when the op went on (and failed for another reason).
    const ok = !settleMemory() && ran && !failed() && checkOp();
    if (!ok) {
      if (journaled) journalRollback();
      leave();
      return i;
    }
    if (journaled) journalCommit();
    if (opField(ops, i, 0) != <f64>OP_THREAD_EXIT) afterOp(ops, i, results);
  }
  leave();
  return count;
}
