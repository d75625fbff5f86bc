// What recording costs a program: a Python program (bench/programs/json-dicts.py under PYTHONMALLOC=malloc, about
// 3 million allocator calls) and a C program (bench/programs/churn.c, about 2 million), each run bare, under the
// recorder, and under the recorder with call sites of one frame (the return address) and of eight (backtrace),
// wall time, best of a few interleaved runs; ratios against the bare run of the same round. Resolving the sites
// with addr2line once the program has ended is timed apart. Then the report: a trace without call sites against
// the same trace with them (what the per-site accounts cost), and, without sites, the report against itself with
// the call-site tables turned off (what their mere presence costs: nothing is expected).
//
//   ROUNDS=5   runs of each mode (default 3)

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildRecorder, recordedFiles, recordingEnv } from "../dist/cli/record.js";
import { symbolizeRecording } from "../dist/cli/symbolize.js";
import { replayReport } from "../dist/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const ROUNDS = Number(process.env.ROUNDS) || 3;
const dir = mkdtempSync(join(tmpdir(), "heaplab-bench-record-"));
const library = buildRecorder();

const churn = join(dir, "churn");
if (spawnSync("cc", ["-O2", "-g", "-o", churn, join(root, "bench", "programs", "churn.c")]).status !== 0) {
  throw new Error("cannot compile bench/programs/churn.c");
}
const PYTHON = ["/usr/bin/python3", "/usr/bin/python3.11"].find((p) => existsSync(p));
const programs = [
  ...(PYTHON ? [{ name: "python3 json-dicts.py", command: [PYTHON, join(root, "bench", "programs", "json-dicts.py")],
    env: { PYTHONMALLOC: "malloc" } }] : []),
  { name: "C churn", command: [churn], env: {} },
];
const MODES = [
  { name: "bare", record: false },
  { name: "recorded", record: true, sites: 0 },
  { name: "+ return address", record: true, sites: 1 },
  { name: "+ 8 frames", record: true, sites: 8 },
];

/** Seconds of one run of `program` in `mode`; the trace it wrote (if any) is in `output`. */
function run(program, mode, output) {
  const base = { ...process.env, ...program.env };
  const env = mode.record ? { ...recordingEnv(library, output, undefined, mode.sites), ...program.env } : base;
  const started = process.hrtime.bigint();
  const result = spawnSync(program.command[0], program.command.slice(1), { env, stdio: ["ignore", "ignore", "inherit"] });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${program.name} (${mode.name}) exited with ${result.status}`);
  return seconds;
}

/** Allocator calls of a recording: the last sequence number of its command's own file. */
function calls(output) {
  const [file] = recordedFiles(output, 0);
  return file ? file.ops : 0;
}

/** Best seconds of each job, run interleaved (after one warm-up round) so that the machine's load falls on all. */
async function interleaved(jobs) {
  const best = jobs.map(() => Infinity);
  for (let r = 0; r <= ROUNDS; r++) {
    for (let k = 0; k < jobs.length; k++) {
      const started = process.hrtime.bigint();
      await jobs[k]();
      if (r > 0) best[k] = Math.min(best[k], Number(process.hrtime.bigint() - started) / 1e9);
    }
  }
  return best;
}

const traces = {};
for (const program of programs) {
  const best = Object.fromEntries(MODES.map((m) => [m.name, Infinity]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of MODES) {
      const output = join(dir, `${program.name.replace(/\W+/g, "-")}-${mode.sites ?? "bare"}.trace`);
      best[mode.name] = Math.min(best[mode.name], run(program, mode, output));
      if (mode.record) traces[`${program.name}|${mode.sites}`] = output;
    }
  }
  const output = traces[`${program.name}|8`];
  const started = process.hrtime.bigint();
  const resolved = await symbolizeRecording(output);
  const symbolize = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`${program.name}: ${(calls(output) / 1e6).toFixed(2)} M allocator calls, ${resolved.sites} call sites of 8 frames`);
  for (const mode of MODES) {
    const ratio = best[mode.name] / best.bare;
    console.log(`  ${mode.name.padEnd(18)} ${best[mode.name].toFixed(3).padStart(7)} s  ${ratio.toFixed(2)}×`);
  }
  console.log(`  resolving the 8-frame sites with addr2line afterwards: ${symbolize.toFixed(2)} s`);
}

// The report with and without call sites, on the C program's recordings (the same calls, one file with sites).
const plain = traces["C churn|0"];
const withSites = traces["C churn|1"];
const [bare, off, sited] = await interleaved([
  () => replayReport(plain), () => replayReport(plain, { callSites: 0 }), () => replayReport(withSites),
]);
console.log(`report (ptmalloc) of the C program's recording: ${bare.toFixed(3)} s without call sites; ` +
  `with the tables off ${(off / bare).toFixed(2)}×; the recording with call sites ${(sited / bare).toFixed(2)}×`);
rmSync(dir, { recursive: true, force: true });
