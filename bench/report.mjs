// The report against a bare replay: `heaplab replay` (the report, the main job) and `heaplab replay --addresses`
// on the same trace, both models, wall time, best of a few interleaved runs, in the same run. The report's
// decomposition at every peak must not make it cost much more than the replay itself (target: ratio ≤ 1.5).
//
// Traces: the largest shared trace, and a trace of millions of operations recorded here with `heaplab record`
// (a Python program run with PYTHONMALLOC=malloc, cached in node_modules/.cache/heaplab-bench). On the large one
// `--addresses` is also compared with the native replayer on the real glibc (target: ratio ≤ 1.0).

import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "dist", "cli", "main.js");
const cache = join(root, "node_modules", ".cache", "heaplab-bench");
const ROUNDS = Number(process.env.ROUNDS) || 3;
mkdirSync(cache, { recursive: true });

/** Records bench/programs/json-dicts.py once; returns the .trace.gz of the Python process (null without python3). */
function recordedPython() {
  const program = join(root, "bench", "programs", "json-dicts.py");
  const hash = createHash("sha256").update(readFileSync(program)).digest("hex").slice(0, 12);
  const out = join(cache, `python-json-dicts-${hash}.trace.gz`);
  if (existsSync(out)) return out;
  if (spawnSync("python3", ["--version"]).status !== 0) return null;
  const dir = mkdtempSync(join(tmpdir(), "heaplab-bench-record-"));
  try {
    execFileSync(process.execPath, [cli, "record", "-o", join(dir, "python.trace"), "--", "python3", program],
      { stdio: ["ignore", "ignore", "ignore"], env: { ...process.env, PYTHONMALLOC: "malloc" } });
    // a wrapper (a pyenv shim, env) may run first: the interpreter's file is the largest
    const largest = readdirSync(dir).map((f) => join(dir, f)).sort((a, b) => statSync(b).size - statSync(a).size)[0];
    writeFileSync(`${out}.tmp`, gzipSync(readFileSync(largest)));
    renameSync(`${out}.tmp`, out);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function nativeReplayer() {
  const source = join(root, "test", "oracle", "glibc-replay.c");
  const hash = createHash("sha256").update(readFileSync(source)).digest("hex").slice(0, 12);
  const binary = join(cache, `glibc-replay-${hash}`);
  if (!existsSync(binary)) execFileSync("cc", ["-O2", "-o", binary, source, "-lpthread", "-ldl"], { stdio: "inherit" });
  return binary;
}

function wall(command, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(command, args, { stdio: ["ignore", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Best wall time of each command, the commands run in turn ROUNDS times (so machine noise hits them alike). */
function bestInterleaved(commands) {
  const best = commands.map(() => Infinity);
  for (let r = 0; r < ROUNDS; r++) commands.forEach(([command, args], k) => { best[k] = Math.min(best[k], wall(command, args)); });
  return best;
}

const opsOf = (gz) => execFileSync("sh", ["-c", `gzip -dc '${gz}' | grep -vc '^#'`]).toString().trim();

const traces = [join(root, "..", "shared", "traces", "sqlite3-memdb.trace.gz"), recordedPython()]
  .filter((t) => t && existsSync(t));
for (const trace of traces) {
  console.log(`\n${trace.split("/").pop()}: ${Number(opsOf(trace)).toLocaleString("en-US")} ops, wall time, best of ${ROUNDS}`);
  for (const model of ["ptmalloc", "tcmalloc"]) {
    const [addresses, report] = bestInterleaved([
      [process.execPath, [cli, "replay", trace, "--model", model, "--addresses"]],
      [process.execPath, [cli, "replay", trace, "--model", model]],
    ]);
    console.log(`  ${model.padEnd(9)} --addresses ${addresses.toFixed(0).padStart(6)} ms   report ${report.toFixed(0).padStart(6)} ms`
      + `   report / --addresses ${(report / addresses).toFixed(2)}`);
  }
}

const large = traces.find((t) => t.includes("python"));
if (large) {
  const plain = join(cache, "report-large.trace");
  const [native, addresses] = bestInterleaved([
    ["sh", ["-c", `gzip -dc '${large}' > '${plain}' && '${nativeReplayer()}' '${plain}'`]],
    [process.execPath, [cli, "replay", large, "--addresses"]],
  ]);
  console.log(`\nend to end on ${large.split("/").pop()}: native (gunzip + replay + lines) ${native.toFixed(0)} ms,`
    + ` heaplab replay --addresses ${addresses.toFixed(0)} ms: ratio ${(addresses / native).toFixed(2)}`);
}
