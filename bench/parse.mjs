// Parse throughput of every trace reader on the shared traces, each converted to every format in a temporary
// directory: MB/s of input and ops/s per CPU second, best of ROUNDS. Then the binary format's load speedup over alloc-trace text,
// plain and gzip-compressed.

import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { OpCode, encodeToBytes, openAs, readAllocTrace } from "../dist/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const traceDir = join(root, "..", "shared", "traces");
const ROUNDS = 7;
/** Untimed reads first, so that every reader is measured at its steady state (compiled, not warming up). */
const WARMUP = 3;
const hex = (v) => v.toString(16);

/** Formats without a writer in the library, rendered here from the ops (single pass, in memory). */
const RENDER = {
  android(ops) {
    return ops.map((o) => {
      switch (o.code) {
        case OpCode.free: return `${o.tid}: free 0x${hex(o.ptr)}`;
        case OpCode.calloc: return `${o.tid}: calloc 0x${hex(o.res)} ${o.a} ${o.b}`;
        case OpCode.realloc: return `${o.tid}: realloc 0x${hex(o.res)} 0x${hex(o.ptr)} ${o.a}`;
        case OpCode.memalign: case OpCode.alignedAlloc: case OpCode.posixMemalign: return `${o.tid}: memalign 0x${hex(o.res)} ${o.a} ${o.b}`;
        default: return `${o.tid}: malloc 0x${hex(o.res)} ${o.a}`;
      }
    });
  },
  heaptrack(ops) {
    const out = ["v 10500 3", "x 4 prog"];
    for (const o of ops) {
      if (o.code === OpCode.free) { if (o.ptr) out.push(`- ${hex(o.ptr)}`); continue; }
      if (o.code === OpCode.realloc && o.ptr) out.push(`- ${hex(o.ptr)}`);
      if (o.res) out.push(`+ ${hex(o.code === OpCode.calloc ? o.a * o.b : o.a)} 1 ${hex(o.res)}`);
    }
    return out;
  },
  ltrace(ops) {
    return ops.map((o) => {
      switch (o.code) {
        case OpCode.free: return `${o.tid} free(0x${hex(o.ptr)}) = <void>`;
        case OpCode.calloc: return `${o.tid} calloc(${o.a}, ${o.b}) = 0x${hex(o.res)}`;
        case OpCode.realloc: return `${o.tid} realloc(0x${hex(o.ptr)}, ${o.a}) = 0x${hex(o.res)}`;
        default: return `${o.tid} malloc(${o.a}) = 0x${hex(o.res)}`;
      }
    });
  },
};

async function opsOf(source) {
  const ops = [];
  for await (const b of source.batches()) {
    for (let i = 0; i < b.length; i++) ops.push({ tid: b.tid[i], code: b.code[i], ptr: b.ptr[i], a: b.a[i], b: b.b[i], res: b.res[i] });
  }
  return ops;
}

/**
 * Seconds to read every batch of `path` as `format` (best of ROUNDS after WARMUP reads), and the ops read. Time is the process's CPU
 * time (all threads, decompression and GC included), which a busy machine disturbs far less than wall time. The
 * reader stays in this thread (a parsing worker's start-up would count as load time) and the consumer recycles
 * batches, as the lab's replay does.
 */
async function timeRead(path, format) {
  let best = Infinity;
  let ops = 0;
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    const before = process.cpuUsage();
    let n = 0;
    for await (const b of openAs(path, format, { worker: false }).batches({ recycle: true })) n += b.length;
    if (r < WARMUP) continue;
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / 1e6);
    ops = n;
  }
  return { seconds: best, ops };
}

const dir = mkdtempSync(join(tmpdir(), "heaplab-bench-parse-"));
const traces = readdirSync(traceDir).filter((f) => f.endsWith(".trace.gz")).sort();
const pick = traces.filter((f) => /sqlite3|git-log|repack/.test(f));
const rows = [];
const totals = {};
try {
  for (const file of pick) {
    const name = file.replace(/\.trace\.gz$/, "");
    const gz = join(traceDir, file);
    const files = {
      "alloc-trace": join(dir, `${name}.trace`),
      "alloc-trace.gz": gz,
      binary: join(dir, `${name}.hlb`),
      "binary.gz": join(dir, `${name}.hlb.gz`),
      mtrace: join(dir, `${name}.mtrace`),
      rep: join(dir, `${name}.rep`),
      android: join(dir, `${name}.android`),
      heaptrack: join(dir, `${name}.heaptrack`),
      ltrace: join(dir, `${name}.ltrace`),
    };
    writeFileSync(files["alloc-trace"], await encodeToBytes(readAllocTrace(gz), "alloc-trace"));
    const binary = await encodeToBytes(readAllocTrace(gz), "binary");
    writeFileSync(files.binary, binary);
    writeFileSync(files["binary.gz"], gzipSync(binary));
    writeFileSync(files.mtrace, await encodeToBytes(readAllocTrace(gz), "mtrace"));
    writeFileSync(files.rep, await encodeToBytes(readAllocTrace(gz), "rep"));
    const ops = await opsOf(readAllocTrace(gz));
    for (const f of ["android", "heaptrack", "ltrace"]) writeFileSync(files[f], RENDER[f](ops).join("\n") + "\n");
    for (const [label, path] of Object.entries(files)) {
      const format = label.replace(/\.gz$/, "");
      const bytes = statSync(path).size;
      const { seconds, ops: n } = await timeRead(path, format);
      rows.push({ trace: name, format: label, MB: bytes / 1e6, seconds, n });
      totals[label] ??= { seconds: 0, MB: 0, n: 0 };
      totals[label].seconds += seconds;
      totals[label].MB += bytes / 1e6;
      totals[label].n += n;
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const pad = (s, n) => String(s).padEnd(n);
const num = (v, d = 1) => v.toFixed(d).padStart(9);
console.log(`${pad("trace", 28)}${pad("format", 16)}${"MB".padStart(9)}${"cpu ms".padStart(9)}${"MB/s".padStart(9)}${"Mops/s".padStart(9)}`);
for (const r of rows) {
  console.log(`${pad(r.trace, 28)}${pad(r.format, 16)}${num(r.MB, 2)}${num(r.seconds * 1000)}${num(r.MB / r.seconds)}${num(r.n / r.seconds / 1e6, 2)}`);
}
console.log("\nall traces together");
for (const [label, t] of Object.entries(totals)) {
  console.log(`  ${pad(label, 16)}${num(t.MB / t.seconds)} MB/s ${num(t.n / t.seconds / 1e6, 2)} Mops/s`);
}
const speedup = (a, b) => (totals[a].seconds / totals[b].seconds).toFixed(1);
console.log(`\nbinary load speedup over alloc-trace text: ${speedup("alloc-trace", "binary")}x plain, ${speedup("alloc-trace.gz", "binary.gz")}x gzip`);
