// The report against a bare replay: `heaplab replay` (the report, the main job) and `heaplab replay --addresses`
// on the same trace, every model, wall time, best of a few interleaved runs, in the same run. The report's
// decomposition at every peak must not make it cost much more than the replay itself (target: ratio ≤ 1.5).
// CPU time (user + system, best of the same runs) is printed beside the wall time: on a machine shared with other
// work it varies less.
//
// Traces: the largest shared trace, and a trace of millions of operations recorded here with `heaplab record`
// (a Python program run with PYTHONMALLOC=malloc, cached in node_modules/.cache/heaplab-bench), or LARGE_TRACE.
// On the large one `--addresses` is also compared with the native replayer on the real glibc (target: ratio ≤ 1.0).
//
//   MODELS=ptmalloc,mimalloc   the models to time (default: all)
//   LARGE_TRACE=file.trace.gz  the large trace instead of the recorded Python program
//   ROUNDS=5                   runs of each command (default 3)

import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { MODEL_NAMES } from "../dist/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "dist", "cli", "main.js");
const cache = join(root, "node_modules", ".cache", "heaplab-bench");
const ROUNDS = Number(process.env.ROUNDS) || 3;
const MODELS = process.env.MODELS ? process.env.MODELS.split(",") : MODEL_NAMES;
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

/** Wall and CPU time (user + system of the command and its children) of one run, in ms. */
function timed(command, args) {
  const t0 = process.hrtime.bigint();
  // `time` of the shell counts the children of a pipeline too (gzip beside the native replayer).
  const r = spawnSync("bash", ["-c", 'TIMEFORMAT="%U %S"; time "$@" > /dev/null', "timed", command, ...args],
    { stdio: ["ignore", "ignore", "pipe"] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  const [user, system] = r.stderr.toString().trim().split("\n").pop().split(" ").map(Number);
  return { wall: ms, cpu: (user + system) * 1000 };
}

/** Best wall and CPU time of each command, the commands run in turn ROUNDS times (so machine noise hits them alike). */
function bestInterleaved(commands) {
  const best = commands.map(() => ({ wall: Infinity, cpu: Infinity }));
  for (let r = 0; r < ROUNDS; r++) {
    commands.forEach(([command, args], k) => {
      const t = timed(command, args);
      best[k] = { wall: Math.min(best[k].wall, t.wall), cpu: Math.min(best[k].cpu, t.cpu) };
    });
  }
  return best;
}

const ms = (t) => `${t.wall.toFixed(0).padStart(6)} ms (cpu ${t.cpu.toFixed(0).padStart(6)})`;
const ratio = (a, b) => `${(a.wall / b.wall).toFixed(2)} (cpu ${(a.cpu / b.cpu).toFixed(2)})`;

const opsOf = (gz) => execFileSync("sh", ["-c", `gzip -dcf '${gz}' | grep -vc '^#'`]).toString().trim();

const large = process.env.LARGE_TRACE || recordedPython();
const traces = [join(root, "..", "shared", "traces", "sqlite3-memdb.trace.gz"), large].filter((t) => t && existsSync(t));
for (const trace of traces) {
  console.log(`\n${trace.split("/").pop()}: ${Number(opsOf(trace)).toLocaleString("en-US")} ops, wall time, best of ${ROUNDS}`);
  for (const model of MODELS) {
    const [addresses, report] = bestInterleaved([
      [process.execPath, [cli, "replay", trace, "--model", model, "--addresses"]],
      [process.execPath, [cli, "replay", trace, "--model", model]],
    ]);
    console.log(`  ${model.padEnd(9)} --addresses ${ms(addresses)}   report ${ms(report)}`
      + `   report / --addresses ${ratio(report, addresses)}`);
  }
}

if (large && existsSync(large)) {
  const plain = join(cache, "report-large.trace");
  const [native, addresses] = bestInterleaved([
    ["sh", ["-c", `gzip -dcf '${large}' > '${plain}' && '${nativeReplayer()}' '${plain}'`]],
    [process.execPath, [cli, "replay", large, "--addresses"]],
  ]);
  console.log(`\nend to end on ${large.split("/").pop()}: native (gunzip + replay + lines) ${ms(native)},`
    + ` heaplab replay --addresses ${ms(addresses)}: ratio ${ratio(addresses, native)}`);
}
