// The oracles themselves: the native replayer must reproduce what the traced programs really got, start from an
// empty heap, and report TCMalloc's size classes as the reference measured them.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  MIMALLOC_LIBRARY, oracleUnavailable, preloadUnavailable, repoRoot, runNative, runNativeText, sharedTraces,
  sharedTracesMissing, tcmallocNallocx, tcmallocUnavailable,
} from "./native.js";

const noOracle = oracleUnavailable();
const noTraces = noOracle ?? sharedTracesMissing();
const noTcmalloc = tcmallocUnavailable();
if (noOracle) console.warn(`skipping native oracle tests: ${noOracle}`);
else if (noTraces) console.warn(`skipping shared-trace oracle tests: ${noTraces}`);
if (!noOracle && noTcmalloc) console.warn(`skipping TCMalloc oracle tests: ${noTcmalloc}`);

/** seq → result address recorded in the trace, for every op that returns a pointer. */
function recordedResults(gzPath: string): Map<string, bigint> {
  const results = new Map<string, bigint>();
  for (const line of gunzipSync(readFileSync(gzPath)).toString("latin1").split("\n")) {
    if (line === "" || line[0] === "#") continue;
    const fields = line.split(" ");
    if (fields[2] === "f" || fields[2] === "t") continue;
    results.set(fields[0], BigInt(fields[fields.length - 1]));
  }
  return results;
}

/** Lines whose recorded address is not (region base + printed offset), the base taken from the region's first line. */
function addressMismatches(lines: string[], recorded: Map<string, bigint>): string[] {
  const bases = new Map<string, bigint>();
  const bad: string[] = [];
  for (const line of lines) {
    const [seq, , , where] = line.split(" ");
    const m = /^(heap|arena\d+)([+-])0x([0-9a-f]+)$/.exec(where);
    if (!m) continue;
    const offset = (m[2] === "-" ? -1n : 1n) * BigInt(`0x${m[3]}`);
    const address = recorded.get(seq)!;
    if (!bases.has(m[1])) bases.set(m[1], address - offset);
    if (address - bases.get(m[1])! !== offset) bad.push(`${line} (recorded 0x${address.toString(16)})`);
  }
  return bad;
}

describe.skipIf(noOracle)("native glibc replayer", () => {
  it("starts from an empty heap: the first malloc(24) lands at heap+0x2a0, also with threads created", async () => {
    const trace = "# alloc-trace v1 pid=7 ppid=1 exe=t\n1 7 m 24 0x10\n2 8 m 24 0x20\n3 7 m 24 0x30\n4 8 f 0x10\n";
    const real = await runNativeText(trace, { threads: "real" });
    expect(real.lines[0]).toBe("1 m 24 heap+0x2a0");
    expect(real.lines[1]).toMatch(/^2 m 24 arena1\+0x[0-9a-f]+$/);
    expect(real.lines[2]).toBe("3 m 24 heap+0x2c0");
    const merged = await runNativeText(trace, { threads: "merge" });
    expect(merged.lines).toEqual(["1 m 24 heap+0x2a0", "2 m 24 heap+0x2c0", "3 m 24 heap+0x2e0"]);
    expect(merged.heapBase % 4096).toBe(0);
  });

  it("honours GLIBC_TUNABLES and reports mallinfo2 after every op", async () => {
    const trace = "# alloc-trace v1 pid=7 ppid=1 exe=t\n1 7 m 24 0x10\n2 7 f 0x10\n3 7 m 24 0x20\n";
    const dflt = await runNativeText(trace, { mallinfo: true });
    expect(dflt.mallinfo).toHaveLength(3);
    expect(dflt.mallinfo[0]).toEqual({ arena: 0x21000, hblkhd: 0, uordblks: 0x2b0, fordblks: 0x20d50 });
    const padless = await runNativeText(trace, { mallinfo: true, tunables: "glibc.malloc.top_pad=0" });
    expect(padless.mallinfo[0].arena).toBe(0x1000);
  });

  it("prints the memalign family, calloc products, realloc to zero and malloc_trim", async () => {
    const trace = [
      "# alloc-trace v1 pid=7 ppid=1 exe=t",
      "1 7 c 3 5 0x10", "2 7 a 64 100 0x20", "3 7 P 24 8 0x0", "4 7 r 0x10 0 0x0", "5 7 t 0 1",
      "6 7 m 300000 0x30", "7 7 m 300000 0x40", "8 7 f 0x999",
    ].join("\n");
    const run = await runNativeText(trace, { stats: true });
    expect(run.lines[0]).toBe("1 c 15 heap+0x2a0");
    expect(run.lines[1]).toMatch(/^2 a 100 heap\+0x[0-9a-f]*[048c]0$/);
    expect(run.lines[2]).toBe("3 P 8 null");
    expect(run.lines[3]).toBe("4 r 0 null");
    expect(run.lines[4]).toMatch(/^5 t 0 [01]$/);
    expect(run.lines[5]).toBe("6 m 300000 mmap+0x0");
    expect(run.lines[6]).toMatch(/^7 m 300000 mmap[+-]0x[0-9a-f]+$/);
    expect(run.lines).toHaveLength(7);
    expect(run.statLines[0]).toBe("Arena 0:");
  });
});

describe.skipIf(noTraces)("native glibc replay reproduces the recorded addresses", () => {
  for (const trace of sharedTraces()) {
    const mode = trace.threads > 1 ? "real" : "merge";
    it(`${trace.name} (${mode} threads): every heap and arena address as recorded`, async () => {
      const run = await runNative(trace.path, { threads: mode });
      expect(run.lines.length).toBeGreaterThan(0);
      expect(addressMismatches(run.lines, recordedResults(trace.path)).slice(0, 5)).toEqual([]);
      if (mode === "real" && trace.name.startsWith("git-repack")) {
        expect(run.lines.some((l) => / arena2\+/.test(l))).toBe(true);
      }
    });
  }
});

describe.skipIf(noTcmalloc)("native TCMalloc replayer", () => {
  it("places the first small block at heap+0x816000 (8 KiB-rounded initial break)", async () => {
    const run = await runNativeText("# alloc-trace v1 pid=7 ppid=1 exe=t\n1 7 m 24 0x10\n", {
      allocator: "tcmalloc", stats: true,
    });
    expect(run.lines).toEqual(["1 m 24 heap+0x816000"]);
    expect(run.heapBase % 8192).toBe(0);
    expect(run.stats["generic.heap_size"]).toBeGreaterThan(0);
    expect(run.stats["tcmalloc.pageheap_unmapped_bytes"]).toBe(0);
  });

  const classes = join(repoRoot, "../shared/reference/gperftools-2.10-size-classes.tsv");
  it.skipIf(!existsSync(classes))("nallocx agrees with the measured gperftools 2.10 size classes", async () => {
    const table = await tcmallocNallocx();
    const tsv = readFileSync(classes, "latin1");
    const rows = tsv.trim().split("\n").slice(1).map((l) => l.split("\t").map(Number));
    for (const [classSize, firstRequest] of rows) {
      expect(table.get(firstRequest)).toBe(classSize);
      expect(table.get(classSize)).toBe(classSize);
    }
    expect(table.get(262145)).toBe(270336);
  });
});

const noMimalloc = preloadUnavailable(MIMALLOC_LIBRARY);
if (!noOracle && noMimalloc) console.warn(`skipping preloaded-allocator oracle tests: ${noMimalloc}`);

describe.skipIf(noMimalloc)("native replayer with a preloaded allocator (mimalloc)", () => {
  it("prints every block from the first one, threads included, in one heap when merged", async () => {
    const trace = "# alloc-trace v1 pid=7 ppid=1 exe=t\n1 7 m 34 0x10\n2 8 m 10 0x20\n3 7 m 10 0x30\n4 8 f 0x10\n";
    const real = await runNativeText(trace, { preload: MIMALLOC_LIBRARY, threads: "real" });
    expect(real.lines[0]).toBe("1 m 34 mmap+0x0");
    expect(real.lines.every((l) => / mmap[+-]0x[0-9a-f]+$/.test(l))).toBe(true);
    const merged = await runNativeText(trace, { preload: MIMALLOC_LIBRARY, threads: "merge" });
    // one heap: the second 16-byte block follows the first in the same page
    const offset = (l: string) => Number(l.split(" ")[3].slice(5));
    expect(offset(merged.lines[2]) - offset(merged.lines[1])).toBe(16);
  });

  // The real thing is deterministic in offsets from the first block, so a model can be exact.
  for (const trace of sharedTraces()) {
    const mode = trace.threads > 1 ? "real" : "merge";
    it(`${trace.name} (${mode} threads): two runs print identical offsets`, async () => {
      const options = { preload: MIMALLOC_LIBRARY, threads: mode } as const;
      const [a, b] = await Promise.all([runNative(trace.path, options), runNative(trace.path, options)]);
      expect(a.lines.length).toBeGreaterThan(0);
      expect(a.lines).toEqual(b.lines);
    });
  }
});
