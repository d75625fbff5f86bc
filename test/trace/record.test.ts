// The recorder on real programs: the file parses, its order is a real order across threads, fork writes one file
// per process, and replaying the recording on the real glibc reproduces the recorded heap addresses (offsets from
// the recorded initial program break), and so does the ptmalloc model when it is built.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildRecorder, recordProcess, recordedFiles } from "../../src/cli/record.js";
import { openTrace } from "../../src/trace/detect.js";
import { OpCode, type TraceSource } from "../../src/trace/types.js";
import { oracleUnavailable, repoRoot, runNative } from "../oracle/native.js";

const unavailable = oracleUnavailable();
if (unavailable) console.warn(`skipping recorder tests: ${unavailable}`);
const PYTHON = ["/usr/bin/python3", "/usr/bin/python3.11"].find((p) => existsSync(p));
const modelBuilt = existsSync(join(repoRoot, "build", "ptmalloc.wasm"));

let dir: string;

beforeAll(() => {
  if (unavailable) return;
  dir = mkdtempSync(join(tmpdir(), "heaplab-record-"));
  buildRecorder();
});

interface Recording {
  text: string;
  ops: { seq: number; tid: number; code: number; ptr: number; size: number; res: number }[];
  heapBase: bigint;
  comments: string[];
}

async function load(path: string): Promise<Recording> {
  const source: TraceSource = await openTrace(path);
  expect(source.header.format).toBe("alloc-trace");
  const ops: Recording["ops"] = [];
  const comments: string[] = [];
  for await (const b of source.batches()) {
    for (const c of b.comments ?? []) comments.push(c.text);
    for (let i = 0; i < b.length; i++) {
      ops.push({ seq: b.seq[i], tid: b.tid[i], code: b.code[i], ptr: b.ptr[i], size: b.a[i], res: b.res[i] });
    }
  }
  const text = readFileSync(path, "latin1");
  const base = /^# heap-base (0x[0-9a-f]+)$/m.exec(text);
  return { text, ops, comments, heapBase: BigInt(base ? base[1] : 0) };
}

/** Checks the recording's own consistency: seq 1, 2, 3 …; no allocation returns a block that is live in file order. */
function checkOrder(rec: Recording): void {
  const live = new Set<number>();
  rec.ops.forEach((op, k) => {
    expect(op.seq).toBe(k + 1);
    if (op.code === OpCode.free) {
      live.delete(op.ptr);
      return;
    }
    if (op.code === OpCode.trim) return;
    if (op.code === OpCode.realloc && op.ptr !== 0 && (op.res !== 0 || op.size === 0)) live.delete(op.ptr);
    if (op.res !== 0) {
      if (live.has(op.res)) throw new Error(`seq ${op.seq}: 0x${op.res.toString(16)} returned while still live in file order`);
      live.add(op.res);
    }
  });
}

/** Replay lines whose heap offset differs from the recording's (recorded address − recorded heap base). */
function heapMismatches(lines: string[], rec: Recording): string[] {
  const bySeq = new Map(rec.ops.map((o) => [o.seq, o]));
  const bad: string[] = [];
  const arenaBases = new Map<string, bigint>();
  for (const line of lines) {
    const [seq, , , where] = line.split(" ");
    const m = /^(heap|arena\d+)([+-])0x([0-9a-f]+)$/.exec(where ?? "");
    if (!m) continue;
    const offset = (m[2] === "-" ? -1n : 1n) * BigInt(`0x${m[3]}`);
    const recorded = BigInt(bySeq.get(Number(seq))!.res);
    // Arenas start where mmap put them; only their internal layout can be compared.
    if (m[1] !== "heap" && !arenaBases.has(m[1])) arenaBases.set(m[1], recorded - offset);
    const base = m[1] === "heap" ? rec.heapBase : arenaBases.get(m[1])!;
    if (recorded - base !== offset) bad.push(`${line} (recorded ${m[1]}+0x${(recorded - base).toString(16)})`);
  }
  return bad;
}

async function record(name: string, command: string[]): Promise<string> {
  const out = join(dir, `${name}.trace`);
  const status = await recordProcess(command, out);
  expect(status).toBe(0);
  return out;
}

function compile(name: string, source: string): string {
  const c = join(dir, `${name}.c`);
  const exe = join(dir, name);
  writeFileSync(c, source);
  const cc = spawnSync("cc", ["-O0", "-o", exe, c, "-lpthread"], { encoding: "utf8" });
  if (cc.status !== 0) throw new Error(cc.stderr);
  return exe;
}

const THREADS_PROGRAM = String.raw`
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
static pthread_barrier_t done;
static void *work(void *arg) {
  unsigned seed = (unsigned)(size_t)arg;
  void *slots[64] = {0};
  for (int i = 0; i < 4000; i++) {
    seed = seed * 1103515245u + 12345u;
    int k = (seed >> 8) % 64;
    if (slots[k]) { free(slots[k]); slots[k] = 0; }
    else {
      size_t n = 1 + (seed >> 16) % 600;
      slots[k] = (seed & 1) ? malloc(n) : calloc(1, n);
      memset(slots[k], 1, n);
    }
    if (i % 500 == 0) { void *r = realloc(slots[k], 2000); if (r) slots[k] = r; }
  }
  for (int k = 0; k < 64; k++) free(slots[k]);
  pthread_barrier_wait(&done); /* no thread exits (handing its arena on) before all have allocated */
  return 0;
}
int main(void) {
  pthread_t t[4];
  pthread_barrier_init(&done, 0, 4);
  for (int i = 0; i < 4; i++) pthread_create(&t[i], 0, work, (void *)(size_t)(i + 1));
  void *p = malloc(100);
  for (int i = 0; i < 4; i++) pthread_join(t[i], 0);
  free(p);
  return 0;
}
`;

const FORK_PROGRAM = String.raw`
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
  void *a = malloc(40);
  pid_t child = fork();
  if (child == 0) {
    void *b = malloc(1000);
    free(a);
    free(b);
    exit(0);
  }
  waitpid(child, 0, 0);
  void *c = malloc(50);
  free(c);
  free(a);
  return 0;
}
`;

describe.skipIf(unavailable)("record", () => {
  it("records sort: header, main and exit marks, consecutive seq, a replayable order", async () => {
    const input = join(dir, "lines.txt");
    const lines: string[] = [];
    for (let i = 0; i < 30000; i++) lines.push(`${(i * 7919) % 30011} line ${i}`);
    writeFileSync(input, lines.join("\n"));
    const out = await record("sort", ["sort", "-S", "1M", "--parallel=1", "-o", join(dir, "sorted.txt"), input]);
    const rec = await load(out);
    expect(rec.comments[0]).toMatch(/^# alloc-trace v1 pid=\d+ ppid=\d+ exe=sort$/);
    expect(rec.comments.some((c) => /^# main seq=\d+$/.test(c))).toBe(true);
    expect(rec.comments.some((c) => /^# exit seq=\d+$/.test(c))).toBe(true);
    expect(rec.ops.length).toBeGreaterThan(100);
    checkOrder(rec);
  });

  it("replaying sort on the real glibc reproduces every recorded heap address", async () => {
    const rec = await load(join(dir, "sort.trace"));
    const run = await runNative(join(dir, "sort.trace"), { threads: "merge" });
    const heapLines = run.lines.filter((l) => / heap[+-]/.test(l));
    expect(heapLines.length).toBeGreaterThan(50);
    expect(heapMismatches(run.lines, rec).slice(0, 5)).toEqual([]);
  });

  it.skipIf(!PYTHON)("records python3 and the real glibc replay reproduces its heap addresses", async () => {
    const out = await record("python", [PYTHON!, "-c", "d = {str(i): [i] * (i % 7) for i in range(20000)}\nprint(len(d))"]);
    const rec = await load(out);
    expect(rec.ops.length).toBeGreaterThan(1000);
    checkOrder(rec);
    const run = await runNative(out, { threads: "merge" });
    expect(heapMismatches(run.lines, rec).slice(0, 5)).toEqual([]);
  });

  it("records every thread of a multi-threaded program in a real order; a lockstep replay reproduces it", async () => {
    const exe = compile("threads", THREADS_PROGRAM);
    const out = await record("threads", [exe]);
    const rec = await load(out);
    const tids = new Set(rec.ops.map((o) => o.tid));
    expect(tids.size).toBe(5);
    checkOrder(rec);
    const run = await runNative(out, { threads: "real" });
    expect(run.lines.some((l) => / arena\d+\+/.test(l))).toBe(true);
    expect(heapMismatches(run.lines, rec).slice(0, 5)).toEqual([]);
  });

  it("writes one file per process across fork, the child's named <out>.<pid>", async () => {
    const exe = compile("forks", FORK_PROGRAM);
    const started = Date.now();
    const out = await record("forks", [exe]);
    const files = recordedFiles(out, started);
    expect(files.map((f) => f.path)).toHaveLength(2);
    const parent = await load(out);
    const child = await load(files[1].path);
    expect(files[1].path).toBe(`${out}.${files[1].pid}`);
    expect(child.text).toMatch(new RegExp(`^# alloc-trace v1 pid=${files[1].pid} ppid=${files[0].pid} `));
    const sizes = (r: Recording) => r.ops.filter((o) => o.code === OpCode.malloc).map((o) => o.size);
    expect(sizes(parent)).toContain(40);
    expect(sizes(parent)).toContain(50);
    expect(sizes(parent)).not.toContain(1000);
    expect(sizes(child)).toContain(1000);
    // The child inherited the block at `a` and frees it: an unknown free in its own file.
    const a = parent.ops.find((o) => o.code === OpCode.malloc && o.size === 40)!.res;
    expect(child.ops.some((o) => o.code === OpCode.free && o.ptr === a)).toBe(true);
    checkOrder(parent);
  });

  it("names the image after an exec <name>.exec1 and keeps both", async () => {
    const started = Date.now();
    const out = await record("exec", ["sh", "-c", "exec sort /dev/null"]);
    const files = recordedFiles(out, started).map((f) => [f.path.slice(out.length), f.exe]);
    expect(files).toContainEqual(["", "dash"]);
    expect(files).toContainEqual([".exec1", "sort"]);
  });

  for (const name of ["sort", "python"]) {
    it.skipIf(!modelBuilt || (name === "python" && !PYTHON))(`the ptmalloc model reproduces the recorded heap addresses of ${name}`, async () => {
      const { addressLines } = await import("../../src/lab/addresses.js");
      const rec = await load(join(dir, `${name}.trace`));
      const lines = await addressLines(join(dir, `${name}.trace`), { model: "ptmalloc", threads: "merge" });
      expect(lines.filter((l) => / heap[+-]/.test(l)).length).toBeGreaterThan(50);
      expect(heapMismatches(lines, rec).slice(0, 5)).toEqual([]);
    });
  }
});
