// End-to-end replay of the largest shared trace, read from its .gz file: `heaplab replay --addresses` against
// the native replayer (gunzip + replay + the same lines), wall time, best of a few runs, in the same run.

import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const traceGz = join(root, "..", "shared", "traces", "sqlite3-memdb.trace.gz");
const ROUNDS = Number(process.env.ROUNDS) || 5;
if (!existsSync(traceGz)) {
  console.log(`skipped: ${traceGz} not found`);
  process.exit(0);
}

const source = join(root, "test", "oracle", "glibc-replay.c");
const hash = createHash("sha256").update(readFileSync(source)).digest("hex").slice(0, 12);
const dir = join(root, "node_modules", ".cache", "heaplab-bench");
const oracle = join(dir, `glibc-replay-${hash}`);
if (!existsSync(oracle)) {
  mkdirSync(dir, { recursive: true });
  execFileSync("cc", ["-O2", "-o", oracle, source, "-lpthread", "-ldl"], { stdio: "inherit" });
}

function best(command, args) {
  let min = Infinity;
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(command, args, { stdio: ["ignore", "ignore", "inherit"] });
    if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.status}`);
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return min;
}

const tmp = join(dir, "e2e.trace");
// What heaplab pays before it parses a line: Node's start, its own modules, the gunzip and the model's compile.
const floor = join(dir, "e2e-floor.mjs");
writeFileSync(floor, `
const dist = ${JSON.stringify(join(root, "dist"))};
const [{ createLab }] = await Promise.all([import(dist + "/lab/lab.js"), import(dist + "/cli/replay.js")]);
const { createReadStream } = await import("node:fs");
const { createGunzip } = await import("node:zlib");
const lab = createLab({ model: "ptmalloc" });
for await (const chunk of createReadStream(process.argv[2], { highWaterMark: 1 << 20 }).pipe(createGunzip({ chunkSize: 1 << 20 }))) void chunk;
await lab;
`);
const binary = join(dir, "e2e.hlb");
execFileSync(process.execPath, [join(root, "dist", "cli", "main.js"), "convert", traceGz, "-o", binary, "--to", "binary"], { stdio: "ignore" });
const rows = [
  ["native: gunzip + replay + lines", best("sh", ["-c", `gzip -dc '${traceGz}' > '${tmp}' && '${oracle}' '${tmp}'`])],
  ["heaplab replay --addresses (text .gz)", best(process.execPath, [join(root, "dist", "cli", "main.js"), "replay", traceGz, "--addresses"])],
  ["heaplab replay --addresses (binary .hlb)", best(process.execPath, [join(root, "dist", "cli", "main.js"), "replay", binary, "--addresses"])],
  ["heaplab replay, report (text .gz)", best(process.execPath, [join(root, "dist", "cli", "main.js"), "replay", traceGz])],
  ["  floor: node -e 0", best(process.execPath, ["-e", "0"])],
  ["  floor: + modules, gunzip, model compile", best(process.execPath, [floor, traceGz])],
];
const native = rows[0][1];
console.log(`sqlite3-memdb.trace.gz end to end, wall time, best of ${ROUNDS}`);
for (const [name, ms] of rows) console.log(`${name.padEnd(44)} ${ms.toFixed(0).padStart(6)} ms  ratio ${(ms / native).toFixed(2)}`);
console.log("(the floor rows parse nothing and replay nothing: what any Node program reading this trace pays first)");
