// The cost model of the operation-class table: what a call costs in user space, what a system call and a lock
// acquisition add. Defaults from /work/shared/reference/seed-systems-internals.txt where it gives a figure
// (a system call's ring transition, ≈ 100 ns); the others are estimates, overridable with `--cost name=ns`.

import type { ClassCost, OpClass, RawMetrics } from "./metrics.js";
import { OP_CLASSES } from "./metrics.js";

export interface CostModel {
  /** A call served entirely in user space (the fast path). Estimate. */
  call: number;
  /** One system call (brk, mmap, munmap, mremap, madvise): SYSCALL + SYSRET, ≈ 100 ns (reference). */
  syscall: number;
  /** One uncontended lock acquisition and release: a CAS and a store, no kernel (reference: "fast path"). Estimate. */
  lock: number;
}

export const DEFAULT_COSTS: Readonly<CostModel> = { call: 20, syscall: 100, lock: 20 };

/** Applies `name=ns` overrides (`--cost syscall=250`) to the defaults. */
export function parseCosts(overrides: readonly string[] = []): CostModel {
  const costs: CostModel = { ...DEFAULT_COSTS };
  for (const o of overrides) {
    const eq = o.indexOf("=");
    const name = o.slice(0, eq) as keyof CostModel;
    const ns = Number(o.slice(eq + 1));
    if (eq < 0 || !(name in DEFAULT_COSTS)) {
      throw new Error(`--cost ${o}: expected name=ns with name one of ${Object.keys(DEFAULT_COSTS).join(", ")}`);
    }
    if (!Number.isFinite(ns) || ns < 0) throw new Error(`--cost ${o}: not a number of nanoseconds`);
    costs[name] = ns;
  }
  return costs;
}

export interface ClassRow extends ClassCost {
  class: OpClass;
  /** Share of the calls served without entering the kernel (null without calls). */
  withoutKernel: number | null;
  /** Estimated total cost in nanoseconds. */
  ns: number;
}

/** The per-class table: calls, calls that stayed in user space, syscalls, locks and estimated cost. */
export function classTable(m: RawMetrics, costs: CostModel): ClassRow[] {
  return OP_CLASSES.map((c) => {
    const k = m.classes[c];
    return {
      class: c,
      ...k,
      withoutKernel: k.calls > 0 ? 1 - k.callsInKernel / k.calls : null,
      ns: k.calls * costs.call + k.syscalls * costs.syscall + k.locks * costs.lock,
    };
  });
}
