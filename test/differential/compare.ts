// Shared pieces of the differential tests: running a model on a trace, comparing its address lines with the
// native oracle's, and the switches that select how much runs.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../oracle/native.js";

/** HEAPLAB_LONG=1: every trace with every configuration, and longer fuzzing campaigns. */
export const LONG = process.env.HEAPLAB_LONG === "1";

/** Per-test timeout: the default one, or an hour for HEAPLAB_LONG=1 campaigns. */
export const TIMEOUT = LONG ? 3_600_000 : 120_000;

/** HEAPLAB_DIFF_ALL=1: also run the cases listed as known differences (to see what a model change fixed). */
export const RUN_KNOWN_DIFFERENCES = process.env.HEAPLAB_DIFF_ALL === "1";

/**
 * The fast-check seed: HEAPLAB_SEED when set; a fixed one under CI (a model change, not luck, should turn CI
 * red); a fresh one otherwise, printed in the test titles so that a failure can be replayed.
 */
export const SEED = process.env.HEAPLAB_SEED
  ? Number(process.env.HEAPLAB_SEED)
  : process.env.CI ? 20_365 : Date.now() % 2 ** 31;

/** Tunable configurations (GLIBC_TUNABLES syntax, `glibc.malloc.` implied). */
export const CONFIGS: ReadonlyArray<{ name: string; tunables: string }> = [
  { name: "default", tunables: "" },
  { name: "tcache_count=0", tunables: "tcache_count=0" },
  { name: "mxfast=0", tunables: "mxfast=0" },
  { name: "mxfast=160,tcache_count=3", tunables: "mxfast=160:tcache_count=3" },
  { name: "tcache_max=200,tcache_unsorted_limit=2", tunables: "tcache_max=200:tcache_unsorted_limit=2" },
  { name: "top_pad=0,trim_threshold=8192", tunables: "top_pad=0:trim_threshold=8192" },
  { name: "mmap_threshold=65536", tunables: "mmap_threshold=65536" },
  { name: "mmap_max=0,tcache_count=20", tunables: "mmap_max=0:tcache_count=20" },
  { name: "top_pad=1", tunables: "top_pad=1" },
  { name: "trim_threshold=0", tunables: "trim_threshold=0" },
  { name: "tcache_count=1,mxfast=32", tunables: "tcache_count=1:mxfast=32" },
];

/** The biggest traces run with these configurations only, unless HEAPLAB_LONG=1. */
export const SHORT_LIST = new Set(["default", "tcache_count=0", "mmap_threshold=65536"]);
export const BIG_TRACE_OPS = 50_000;

/** `a=1:b=2` → `glibc.malloc.a=1:glibc.malloc.b=2`. */
export function glibcTunables(short: string): string {
  return short.split(":").filter(Boolean).map((t) => `glibc.malloc.${t}`).join(":");
}

export type ModelName = "ptmalloc" | "tcmalloc" | "mimalloc";

/** Why a model cannot run here (its wasm is not built), or null. */
export function modelUnavailable(model: ModelName): string | null {
  const wasm = join(repoRoot, "build", `${model}.wasm`);
  return existsSync(wasm) ? null : `${wasm} is not built (npm run build:wasm)`;
}

export interface ModelRun {
  model: ModelName;
  tunables?: string;
  threads?: "merge" | "arena";
  /** The real initial program break, so that alignments above 4 KiB see the same base. */
  heapBase?: number;
}

/** Whether each model knows the heap_base option (learned on first use). */
const heapBaseOption = new Map<ModelName, boolean>();

/** The model's address lines for a trace (a path, or the trace text). */
export async function modelAddressLines(source: string | Uint8Array, run: ModelRun): Promise<string[]> {
  const { addressLines } = await import("../../src/lab/addresses.js");
  const base = { model: run.model, tunables: run.tunables, threads: run.threads };
  if (run.heapBase !== undefined && heapBaseOption.get(run.model) !== false) {
    try {
      const lines = await addressLines(source, { ...base, options: { heap_base: run.heapBase } });
      heapBaseOption.set(run.model, true);
      return lines;
    } catch (e) {
      // A model without a heap_base option places its heap at its own base; offsets stay comparable except
      // for alignments above 4 KiB.
      if (!/unknown option 'heap_base'/.test(String(e))) throw e;
      heapBaseOption.set(run.model, false);
    }
  }
  return addressLines(source, base);
}

/**
 * Lines whose address the kernel chose, compared by region only: mmapped chunks (`mmap±…` → `mmap`) and chunks in
 * a later heap of a non-main arena (offset outside the arena's first 64 MiB heap → `arena<k> later-heap`). The
 * kernel places every mapping, and runs of the native replayer itself disagree on mmap offsets once munmap has
 * left holes (measured on git-log-p: the 54th mmap moves between runs).
 */
export function kernelPlacedByRegion(lines: readonly string[]): string[] {
  return lines.map((l) => l
    .replace(/ mmap[+-]0x[0-9a-f]+$/, " mmap")
    .replace(/ (arena\d+)([+-]0x[0-9a-f]+)$/, (whole, arena: string, off: string) =>
      (off[0] === "+" && parseInt(off.slice(3), 16) < HEAP_MAX_SIZE ? whole : ` ${arena} later-heap`)));
}

/** glibc's HEAP_MAX_SIZE on x86-64: every non-main heap is this size and this aligned. */
const HEAP_MAX_SIZE = 64 * 1024 * 1024;

/** The first line where the model departs from the real allocator, with context; null when identical. */
export function firstDifference(native: readonly string[], model: readonly string[]): string | null {
  const n = Math.min(native.length, model.length);
  for (let i = 0; i < n; i++) {
    if (native[i] !== model[i]) {
      return `line ${i + 1}: real \`${native[i]}\`, model \`${model[i]}\``
        + (i > 0 ? ` (after \`${native[i - 1]}\`)` : "");
    }
  }
  if (native.length !== model.length) {
    return native.length > model.length
      ? `model stops after ${model.length} lines; real goes on with \`${native[n]}\``
      : `real stops after ${native.length} lines; model goes on with \`${model[n]}\``;
  }
  return null;
}
