// Replay speed: the models' replay loop against the real allocators on the largest shared trace, or on the trace
// named by LARGE_TRACE= (an alloc-trace, gzipped or not: e.g. a multi-million-op recording of one's own).
// Both sides exclude parsing: the model replays batches already in memory (encoding to object ids and the wasm
// loop are timed), the native replayer times its own loop (--time --quiet).

import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLab, readAllocTrace } from "../dist/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const traceGz = process.env.LARGE_TRACE ?? join(root, "..", "shared", "traces", "sqlite3-memdb.trace.gz");
const traceName = basename(traceGz).replace(/\.trace(\.gz)?$/, "");
const TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4";
const MIMALLOC = "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2";
const JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
const ROUNDS = 5;

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

function nativeNsPerOp(bin, tracePath, extraEnv, args) {
  let best = Infinity;
  for (let i = 0; i < ROUNDS; i++) {
    const out = spawnSync(bin, [...args, "--time", "--quiet", tracePath], {
      env: { ...process.env, ...extraEnv }, stdio: ["ignore", "ignore", "pipe"],
    }).stderr.toString();
    const m = /([\d.]+) ns\/op/.exec(out);
    if (m) best = Math.min(best, Number(m[1]));
  }
  return best;
}

/** The model's replay time per op; `metrics`: with the replay metrics a report reads, or without (addresses). */
async function modelNsPerOp(model, batches, metrics) {
  let best = Infinity;
  let ops = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const lab = await createLab({ model, metrics });
    const source = { name: "bench", header: { format: "alloc-trace" }, loss: {}, batches: async function* () { yield* batches; } };
    const t0 = process.hrtime.bigint();
    const summary = await lab.replay(source);
    const ns = Number(process.hrtime.bigint() - t0);
    ops = summary.ops;
    best = Math.min(best, ns / ops);
  }
  return { nsPerOp: best, ops };
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
const glibc = nativeNsPerOp(bin, tracePath, {}, []);
const pt = await modelNsPerOp("ptmalloc", batches, false);
rows.push(["ptmalloc model vs glibc 2.36", pt.nsPerOp, glibc]);
rows.push(["  with the report's metrics", (await modelNsPerOp("ptmalloc", batches, true)).nsPerOp, glibc]);
if (existsSync(TCMALLOC) && existsSync(join(root, "build", "tcmalloc.wasm"))) {
  const real = nativeNsPerOp(bin, tracePath, { LD_PRELOAD: TCMALLOC }, ["--tcmalloc"]);
  const tc = await modelNsPerOp("tcmalloc", batches, false);
  rows.push(["tcmalloc model vs gperftools 2.10", tc.nsPerOp, real]);
  rows.push(["  with the report's metrics", (await modelNsPerOp("tcmalloc", batches, true)).nsPerOp, real]);
}
if (existsSync(MIMALLOC) && existsSync(join(root, "build", "mimalloc.wasm"))) {
  const real = nativeNsPerOp(bin, tracePath, { LD_PRELOAD: MIMALLOC }, ["--preloaded"]);
  const mi = await modelNsPerOp("mimalloc", batches, false);
  rows.push(["mimalloc model vs mimalloc 2.0.9", mi.nsPerOp, real]);
  rows.push(["  with the report's metrics", (await modelNsPerOp("mimalloc", batches, true)).nsPerOp, real]);
}
if (existsSync(JEMALLOC) && existsSync(join(root, "build", "jemalloc.wasm"))) {
  const conf = { LD_PRELOAD: JEMALLOC, MALLOC_CONF: "dirty_decay_ms:-1,muzzy_decay_ms:-1" };
  const real = nativeNsPerOp(bin, tracePath, conf, ["--preloaded"]);
  const je = await modelNsPerOp("jemalloc", batches, false);
  rows.push(["jemalloc model vs jemalloc 5.3.0", je.nsPerOp, real]);
  rows.push(["  with the report's metrics", (await modelNsPerOp("jemalloc", batches, true)).nsPerOp, real]);
}
console.log(`trace ${traceName} (${pt.ops} ops), best of ${ROUNDS}, parse excluded on both sides`);
console.log(`${"".padEnd(36)} ${"model ns/op".padStart(12)} ${"native ns/op".padStart(13)} ${"ratio".padStart(7)}`);
for (const [name, model, native] of rows) {
  console.log(`${name.padEnd(36)} ${model.toFixed(1).padStart(12)} ${native.toFixed(1).padStart(13)} ${(model / native).toFixed(2).padStart(7)}`);
}
