// The real mimalloc 2.0.9 (Debian's libmimalloc.so.2 preloaded into test/oracle's native replayer) and the model
// on the same trace, with MIMALLOC_* variables and the model's options of the same names.

import { readFileSync } from "node:fs";
import { MIMALLOC_LIBRARY, preloadUnavailable, runNative } from "../oracle/native.js";
import { modelUnavailable } from "../differential/compare.js";

/** Why the mimalloc differential tests cannot run here, or null. */
export function mimallocUnavailable(): string | null {
  return preloadUnavailable(MIMALLOC_LIBRARY) ?? modelUnavailable("mimalloc");
}

/** Address lines of `path` (plain or .gz) on the real library; "real" runs one pthread per trace thread. */
export async function realLines(path: string, threads: "merge" | "real", env: Record<string, string> = {}):
  Promise<string[]> {
  return (await runNative(path, { preload: MIMALLOC_LIBRARY, threads, env })).lines;
}

export interface ModelRun {
  lines: string[];
  stats: Record<string, number>;
  /** Bytes of the allocated blocks of the heap walk. */
  walkLive: number;
  /** Violations the invariant checker finds at the end. */
  violations: number;
}

/** Replays `path` on the model; "arena" gives every trace thread its own heap. */
export async function modelRun(path: string, threads: "merge" | "arena", options: Record<string, number> = {}):
  Promise<ModelRun> {
  const { createLab } = await import("../../src/lab/lab.js");
  const { AddressFormatter } = await import("../../src/lab/addresses.js");
  const lab = await createLab({ model: "mimalloc", options });
  const formatter = new AddressFormatter(lab.handle);
  const lines: string[] = [];
  await lab.replay(readFileSync(path), {
    threads, observe: formatter.observer((l) => { for (const x of l) lines.push(x); }),
  });
  let walkLive = 0;
  for (const row of lab.chunks()) if (row.state === "allocated") walkLive += row.size;
  return { lines, stats: lab.stats(), walkLive, violations: lab.check().length };
}

/** Lines that are identical at the same position. */
export function sameLines(real: readonly string[], model: readonly string[]): number {
  let same = 0;
  for (let i = 0; i < Math.min(real.length, model.length); i++) if (real[i] === model[i]) same++;
  return same;
}
