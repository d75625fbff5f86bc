// glibc's own mtrace output (libc_malloc_debug.so, MALLOC_TRACE) read back: every call of a small program, with the
// realloc pair, the failed realloc and the memalign, at the addresses the program printed itself, each allocation
// with its caller as its call site.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openTrace } from "../../src/trace/detect.js";
import { collect, show } from "./helpers.js";

const DEBUG_LIBRARY = "/lib/x86_64-linux-gnu/libc_malloc_debug.so.0";
const cc = spawnSync("cc", ["--version"], { stdio: "ignore" }).status === 0;
const unavailable = !cc ? "no C compiler" : !existsSync(DEBUG_LIBRARY) ? `missing ${DEBUG_LIBRARY}` : null;

const PROGRAM = String.raw`
#include <malloc.h>
#include <mcheck.h>
#include <stdio.h>
#include <stdlib.h>
int main(void) {
  mtrace();
  void *volatile a = malloc(100);
  void *volatile b = calloc(3, 40);
  void *volatile a2 = realloc(a, 5000);
  void *volatile c = realloc(0, 24);
  void *volatile d = memalign(64, 200);
  void *volatile e = realloc(b, (size_t)1 << 62);
  free(b); free(c); free(d); free(a2); free(0);
  muntrace();
  fprintf(stderr, "%p %p %p %p %p %p\n", a, b, a2, c, d, e);
  return 0;
}
`;

describe.skipIf(unavailable)("glibc mtrace output", () => {
  it("imports a real MALLOC_TRACE log call for call", async () => {
    const dir = mkdtempSync(join(tmpdir(), "heaplab-mtrace-"));
    writeFileSync(join(dir, "p.c"), PROGRAM);
    const build = spawnSync("cc", ["-O0", "-o", join(dir, "p"), join(dir, "p.c")], { encoding: "utf8" });
    expect(build.stderr).toBe("");
    const log = join(dir, "p.mtrace");
    const run = spawnSync(join(dir, "p"), [], { encoding: "utf8", env: { ...process.env, MALLOC_TRACE: log, LD_PRELOAD: DEBUG_LIBRARY } });
    expect(run.status).toBe(0);
    const [a, b, a2, c, d] = run.stderr.trim().split(" ").map((p) => (p === "(nil)" ? "0x0" : `0x${BigInt(p).toString(16)}`));
    expect(readFileSync(log, "utf8")).toMatch(/^= Start\n@ /);
    const source = await openTrace(log);
    expect(source.header.format).toBe("mtrace");
    expect(show(await collect(source))).toEqual([
      `1 1 m 100 ${a} site=1`, `2 1 m 120 ${b} site=2`, `3 1 r ${a} 5000 ${a2} site=3`, `4 1 m 24 ${c} site=4`,
      `5 1 m 200 ${d} site=5`, `6 1 r ${b} 4611686018427387904 0x0 site=6`, `7 1 f ${b}`, `8 1 f ${c}`, `9 1 f ${d}`,
      `10 1 f ${a2}`,
    ]);
    const first = source.header.sites!.get(1)!.frames[0];
    expect(first.module).toBe(join(dir, "p"));
    expect(first.address).toBeGreaterThan(0);
    expect(source.loss).toMatchObject({ unknownFrees: 0, failedCalls: 1, linesSkipped: 0 });
  });
});
