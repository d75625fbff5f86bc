// Replay speed: the models' replay loop against the real allocators on the largest shared trace, or on the trace
// named by LARGE_TRACE= (an alloc-trace, gzipped or not: e.g. a multi-million-op recording of one's own).
// Both sides exclude parsing: the model replays batches already in memory (encoding to object ids and the wasm
// loop are timed), the native replayer times its own loop (--time --quiet). Each round runs the real library, the
// model and the model with the report's metrics in turn; a round's lab is collected before the next one starts
// (the script runs itself again with --expose-gc when it lacks gc).

import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLab, readAllocTrace } from "../dist/index.js";

if (!globalThis.gc) {
  const run = spawnSync(process.execPath, ["--expose-gc", ...process.argv.slice(1)], { stdio: "inherit" });
  process.exit(run.status ?? 1);
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const traceGz = process.env.LARGE_TRACE ?? join(root, "..", "shared", "traces", "sqlite3-memdb.trace.gz");
const traceName = basename(traceGz).replace(/\.trace(\.gz)?$/, "");
const TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4";
const MIMALLOC = "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2";
const JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
const ROUNDS = Number(process.env.ROUNDS) || 5;
/** MODELS=jemalloc,ptmalloc: only these models (default: all). */
const MODELS = process.env.MODELS?.split(",");

function oracleBinary() {
  const source = join(root, "test", "oracle", "glibc-replay.c");
  const hash = createHash("sha256").update(readFileSync(source)).digest("hex").slice(0, 12);
  const dir = join(root, "node_modules", ".cache", "heaplab-bench");
  const bin = join(dir, `glibc-replay-${hash}`);
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    execFileSync("cc", ["-O2", "-o", bin, source, "-lpthread", "-ldl"], { stdio: "inherit" });
  }
  return bin;
}

/** The native replayer's own loop time per op, one run. */
function nativeRound(bin, tracePath, extraEnv, args) {
  const out = spawnSync(bin, [...args, "--time", "--quiet", tracePath], {
    env: { ...process.env, ...extraEnv }, stdio: ["ignore", "ignore", "pipe"],
  }).stderr.toString();
  const m = /([\d.]+) ns\/op/.exec(out);
  if (!m) throw new Error(`${bin}: no timing in ${JSON.stringify(out)}`);
  return Number(m[1]);
}

/** The model's replay time per op, one run on a fresh lab; `metrics`: with the metrics a report reads. */
async function modelRound(model, batches, metrics) {
  globalThis.gc?.(); // the last round's instance goes now, not in the middle of this one
  const lab = await createLab({ model, metrics });
  const source = { name: "bench", header: { format: "alloc-trace" }, loss: {}, batches: async function* () { yield* batches; } };
  const t0 = process.hrtime.bigint();
  const summary = await lab.replay(source);
  return { nsPerOp: Number(process.hrtime.bigint() - t0) / summary.ops, ops: summary.ops };
}

/**
 * Best ns/op of the real allocator, of the model and of the model with the report's metrics, their rounds taken in
 * turn, so that the machine's noise hits all three alike.
 */
async function compare(model, batches, bin, tracePath, extraEnv, args) {
  const best = { native: Infinity, bare: Infinity, metrics: Infinity, ops: 0 };
  for (let i = 0; i < ROUNDS; i++) {
    best.native = Math.min(best.native, nativeRound(bin, tracePath, extraEnv, args));
    const bare = await modelRound(model, batches, false);
    best.bare = Math.min(best.bare, bare.nsPerOp);
    best.ops = bare.ops;
    best.metrics = Math.min(best.metrics, (await modelRound(model, batches, true)).nsPerOp);
  }
  return best;
}

if (!existsSync(traceGz)) {
  console.log(`skipped: ${traceGz} not found`);
  process.exit(0);
}
const tracePath = join(root, "node_modules", ".cache", "heaplab-bench", `${traceName}.trace`);
mkdirSync(dirname(tracePath), { recursive: true });
const traceBytes = readFileSync(traceGz);
writeFileSync(tracePath, traceGz.endsWith(".gz") ? gunzipSync(traceBytes) : traceBytes);
const batches = [];
for await (const b of readAllocTrace(tracePath).batches()) batches.push(b);
const bin = oracleBinary();

const rows = [];
const real = [
  ["ptmalloc", "glibc 2.36", null, {}, []],
  ["tcmalloc", "gperftools 2.10", TCMALLOC, { LD_PRELOAD: TCMALLOC }, ["--tcmalloc"]],
  ["mimalloc", "mimalloc 2.0.9", MIMALLOC, { LD_PRELOAD: MIMALLOC }, ["--preloaded"]],
  ["jemalloc", "jemalloc 5.3.0", JEMALLOC,
    { LD_PRELOAD: JEMALLOC, MALLOC_CONF: "dirty_decay_ms:-1,muzzy_decay_ms:-1" }, ["--preloaded"]],
];
let ops = 0;
for (const [model, library, path, env, args] of real) {
  if (MODELS && !MODELS.includes(model)) continue;
  if (path && !(existsSync(path) && existsSync(join(root, "build", `${model}.wasm`)))) continue;
  const best = await compare(model, batches, bin, tracePath, env, args);
  ops = best.ops;
  rows.push([`${model} model vs ${library}`, best.bare, best.native]);
  rows.push(["  with the report's metrics", best.metrics, best.native]);
}
console.log(`trace ${traceName} (${ops} ops), best of ${ROUNDS} rounds taken in turn, parse excluded on both sides`);
console.log(`${"".padEnd(36)} ${"model ns/op".padStart(12)} ${"native ns/op".padStart(13)} ${"ratio".padStart(7)}`);
for (const [name, model, native] of rows) {
  console.log(`${name.padEnd(36)} ${model.toFixed(1).padStart(12)} ${native.toFixed(1).padStart(13)} ${(model / native).toFixed(2).padStart(7)}`);
}
