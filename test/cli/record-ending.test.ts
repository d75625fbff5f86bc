// A recording keeps every call a program made however it ends: a forked child that leaves by _exit, a program
// that aborts or faults, and says so when a file may be incomplete (SIGKILL). `record -o` into a missing folder
// fails before the program runs.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildRecorder } from "../../src/cli/record.js";
import { oracleUnavailable } from "../oracle/native.js";
import { heaplab } from "./run.js";

const unavailable = oracleUnavailable();
if (unavailable) console.warn(`skipping recorder tests: ${unavailable}`);

let dir: string;

beforeAll(() => {
  if (unavailable) return;
  dir = mkdtempSync(join(tmpdir(), "heaplab-record-ending-"));
  buildRecorder();
});

/** Compiles `body` (the statements of main, after `n` mallocs kept in `p`) into a program. */
function program(name: string, body: string, mallocs: number): string {
  const c = join(dir, `${name}.c`);
  const exe = join(dir, name);
  writeFileSync(c, String.raw`
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
static void *p[${mallocs}];
static void allocate(void) { for (int i = 0; i < ${mallocs}; i++) p[i] = malloc(16 + i); }
int main(void) {
  ${body}
  return 0;
}
`);
  const cc = spawnSync("cc", ["-O0", "-o", exe, c], { encoding: "utf8" });
  if (cc.status !== 0) throw new Error(cc.stderr);
  return exe;
}

/** The malloc records of a recording, and its comments. */
function records(path: string): { mallocs: number; comments: string[] } {
  const lines = readFileSync(path, "utf8").split("\n");
  return {
    mallocs: lines.filter((l) => /^\d+ \d+ m /.test(l)).length,
    comments: lines.filter((l) => l.startsWith("#") && !l.startsWith("# alloc-trace") && !l.startsWith("# heap-base")),
  };
}

describe.skipIf(unavailable)("record: how a program ends", () => {
  it("keeps the records of forked children that leave by _exit", () => {
    const exe = program("fork-exit", `
      pid_t child = fork();
      if (child == 0) { allocate(); _exit(0); }
      waitpid(child, 0, 0);`, 200);
    const out = join(dir, "fork.trace");
    const r = heaplab(["record", "-o", out, "--", exe]);
    expect(r.status).toBe(0);
    const children = readdirSync(dir).filter((n) => /^fork\.trace\.\d+$/.test(n));
    expect(children).toHaveLength(1);
    const child = records(join(dir, children[0]));
    expect(child.mallocs).toBe(200);
    expect(child.comments.at(-1)).toBe("# exit seq=200");
    expect(child.comments.filter((c) => c.startsWith("# signal"))).toEqual([]);
    expect(r.stderr).not.toMatch(/incomplete/);
  });

  const deaths: [string, string, number, number][] = [
    ["aborts", "abort();", 6, 100],
    ["faults", "*(volatile int *)0 = 1;", 11, 50],
  ];
  for (const [name, death, signal, mallocs] of deaths) {
    it(`keeps the records of a program that ${name}, and names the signal`, () => {
      const exe = program(name, `allocate(); ${death}`, mallocs);
      const out = join(dir, `${name}.trace`);
      const r = heaplab(["record", "-o", out, "--", exe]);
      expect(r.status).toBe(128 + signal);
      const rec = records(out);
      expect(rec.mallocs).toBe(mallocs);
      expect(rec.comments.at(-1)).toBe(`# signal ${signal} seq=${mallocs}`);
      expect(r.stderr).toMatch(new RegExp(`was killed by signal ${signal}`));
    });
  }

  it("keeps the free glibc aborts on, so that the replay stops where the program did", () => {
    const exe = program("double-free", "allocate(); free(p[3]); free(p[3]);", 10);
    const out = join(dir, "double-free.trace");
    const r = heaplab(["record", "-o", out, "--", exe]);
    expect(r.status).toBe(128 + 6);
    expect(records(out).comments.at(-1)).toBe("# signal 6 seq=12");
    const replay = heaplab(["replay", out]);
    expect(replay.stderr.trimEnd()).toMatch(/^heaplab: .*double-free\.trace:\d+: double free of 0x[0-9a-f]+ \(freed at line \d+\)$/);
    expect(replay.status).toBe(1);
  });

  it("leaves a program's own handler alone", () => {
    const exe = program("handler", `
      signal(SIGTERM, SIG_IGN);
      allocate();
      raise(SIGTERM);`, 10);
    const out = join(dir, "own.trace");
    const r = heaplab(["record", "-o", out, "--", exe]);
    expect(r.status).toBe(0);
    expect(records(out).comments.at(-1)).toBe("# exit seq=10");
  });

  it("warns that a killed program's file may be incomplete", () => {
    const exe = program("killed", "allocate(); kill(getpid(), SIGKILL);", 20);
    const out = join(dir, "killed.trace");
    const r = heaplab(["record", "-o", out, "--", exe]);
    expect(r.status).toBe(128 + 9);
    expect(r.stderr).toMatch(/killed\.trace may be incomplete: pid \d+ ended without writing its last records/);
  });

  it("fails before running the program when the output's folder is missing", () => {
    const marker = join(dir, "ran");
    const r = heaplab(["record", "-o", join(dir, "missing", "dir", "x.trace"), "--", "sh", "-c", `touch ${marker}`]);
    expect(r.stderr.trimEnd()).toMatch(/^heaplab: -o .*missing\/dir\/x\.trace: no such folder .*missing\/dir$/);
    expect(r.status).toBe(1);
    expect(existsSync(marker)).toBe(false);
  });
});
