// Runs the native replayer of test/oracle on the real jemalloc 5.3.0 (Debian's libjemalloc2 preloaded) under
// the oracle's settings — no ASLR (`setarch -R`), dirty and muzzy decay off — and the model on the same trace,
// told where the replayer's own mappings lie.

import { execFile, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import { buildOracle, oracleUnavailable } from "../oracle/native.js";
import { plainTrace } from "../tcmalloc/real.js";

export { firstDifference, statDifferences, traceFile } from "../tcmalloc/real.js";

const exec = promisify(execFile);

/** Debian's libjemalloc2. */
export const JEMALLOC_LIBRARY = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
/** The oracle's settings: with decay on a clock, two runs of one trace differ. */
export const ORACLE_CONF = "dirty_decay_ms:-1,muzzy_decay_ms:-1";

/** Why the jemalloc oracle cannot run here, or null when it can. */
export function jemallocUnavailable(): string | null {
  const base = oracleUnavailable();
  if (base) return base;
  if (!existsSync(JEMALLOC_LIBRARY)) return `missing ${JEMALLOC_LIBRARY} (apt-get install libjemalloc2)`;
  if (spawnSync("setarch", ["-R", "true"], { stdio: "ignore" }).status !== 0) return "setarch -R is not permitted here";
  return null;
}

/** Where libjemalloc's static TLS puts a thread's tsd: this many bytes below its thread pointer. */
export const TSD_BELOW_THREAD_POINTER = 2632;

export interface RealRun {
  lines: string[];
  /** The process's mappings when the replay began: [start, end) pairs. */
  maps: Array<[number, number]>;
  /** The replaying threads' thread pointers: the main thread's, then the others' by their first op. */
  threadPointers: number[];
  stats: Record<string, number>;
}

/** Replays `path` on the real library; `conf` is appended to the oracle's MALLOC_CONF. */
export async function runReal(path: string, conf = "", threads: "merge" | "real" = "merge"): Promise<RealRun> {
  const binary = await buildOracle();
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === "LD_PRELOAD" || /^MALLOC_/.test(k) || k === "GLIBC_TUNABLES") continue;
    clean[k] = v;
  }
  const env = { ...clean, LD_PRELOAD: JEMALLOC_LIBRARY, MALLOC_CONF: conf ? `${ORACLE_CONF},${conf}` : ORACLE_CONF };
  const args = ["-R", binary, "--preloaded", "--maps", "--mallctl-stats", "--threads", threads, plainTrace(path)];
  const { stdout } = await exec("setarch", args, { env, maxBuffer: 1 << 30, timeout: 120_000 });
  const run: RealRun = { lines: [], maps: [], threadPointers: [], stats: {} };
  for (const line of stdout.split("\n")) {
    if (!line) continue;
    if (line[0] !== "#") run.lines.push(line);
    else if (line.startsWith("# map ")) {
      const [start, end] = line.slice(6).split(" ").map(Number);
      run.maps.push([start, end]);
    } else if (line.startsWith("# thread ")) {
      run.threadPointers.push(Number(line.slice(9).split(" ")[1]));
    } else if (line.startsWith("# stat ")) {
      const [name, value] = line.slice(7).split(" ");
      run.stats[name] = Number(value);
    }
  }
  return run;
}

export interface ModelRun {
  lines: string[];
  stats: Record<string, number>;
}

/**
 * Replays `trace` (a file or its bytes) on the model, in the real run's process layout: the replayer's mappings
 * reserved, each thread's PRNG seeded from its tsd.
 */
export async function runModel(trace: string | Uint8Array, real: RealRun, options: Record<string, number> = {},
  threads: "merge" | "arena" = "merge"): Promise<ModelRun> {
  const { createLab } = await import("../../src/lab/lab.js");
  const { AddressFormatter } = await import("../../src/lab/addresses.js");
  const tsd = real.threadPointers.map((tp) => tp - TSD_BELOW_THREAD_POINTER);
  const lab = await createLab({
    model: "jemalloc", metrics: false, options: { ...(tsd.length ? { tsd_address: tsd[0] } : {}), ...options },
  });
  const wasm = lab.handle.wasm as unknown as {
    reserveMapping(start: number, end: number): void;
    threadTsd(thread: number, address: number): void;
  };
  for (const [start, end] of real.maps) wasm.reserveMapping(start, end);
  for (let t = 1; t < tsd.length && threads === "arena"; t++) wasm.threadTsd(t, tsd[t]);
  const formatter = new AddressFormatter(lab.handle);
  const lines: string[] = [];
  const bytes = typeof trace === "string" ? readFileSync(trace) : trace;
  await lab.replay(bytes, { threads, observe: formatter.observer((l) => { for (const x of l) lines.push(x); }) });
  return { lines, stats: lab.stats() };
}
