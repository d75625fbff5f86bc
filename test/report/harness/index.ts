// A stand-in model for the metrics tests: each `step` is one completed operation whose result address,
// footprint and system calls the test chooses, so every metric can be computed by hand.
//
//   ops buffer: one op (6 f64) · results buffer: one result (2 f64) · parts: [live, footprint − live]

import { vmInit } from "../../../assembly/common/vmem";
import { countersInit, count, SYS_BRK, LOCK_ARENA } from "../../../assembly/common/counters";
import { metricsAfterOp, metricsUseDecomposer } from "../../../assembly/common/metrics";

export { metricsConfigure, metricNames, metricsInto, metricsDecompose, metricsRelease, counterNames, countersInto,
  timelineRows, timelineInto, timelineClear, histogramsInto } from "../../../assembly/common/metrics";

/** The stand-in's decomposition: a = live, b = the rest of the footprint. */
export function decomposeParts(): string {
  return "a,b";
}

const ops = memory.data(48);
const results = memory.data(16);
let footprint: u64 = 0;
let liveHere: u64 = 0;

function halves(buffer: usize): i32 {
  store<f64>(buffer, <f64>liveHere);
  store<f64>(buffer, <f64>(footprint - liveHere), 8);
  return 2;
}

export function init(): void {
  vmInit();
  countersInit();
  metricsUseDecomposer(halves, 2);
}

export function allocBuffer(bytes: i32): usize {
  return heap.alloc(<usize>bytes);
}

/** One completed op: `live` is what the test expects live to be (the decomposer reports it). */
export function step(code: i32, object: f64, a: f64, b: f64, address: f64, bytes: f64, syscalls: i32,
  locks: i32, live: f64, flags: i32): void {
  store<f64>(ops, <f64>code);
  store<f64>(ops, 0, 8);
  store<f64>(ops, object, 16);
  store<f64>(ops, a, 24);
  store<f64>(ops, b, 32);
  store<f64>(ops, <f64>flags, 40);
  store<f64>(results, address);
  store<f64>(results, 1, 8);
  for (let k = 0; k < syscalls; k++) count(SYS_BRK, 4096);
  for (let k = 0; k < locks; k++) count(LOCK_ARENA, 0);
  footprint = <u64>bytes;
  liveHere = <u64>live;
  metricsAfterOp(ops, 0, results, footprint);
}

export { residentTouch, residentRelease, residentPageCount } from "../../../assembly/common/resident";
