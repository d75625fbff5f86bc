// Requests larger than the machine can map: under heuristic overcommit the kernel refuses any single brk increment
// or mapping larger than RAM + swap, glibc and gperftools fall back as they do and return NULL, and every line
// after must still match. The sizes are this machine's limit and its neighbours, so both sides of the boundary are
// compared against the real allocators.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openForReplay } from "../../src/cli/open.js";
import { recordProcess } from "../../src/cli/record.js";
import { addressLines } from "../../src/lab/addresses.js";
import { machineOvercommitLimit } from "../../src/lab/lab.js";
import { kernelPlacedByRegion } from "./compare.js";
import { recordedAddressLines, recordingUnavailable } from "../ptmalloc/realprog.js";
import { oracleUnavailable, runNativeText, tcmallocUnavailable } from "../oracle/native.js";
import { firstDifference, runModel, traceFile } from "../tcmalloc/real.js";

const limit = (await machineOvercommitLimit()) ?? 0;
const PAGE = 4096;
/**
 * The edge: glibc's mapping for it is a page over the limit, but the brk growth sysmalloc then asks for (less the
 * top it already has) is exactly the limit, so glibc gets it from the heap; TCMalloc's page-heap growth for it is
 * a page over. One byte more and glibc's brk growth is a page over too.
 */
const largestMappable = limit - 8;

function trace(lines: string[]): string {
  return ["# alloc-trace v1 pid=9 ppid=1 exe=overcommit", ...lines.map((l, i) => `${i + 1} ${l}`), ""].join("\n");
}

const single = trace([
  "9 m 100 0x1000",
  `9 m ${limit + PAGE} 0x0`,
  `9 m 42949672961 0x0`,
  `9 c 1 42949672961 0x0`,
  "9 m 200000 0x2000",
  `9 a 4096 42949672961 0x0`,
  `9 v ${limit} 0x0`,
  "9 m 24 0x3000",
  "9 f 0x1000",
  `9 m ${largestMappable} 0x4000`,
  "9 f 0x4000",
  `9 m ${largestMappable + 1} 0x0`,
  "9 m 100 0x5000",
  "9 f 0x2000",
  "9 m 300000 0x6000",
]);

// A thread that fails in the main arena of a multi-threaded process takes a new arena for good (arena_get_retry).
const threaded = trace([
  "9 m 100 0x1000",
  "10 m 100 0x2000",
  `9 m 42949672961 0x0`,
  "9 m 100 0x3000",
  "10 m 100 0x4000",
  `10 m 42949672961 0x0`,
  "10 m 200 0x5000",
  "9 f 0x1000",
  "9 m 5000 0x6000",
  `9 c 1 ${limit + PAGE} 0x0`,
  "9 m 100 0x7000",
]);

describe.skipIf(oracleUnavailable() || limit === 0)("requests beyond RAM + swap: glibc", () => {
  for (const [name, text, nulls] of [["one thread", single, 5], ["threads", threaded, 3]] as const) {
    it(`${name}: the same NULLs and the same lines after them`, async () => {
      const native = await runNativeText(text, { threads: "real" });
      const model = await addressLines(new TextEncoder().encode(text));
      expect(native.lines.filter((l) => l.endsWith(" null")).length).toBe(nulls);
      // The last mmap lands in the hole the munmap before it left, where the kernel's choice varies between runs
      // of the native replayer itself (seen under load): mmapped blocks are compared by region.
      expect(kernelPlacedByRegion(model)).toEqual(kernelPlacedByRegion(native.lines));
      // After its failure in the main arena, the main thread allocates from the arena arena_get_retry made.
      if (text === threaded) expect(native.lines.find((l) => l.startsWith("4 m"))).toMatch(/ arena2\+/);
    });
  }

  it("a model without the limit hands out what the kernel refuses", async () => {
    const model = await addressLines(new TextEncoder().encode(single), { options: { overcommit_limit: 0 } });
    expect(model[1]).not.toMatch(/ null$/);
  });
});

describe.skipIf(tcmallocUnavailable() || limit === 0)("requests beyond RAM + swap: TCMalloc", () => {
  it("the same NULLs and the same lines after them", async () => {
    const path = traceFile(single);
    const native = await runNativeText(single, { allocator: "tcmalloc" });
    const model = await runModel(path, native.heapBase);
    expect(native.lines.filter((l) => l.endsWith(" null")).length).toBe(7);
    expect(firstDifference(native.lines, model.lines)).toBeNull();
  });
});

/** A program that asks for more than the machine has (malloc, realloc, calloc) and keeps working. */
const GREEDY_C = `
#include <stdlib.h>
int main(void) {
  void *keep[64];
  for (int i = 0; i < 64; i++) keep[i] = malloc(100 + i * 500);
  void *huge = malloc((size_t)40 << 30);
  void *big = malloc(300000);
  void *grown = realloc(big, (size_t)40 << 30);
  for (int i = 0; i < 64; i += 2) free(keep[i]);
  void *zeroed = calloc((size_t)1 << 20, (size_t)1 << 16);
  for (int i = 0; i < 64; i += 2) keep[i] = malloc(200 + i * 300);
  free(big);
  return (huge || grown || zeroed) ? 1 : 0;
}
`;

describe.skipIf(oracleUnavailable() || recordingUnavailable() || limit === 0)("a recorded program beyond RAM + swap", () => {
  it("records the machine's RAM and swap, and replays to its own addresses, NULLs included", async () => {
    const dir = mkdtempSync(join(tmpdir(), "heaplab-overcommit-"));
    try {
      writeFileSync(join(dir, "greedy.c"), GREEDY_C);
      const cc = spawnSync("cc", ["-O1", "-o", join(dir, "greedy"), join(dir, "greedy.c"), "-lpthread"]);
      expect(cc.status).toBe(0);
      const trace = join(dir, "greedy.trace");
      expect(await recordProcess([join(dir, "greedy")], trace)).toBe(0);
      const text = readFileSync(trace, "latin1");
      expect(text).toMatch(/^# mem-total \d+$/m);
      expect(text).toMatch(/^# swap-total \d+$/m);
      const opened = openForReplay(trace, {});
      const options = await opened.options;
      expect(options.overcommit_limit).toBe(limit);
      const model = await addressLines(await opened.trace, { options });
      const recorded = recordedAddressLines(trace);
      expect(recorded.filter((l) => l.endsWith(" null")).length).toBe(3);
      expect(kernelPlacedByRegion(model)).toEqual(recorded);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
