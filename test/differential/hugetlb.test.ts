// glibc.malloc.hugetlb=1 against the real glibc 2.36 on this kernel (transparent huge pages in "madvise" mode):
// brk growth ends on a 2 MiB boundary, so where blocks land depends on the break itself. glibc is not repeatable
// under ASLR with it, so the native replayer runs under `setarch -R` and the model gets that run's heap start.

import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addressLines } from "../../src/lab/addresses.js";
import { buildOracle, oracleUnavailable, plainCopy, sharedTraces } from "../oracle/native.js";
import { kernelPlacedByRegion } from "./compare.js";
import { traceText } from "./gen.js";

const THP_MODE = "/sys/kernel/mm/transparent_hugepage/enabled";

function unavailable(): string | null {
  const oracle = oracleUnavailable();
  if (oracle) return oracle;
  if (spawnSync("setarch", ["-R", "true"]).status !== 0) return "setarch -R is not available";
  try {
    if (!readFileSync(THP_MODE, "utf8").includes("[madvise]")) return "transparent huge pages are not in madvise mode";
  } catch {
    return "no transparent huge pages";
  }
  return null;
}

/** The replay of a trace file on the real glibc without address randomisation: its lines and its heap start. */
async function nativeFileWithoutAslr(
  path: string, tunables: string, threads: "merge" | "real" = "merge",
): Promise<{ lines: string[]; heapBase: number }> {
  const binary = await buildOracle();
  const run = spawnSync("setarch", ["-R", binary, "--heap-base", "--threads", threads, path], {
    encoding: "latin1", env: { PATH: process.env.PATH, GLIBC_TUNABLES: tunables }, maxBuffer: 1 << 28,
  });
  if (run.status !== 0) throw new Error(`native replay failed: ${run.stderr}`);
  const lines = run.stdout.split("\n").filter((l) => l && l[0] !== "#");
  const base = /^# heap-base (\S+)$/m.exec(run.stdout);
  if (!base) throw new Error("no heap-base line");
  return { lines, heapBase: Number(base[1]) };
}

async function nativeWithoutAslr(trace: string, tunables: string): Promise<{ lines: string[]; heapBase: number }> {
  const path = join(tmpdir(), `heaplab-thp-${process.pid}.trace`);
  writeFileSync(path, trace);
  try {
    return await nativeFileWithoutAslr(path, tunables);
  } finally {
    rmSync(path, { force: true });
  }
}

async function modelLines(
  trace: string | Uint8Array, tunables: string, heapBase: number, threads: "merge" | "arena" = "merge",
): Promise<string[]> {
  const bytes = typeof trace === "string" ? new TextEncoder().encode(trace) : trace;
  return kernelPlacedByRegion(await addressLines(bytes, { tunables, threads, options: { heap_base: heapBase } }));
}

const skip = unavailable();

describe.skipIf(skip)("glibc.malloc.hugetlb=1 (transparent huge pages)", () => {
  it("a 393 216-byte request after the heap has grown: from the 2 MiB-aligned top, as glibc", async () => {
    const trace = ["# alloc-trace v1 pid=9 ppid=1 exe=thp", "1 9 m 200000 0x1000", "2 9 f 0x1000",
      "3 9 m 1000 0x2000", "4 9 m 393216 0x3000", "5 9 m 5000000 0x4000", "6 9 f 0x3000", "7 9 t 0 1",
      "8 9 m 100 0x5000", ""].join("\n");
    const tunables = "glibc.malloc.hugetlb=1";
    const native = await nativeWithoutAslr(trace, tunables);
    const model = await modelLines(trace, tunables, native.heapBase);
    expect(model).toEqual(kernelPlacedByRegion(native.lines));
    // Not what the model gives without huge pages: the test sees the tunable's effect.
    expect(await modelLines(trace, "", native.heapBase)).not.toEqual(model);
  });

  it("generated traces replay line for line", async () => {
    const tunables = "glibc.malloc.hugetlb=1";
    await fc.assert(fc.asyncProperty(traceText(400), async (trace) => {
      const native = await nativeWithoutAslr(trace, tunables);
      expect(await modelLines(trace, tunables, native.heapBase)).toEqual(kernelPlacedByRegion(native.lines));
    }), { numRuns: 40, seed: 19 });
  }, 120_000);

  for (const shared of sharedTraces().filter((t) => /sqlite3-memdb|git-repack/.test(t.name))) {
    it(`${shared.name} (${shared.threads > 1 ? "a thread per trace thread" : "one thread"}): line for line`, async () => {
      const tunables = "glibc.malloc.hugetlb=1";
      const plain = plainCopy(shared.path);
      const threads = shared.threads > 1 ? "real" : "merge";
      const native = await nativeFileWithoutAslr(plain, tunables, threads);
      const model = await modelLines(readFileSync(plain), tunables, native.heapBase, threads === "real" ? "arena" : "merge");
      expect(native.lines.length).toBeGreaterThan(10_000);
      expect(model).toEqual(kernelPlacedByRegion(native.lines));
    }, 120_000);
  }
});
