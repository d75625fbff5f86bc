// Real programs recorded live for the differential tests of both models (*-realprog.test.ts): two small C
// programs that use every allocator entry point the trace format knows (one of them with rounds of threads that
// exceed glibc's arena limit and exit), perl, awk and, when installed, sqlite3. Each is recorded once per test
// file with native/recorder.c into a scratch folder; the traces never enter the repository.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, it } from "vitest";
import { recordedFiles, recordProcess } from "../../src/cli/record.js";

/** Every entry point, failures included: aligned requests up to 64 KiB, trims, realloc to 0 and to mmap sizes. */
const MIX_C = `
#define _GNU_SOURCE
#include <stdlib.h>
#include <malloc.h>
int main(void) {
  void *p[300] = {0}; unsigned s = 99;
  for (int i = 0; i < 20000; i++) {
    s = s * 1103515245 + 12345; int k = (s >> 8) % 300; size_t n = (s >> 16) % 4000 + 1;
    switch ((s >> 4) % 12) {
    case 0: free(p[k]); p[k] = malloc(n); break;
    case 1: p[k] = realloc(p[k], n * ((s >> 3) % 4 ? 1 : 300)); break;
    case 2: free(p[k]); p[k] = calloc(n, 50); break;
    case 3: free(p[k]); p[k] = memalign(16 << (s % 12), n); break;
    case 4: free(p[k]); if (posix_memalign(&p[k], 32 << (s % 6), n * 100)) p[k] = 0; break;
    case 5: free(p[k]); p[k] = aligned_alloc(4096, n * 2); break;
    case 6: free(p[k]); p[k] = valloc(n * 70); break;
    case 7: free(p[k]); p[k] = pvalloc(n); break;
    case 8: free(p[k]); p[k] = malloc(n * 300); break;
    case 9: free(p[k]); p[k] = malloc((size_t)1 << 50); break;
    case 10: if (i % 500 == 0) malloc_trim(s % 70000); break;
    default: p[k] = realloc(p[k], 0); break;
    }
  }
  return 0;
}
`;

/** Two rounds of 20 threads (past 8 × cores arenas on small machines); each thread exits before the next round. */
export const ROUNDS_C = `
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <malloc.h>
static void *work(void *arg) {
  long id = (long)arg; void *p[64] = {0}; unsigned s = 777 + id * 31;
  for (int i = 0; i < 600; i++) {
    s = s * 1103515245 + 12345; int k = (s >> 8) % 64; size_t n = (s >> 16) % 5000 + 1;
    switch ((s >> 4) % 8) {
    case 0: free(p[k]); p[k] = malloc(n); break;
    case 1: p[k] = realloc(p[k], n * ((s >> 3) % 3 ? 1 : 100)); break;
    case 2: free(p[k]); p[k] = calloc(n, 3); break;
    case 3: free(p[k]); p[k] = memalign(16 << (s % 9), n); break;
    case 4: free(p[k]); p[k] = valloc(n); break;
    case 5: free(p[k]); p[k] = malloc(n * 300); break;
    case 6: if (i % 200 == 0) malloc_trim(id * 100); break;
    default: p[k] = realloc(p[k], 0); break;
    }
  }
  for (int k = 0; k < 64; k++) free(p[k]);
  return 0;
}
int main(void) {
  for (int round = 0; round < 2; round++) {
    pthread_t t[20];
    for (long i = 0; i < 20; i++) pthread_create(&t[i], 0, work, (void *)(i + round * 20));
    for (int i = 0; i < 20; i++) pthread_join(t[i], 0);
  }
  return 0;
}
`;

export interface Program {
  name: string;
  /** The recorded trace of the program's own process. */
  trace: string;
  /** The same without its `# thread-exit` lines, for models that keep an exited thread's caches with it. */
  withoutExits: string;
  threads: number;
}

function has(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/** Why the programs cannot be recorded here, or null. */
export function recordingUnavailable(): string | null {
  if (process.platform !== "linux" || process.arch !== "x64") return "recording needs Linux x86-64";
  for (const c of ["cc", "perl", "awk"]) if (!has(c)) return `recording needs ${c}`;
  return null;
}

/** Compiles and records the programs into a scratch folder (removed at exit). */
export async function recordPrograms(): Promise<Program[]> {
  const dir = mkdtempSync(join(tmpdir(), "heaplab-realprog-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const build = (name: string, source: string) => {
    writeFileSync(join(dir, `${name}.c`), source);
    const cc = spawnSync("cc", ["-O2", "-o", join(dir, name), join(dir, `${name}.c`), "-lpthread"], { encoding: "utf8" });
    if (cc.status !== 0) throw new Error(`cc ${name}.c: ${cc.stderr}`);
    return join(dir, name);
  };
  const lines = Array.from({ length: 20000 }, (_, i) => `${(i * 7919) % 100003} word${(i * 31) % 5000} ${"x".repeat(i % 40)}`);
  writeFileSync(join(dir, "input.txt"), lines.join("\n") + "\n");
  const commands: Array<[string, string[]]> = [
    ["mix", [build("mix", MIX_C)]],
    ["rounds", [build("rounds", ROUNDS_C)]],
    ["perl", ["perl", "-e", 'my %h; for my $i (1..20000) { $h{"k$i"} = "v" x ($i % 13) } my $n = 0; '
      + 'for (keys %h) { $n++ if /k(\\d+)7$/ && $1 % 3 } my @a = map { s/k/K/r } sort keys %h;']],
    ["awk", ["awk", '{ c[$2] += $1; s = s substr($3, 1, 3) } END { for (k in c) n++; print n, length(s) > "/dev/null" }',
      join(dir, "input.txt")]],
  ];
  if (has("sqlite3")) {
    commands.push(["sqlite3", ["sqlite3", ":memory:", "create table t(a, b); with recursive c(x) as (select 1 union all "
      + "select x + 1 from c where x < 10000) insert into t select x, hex(randomblob(x % 50)) from c; create index i on t(b); "
      + "update t set b = b || 'x' where a % 3 = 0; delete from t where a % 5 = 0; create table u as select * from t order by b;"]]);
  }
  const programs: Program[] = [];
  for (const [name, command] of commands) {
    const output = join(dir, `${name}.trace`);
    const started = Date.now();
    const status = await recordProcess(command, output);
    if (status !== 0) throw new Error(`${command.join(" ")} exited with ${status}`);
    const own = recordedFiles(output, started).find((f) => f.path === output);
    if (!own) throw new Error(`no trace written for ${name}`);
    const withoutExits = join(dir, `${name}.without-exits.trace`);
    writeFileSync(withoutExits, readFileSync(output, "latin1").replace(/^# thread-exit .*\n/gm, ""), "latin1");
    programs.push({ name, trace: output, withoutExits, threads: traceThreads(output) });
  }
  return programs;
}

function traceThreads(path: string): number {
  const tids = new Set<string>();
  for (const line of readFileSync(path, "latin1").split("\n")) {
    if (line === "" || line[0] === "#") continue;
    tids.add(line.split(" ", 2)[1]);
  }
  return tids.size;
}

/** The heap base the recorder saw (`# heap-base 0x…`: the program's initial program break). */
export function recordedHeapBase(path: string): number {
  const m = /^# heap-base (0x[0-9a-f]+)$/m.exec(readFileSync(path, "latin1").slice(0, 4096));
  if (!m) throw new Error(`${path}: no heap-base line`);
  return Number(m[1]);
}

/**
 * The program's own results as address lines (single-threaded traces): a block inside the brk heap becomes
 * `heap+0x…` from `base` (default: the recorded heap base), any other `mmap`; a realloc or free of an address the
 * trace never allocated is skipped, as the replayers skip it. `live` carries the blocks a forked child inherited
 * (fill it by reading the parent up to its fork with `untilSeq` and `quiet`).
 */
export function recordedAddressLines(
  path: string, options: { base?: number; live?: Set<string>; untilSeq?: number; quiet?: boolean } = {},
): string[] {
  const base = BigInt(options.base ?? recordedHeapBase(path));
  const live = options.live ?? new Set<string>();
  const out: string[] = [];
  const where = (res: string) => {
    if (res === "0x0") return "null";
    const offset = BigInt(res) - base;
    return offset >= 0n && offset < 1n << 36n ? `heap+0x${offset.toString(16)}` : "mmap";
  };
  for (const line of readFileSync(path, "latin1").split("\n")) {
    if (line === "" || line[0] === "#") continue;
    const f = line.split(" ");
    const [seq, , op] = f;
    if (options.untilSeq !== undefined && Number(seq) > options.untilSeq) break;
    let size: bigint;
    let res: string;
    if (op === "f") { live.delete(f[3]); continue; }
    if (op === "t") { out.push(`${seq} t ${f[3]} ${f[4]}`); continue; }
    if (op === "m" || op === "v" || op === "V") { size = BigInt(f[3]); res = f[4]; }
    else if (op === "c") { size = BigInt(f[3]) * BigInt(f[4]); res = f[5]; }
    else if (op === "r") {
      if (f[3] !== "0x0" && !live.has(f[3])) continue;
      size = BigInt(f[4]); res = f[5];
      // A failed realloc leaves the block where it was.
      if (res !== "0x0" || size === 0n) live.delete(f[3]);
    } else { size = BigInt(f[4]); res = f[5]; }
    if (res !== "0x0") live.add(res);
    out.push(`${seq} ${op} ${size} ${where(res)}`);
  }
  return options.quiet ? [] : out;
}

/** The programs every real-program suite replays. */
export const PROGRAM_NAMES = ["mix", "rounds", "perl", "awk", "sqlite3"];

/**
 * Inside a describe: records the programs once, then one test per program and thread mode, "real" (one thread per
 * trace thread) only for multi-threaded programs; a program that could not be recorded (sqlite3) is skipped.
 */
export function eachProgram(check: (program: Program, threads: "merge" | "real") => Promise<void>): void {
  const programs = new Map<string, Program>();
  beforeAll(async () => {
    for (const p of await recordPrograms()) programs.set(p.name, p);
  }, 120_000);
  for (const name of PROGRAM_NAMES) {
    for (const threads of ["merge", "real"] as const) {
      it(`${name} ${threads}`, async (ctx) => {
        const program = programs.get(name);
        if (!program || (threads === "real" && program.threads === 1)) return ctx.skip();
        await check(program, threads);
      }, 120_000);
    }
  }
}
