// Runs the native replayer of test/oracle on the real gperftools 2.10 (libtcmalloc_minimal preloaded) with
// TCMALLOC_* environment variables, and the model on the same trace with the same options.

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { buildOracle, TCMALLOC_LIBRARY } from "../oracle/native.js";

const exec = promisify(execFile);

export interface RealRun {
  lines: string[];
  heapBase: number;
  stats: Record<string, number>;
}

let dir: string | undefined;
let files = 0;

function scratch(): string {
  if (!dir) {
    const made = mkdtempSync(join(tmpdir(), "heaplab-tcmalloc-"));
    process.on("exit", () => rmSync(made, { recursive: true, force: true }));
    dir = made;
  }
  return dir;
}

/** A plain-text copy of a trace (the replayer reads plain files). */
export function plainTrace(path: string): string {
  if (!path.endsWith(".gz")) return path;
  const out = join(scratch(), `trace${++files}.trace`);
  writeFileSync(out, gunzipSync(readFileSync(path)));
  return out;
}

/** Writes trace text to a scratch file. */
export function traceFile(text: string): string {
  const out = join(scratch(), `gen${++files}.trace`);
  writeFileSync(out, text);
  return out;
}

/** Replays `path` on the real library with `env` (TCMALLOC_* variables); stats are the MallocExtension ones. */
export async function runReal(path: string, env: Record<string, string> = {},
  threads: "merge" | "real" = "merge"): Promise<RealRun> {
  const binary = await buildOracle();
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === "LD_PRELOAD" || /^TCMALLOC_/.test(k) || /^MALLOC/.test(k)) continue;
    clean[k] = v;
  }
  const { stdout } = await exec(binary, ["--heap-base", "--threads", threads, "--tcmalloc", "--mallocstats", plainTrace(path)],
    { env: { ...clean, ...env, LD_PRELOAD: TCMALLOC_LIBRARY }, maxBuffer: 1 << 30, timeout: 120_000 });
  const run: RealRun = { lines: [], heapBase: 0, stats: {} };
  for (const line of stdout.split("\n")) {
    if (!line) continue;
    if (line[0] !== "#") run.lines.push(line);
    else if (line.startsWith("# heap-base ")) run.heapBase = Number(line.slice(12));
    else if (line.startsWith("# stat ")) {
      const [name, value] = line.slice(7).split(" ");
      run.stats[name] = Number(value);
    }
  }
  return run;
}

export interface ModelRun {
  lines: string[];
  stats: Record<string, number>;
  live: number;
}

/** Replays `path` on the model; `live` sums the usable sizes of the allocated objects of its heap walk. */
export async function runModel(path: string, heapBase: number, options: Record<string, number> = {},
  threads: "merge" | "arena" = "merge"): Promise<ModelRun> {
  const { createLab } = await import("../../src/lab/lab.js");
  const { AddressFormatter } = await import("../../src/lab/addresses.js");
  const lab = await createLab({ model: "tcmalloc", options: { heap_base: heapBase, ...options } });
  const formatter = new AddressFormatter(lab.handle);
  const lines: string[] = [];
  await lab.replay(readFileSync(path), {
    threads, observe: formatter.observer((l) => { for (const x of l) lines.push(x); }),
  });
  let live = 0;
  for (const row of lab.chunks()) if (row.state === "allocated") live += row.size;
  return { lines, stats: lab.stats(), live };
}

/** The first line where two runs differ, or null. */
export function firstDifference(real: readonly string[], model: readonly string[]): string | null {
  const n = Math.min(real.length, model.length);
  for (let i = 0; i < n; i++) {
    if (real[i] !== model[i]) return `line ${i + 1}: real \`${real[i]}\`, model \`${model[i]}\``;
  }
  if (real.length !== model.length) return `real has ${real.length} lines, model ${model.length}`;
  return null;
}

/** The MallocExtension properties the real run reported, as the model reports them. */
export function statDifferences(real: Record<string, number>, model: Record<string, number>): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(real)) {
    if (!(name in model)) out.push(`${name}: model does not report it`);
    else if (model[name] !== value) out.push(`${name}: real ${value}, model ${model[name]}`);
  }
  return out;
}
