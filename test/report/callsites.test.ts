// Call-site tables of the report: on a recorded program, each site's live bytes and usable bytes at each peak
// equal a heap walk of a lab stopped at that op (every live block's call site, its requested bytes and
// malloc_usable_size), and the sites are named as addr2line names the recorded return addresses.

import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildRecorder, recordProcess } from "../../src/cli/record.js";
import { symbolizeRecording } from "../../src/cli/symbolize.js";
import { createLab } from "../../src/lab/lab.js";
import { type CallSiteRow } from "../../src/report/callsites.js";
import { replayReport } from "../../src/report/report.js";
import { formatReport } from "../../src/report/text.js";
import { openTrace } from "../../src/trace/detect.js";
import { recordReplay } from "../../src/viz/record.js";
import { reportHTML } from "../../src/viz/report.js";
import { oracleUnavailable } from "../oracle/native.js";

const unavailable = oracleUnavailable() ?? (spawnSync("addr2line", ["--version"]).error ? "no addr2line" : null);

const PROGRAM = `
#include <stdlib.h>
#include <string.h>
__attribute__((noinline)) char *word(size_t n) { char *p = malloc(n); memset(p, 1, n); return p; }
__attribute__((noinline)) char *table(size_t n) { return calloc(n, 24); }
__attribute__((noinline)) char *grow(char *p, size_t n) { return realloc(p, n); }
int main(void) {
  char *keep[3000];
  for (int i = 0; i < 3000; i++) keep[i] = i % 3 == 0 ? word(8 + i % 200) : i % 3 == 1 ? table(1 + i % 40) : word(300 + i);
  for (int i = 0; i < 3000; i += 2) { free(keep[i]); keep[i] = 0; }
  for (int i = 1; i < 3000; i += 4) keep[i] = grow(keep[i], 5000 + i);
  for (int i = 0; i < 3000; i++) free(keep[i]);
  return 0;
}
`;

let dir: string;
let trace: string;
let raw: string;

beforeAll(async () => {
  if (unavailable) return;
  dir = mkdtempSync(join(tmpdir(), "heaplab-callsites-"));
  writeFileSync(join(dir, "prog.c"), PROGRAM);
  const exe = join(dir, "prog");
  expect(spawnSync("cc", ["-g", "-O1", "-o", exe, join(dir, "prog.c")]).status).toBe(0);
  buildRecorder();
  trace = join(dir, "prog.trace");
  raw = join(dir, "raw.trace");
  await recordProcess([exe], trace, { callSites: 2 });
  copyFileSync(trace, raw);
  await symbolizeRecording(trace);
}, 60_000);

/** Live bytes and usable bytes by site id from a heap walk after op `op`. */
async function walkAt(model: "ptmalloc" | "tcmalloc" | "mimalloc" | "jemalloc", op: number) {
  const lab = await createLab({ model });
  await lab.replay(trace, { until: op });
  const bySite = new Map<number, { live: number; usable: number; objects: number }>();
  for (const row of lab.chunks()) {
    if (row.line === null || row.requested === 0) continue;
    const site = row.site ?? 0;
    const acc = bySite.get(site) ?? { live: 0, usable: 0, objects: 0 };
    acc.live += row.requested;
    acc.usable += lab.usableSize(row.address);
    acc.objects++;
    bySite.set(site, acc);
  }
  return bySite;
}

function checkRows(rows: CallSiteRow[], walk: Map<number, { live: number; usable: number; objects: number }>): void {
  const total = (key: "live" | "usable" | "objects"): number => [...walk.values()].reduce((s, w) => s + w[key], 0);
  expect(rows.reduce((s, r) => s + r.live, 0)).toBe(total("live"));
  expect(rows.reduce((s, r) => s + r.usable, 0)).toBe(total("usable"));
  expect(rows.reduce((s, r) => s + r.objects, 0)).toBe(total("objects"));
  for (const row of rows.filter((r) => r.site !== null)) {
    expect({ site: row.site, live: row.live, usable: row.usable, objects: row.objects })
      .toEqual({ site: row.site, ...walk.get(row.site!) });
  }
}

describe.skipIf(unavailable)("call sites in the report", () => {
  // jemalloc's heap walk names no objects: its tables are checked by their totals in the next test.
  for (const model of ["ptmalloc", "tcmalloc", "mimalloc"] as const) {
    it(`${model}: each site's bytes at both peaks equal a heap walk stopped there`, async () => {
      const report = await replayReport(trace, { model });
      const tables = report.callSites!;
      expect(tables.sites).toBeGreaterThanOrEqual(4);
      expect(tables.atPeakLive.reduce((s, r) => s + r.live, 0)).toBe(report.live.peak);
      checkRows(tables.atPeakLive, await walkAt(model, report.live.peakOp));
      checkRows(tables.atPeakFootprint, await walkAt(model, report.footprint.peakOp));
      const shares = tables.atPeakFootprint.reduce((s, r) => s + (r.footprintShare ?? 0), 0);
      expect(shares).toBeGreaterThan(0);
      expect(shares).toBeLessThanOrEqual(1);
    }, 60_000);
  }

  it("jemalloc: the sites' live bytes add up to the live peak", async () => {
    const report = await replayReport(trace, { model: "jemalloc" });
    expect(report.callSites!.atPeakLive.reduce((s, r) => s + r.live, 0)).toBe(report.live.peak);
    for (const row of report.callSites!.atPeakFootprint) expect(row.usable).toBeGreaterThanOrEqual(row.live);
  });

  it("names sites as addr2line names the recorded return addresses", async () => {
    const report = await replayReport(trace, { callSites: 3 });
    const text = formatReport(report);
    expect(text).toMatch(/call site at peak live/);
    const headerOf = async (path: string) => {
      const source = await openTrace(path);
      for await (const _ of source.batches()) void _;
      return source.header;
    };
    const resolved = await headerOf(trace);
    const recorded = await headerOf(raw);
    const exe = join(dir, "prog");
    const base = resolved.modules!.find((m) => m.path === exe)!.base;
    let sampled = 0;
    for (const row of report.callSites!.atPeakLive.filter((r) => r.site !== null)) {
      const address = recorded.sites!.get(row.site!)!.frames[0].address!;
      const frame = row.frames![0];
      if (frame.module !== "prog") continue;
      const [fn, position] = spawnSync("addr2line", ["-f", "-C", "-e", exe, `0x${(address - base - 1).toString(16)}`],
        { encoding: "utf8" }).stdout.split("\n");
      expect(`${frame.fn} ${frame.file}:${frame.line}`).toBe(`${fn} ${position.replace(/ \(discriminator \d+\)$/, "")}`);
      expect(row.name.startsWith(`${fn} prog.c:`)).toBe(true);
      sampled++;
    }
    expect(sampled).toBeGreaterThanOrEqual(2);
    expect(report.callSites!.atPeakLive.some((r) => r.name.startsWith("(rest: "))).toBe(true);
  }, 60_000);

  it("names the allocating call site in heap-map tooltips, and lists the tables in the HTML report", async () => {
    const recording = await recordReplay(await createLab(), await openTrace(trace), { snapshots: 2 });
    const html = reportHTML({
      snapshots: recording.snapshots, sites: recording.sites, callSites: recording.report?.callSites,
    });
    const named = [...html.matchAll(/allocated by (\w+) prog\.c:\d+/g)].map((m) => m[1]);
    expect(named).toContain("word");
    expect(named).toContain("table");
    for (const fn of named) expect(["word", "table", "grow"]).toContain(fn);
    expect(html).toContain('id="heaplab-callsites"');
    expect(html).toContain("call site at peak footprint");
  });

  it("keeps no call-site tables for a trace without sites, or when asked for none", async () => {
    const plain = join(dir, "plain.trace");
    writeFileSync(plain, "# alloc-trace v1 pid=1 ppid=0 exe=x\n1 1 m 10 0x1000\n2 1 f 0x1000\n");
    expect((await replayReport(plain)).callSites).toBeUndefined();
    expect((await replayReport(trace, { callSites: 0 })).callSites).toBeUndefined();
  });
});
