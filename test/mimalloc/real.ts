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
  return (await realRun(path, threads, env)).lines;
}

/** The real library's address lines and its mi_stats_print lines at the end. */
export function realRun(path: string, threads: "merge" | "real", env: Record<string, string> = {}) {
  return runNative(path, { preload: MIMALLOC_LIBRARY, threads, env, statsCall: "mi_stats_print" });
}

/**
 * An amount as mi_stats_print writes it (stats.c › mi_printf_amount), split into words: bytes in 1024 steps with
 * one decimal ("32.0 MiB"), counts likewise without the B ("5.7 Ki"), small numbers as they are.
 */
export function statAmount(n: number, bytes: boolean): string[] {
  const suffix = bytes ? "B" : "";
  if (Math.abs(n) < 1024) return n === 0 ? ["0"] : [`${n}`, ...(suffix ? [suffix] : [])];
  let divider = 1024;
  let magnitude = "K";
  if (Math.abs(n) >= divider * 1024) { divider *= 1024; magnitude = "M"; }
  if (Math.abs(n) >= divider * 1024) { divider *= 1024; magnitude = "G"; }
  const tens = Math.trunc(n / Math.trunc(divider / 10)); // integer division twice, as in C
  return [`${Math.trunc(tens / 10)}.${Math.abs(tens % 10)}`, `${magnitude}i${suffix}`];
}

/** The words after `name:` of a mi_stats_print row ("reserved", "segments", "pages", …). */
export function statRow(lines: readonly string[], name: string): string[] {
  const row = lines.find((l) => l.trimStart().startsWith(`${name}:`));
  return row ? row.slice(row.indexOf(":") + 1).trim().split(/\s+/) : [];
}

export interface ModelRun {
  lines: string[];
  stats: Record<string, number>;
  /** Bytes of the allocated blocks of the heap walk. */
  walkLive: number;
  /** Violations the invariant checker finds at the end. */
  violations: number;
}

/** Replays `path` on the model; "arena" gives every trace thread its own heap; `checkEvery` runs the invariant
 * checker after every that many ops (a violation fails the replay). */
export async function modelRun(path: string, threads: "merge" | "arena", options: Record<string, number> = {},
  checkEvery?: number): Promise<ModelRun> {
  const { createLab } = await import("../../src/lab/lab.js");
  const { AddressFormatter } = await import("../../src/lab/addresses.js");
  const lab = await createLab({ model: "mimalloc", options });
  const formatter = new AddressFormatter(lab.handle);
  const lines: string[] = [];
  await lab.replay(readFileSync(path), {
    threads, checkEvery, observe: formatter.observer((l) => { for (const x of l) lines.push(x); }),
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
