// The commands' own contracts: fuzz's flags, sweep's header and ranking, compare's deterministic table apart from
// the host's timings, and progress lines on a terminal's stderr (through a pseudo-terminal) but never on a pipe.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatSpread } from "../../src/report/compare.js";
import { formatMetric } from "../../src/report/sweep.js";
import { repoRoot } from "../oracle/native.js";
import { MAIN, allocTrace, heaplab } from "./run.js";

const example = join(repoRoot, "examples", "ls-la.trace");
const dir = mkdtempSync(join(tmpdir(), "heaplab-commands-"));

describe("fuzz flags", () => {
  it("--threads is refused naming --max-threads, exit 2", () => {
    expect(heaplab(["fuzz", "--threads", "3", "--runs", "1"])).toEqual({
      status: 2, stdout: "",
      stderr: "heaplab: unknown option --threads: did you mean --max-threads? (--threads merge|arena is replay's)\n",
    });
  });

  it("--max-threads is validated like every number, exit 2", () => {
    const r = heaplab(["fuzz", "--max-threads", "0", "--runs", "1"]);
    expect(r).toEqual({ status: 2, stdout: "", stderr: "heaplab: --max-threads \"0\": expected an integer in 1…1024\n" });
  });

  it("-o is taken; --out still is, with a warning on stderr", () => {
    const args = ["fuzz", "--runs", "1", "--ops", "5", "--seed", "1", "--max-threads", "1"];
    const short = heaplab([...args, "-o", join(dir, "a.trace")]);
    expect(short.status).toBe(0);
    expect(short.stderr).toBe("");
    expect(short.stdout).toMatch(/^fuzz ptmalloc: runs 1, ops \d+, violations 0 \(seed 1, [\d.]+ s\)\n$/);
    const old = heaplab([...args, "--out", join(dir, "b.trace")]);
    expect(old.status).toBe(0);
    expect(old.stderr).toBe("heaplab: fuzz --out is deprecated; use -o (--output)\n");
    expect(old.stdout.replace(/[\d.]+ s\)/, "")).toBe(short.stdout.replace(/[\d.]+ s\)/, ""));
  });

  it("-o and --out together are refused, exit 2", () => {
    expect(heaplab(["fuzz", "--runs", "1", "-o", join(dir, "c"), "--out", join(dir, "d")])).toEqual({
      status: 2, stdout: "", stderr: "heaplab: -o and --out name the same file: give -o alone\n",
    });
  });
});

describe("sweep header and --rank", () => {
  const sweep = ["sweep", example, "--vary", "glibc.malloc.mxfast=0,64", "--jobs", "0"];

  it("names the trace, the model and the ranking metric above the table; the rank column has its unit", () => {
    const r = heaplab([...sweep, "--rank", "fragmentation.johnstoneWilson.3"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("sweep ls-la.trace on ptmalloc: 2 combinations, ranked by fragmentation.johnstoneWilson.3 (smallest first)");
    expect(lines[1]).toBe("");
    expect(lines[2]).toMatch(/^# +mxfast +fragmentation\.johnstoneWilson\.3 +footprint peak/);
    expect(lines[4]).toMatch(/^1 +\d+ +\d+\.\d %/);
  });

  it("--descending says so", () => {
    const r = heaplab([...sweep, "--rank", "fragmentation.peakUtilization", "--descending"]);
    expect(r.stdout.split("\n")[0]).toMatch(/ranked by fragmentation\.peakUtilization \(largest first\)$/);
  });

  it("a --rank naming no number suggests the nearest path, exit 2", () => {
    expect(heaplab([...sweep, "--rank", "footprint.peek"])).toEqual({
      status: 2, stdout: "", stderr: "heaplab: --rank footprint.peek: names no number of the report (did you mean footprint.peak?)\n",
    });
    const far = heaplab([...sweep, "--rank", "frobnication"]);
    expect(far.status).toBe(2);
    expect(far.stderr).toBe("heaplab: --rank frobnication: names no number of the report (e.g. footprint.peak, fragmentation.johnstoneWilson.3)\n");
  });

  it("formats each metric in its unit", () => {
    expect(formatMetric("footprint.peak", 135168)).toBe("132.0 KiB");
    expect(formatMetric("footprint.peakOp", 3999)).toBe("3,999");
    expect(formatMetric("fragmentation.johnstoneWilson.3", 0.823)).toBe("82.3 %");
    expect(formatMetric("syscalls.brk", 12345)).toBe("12,345");
    expect(formatMetric("syscalls.bytes.mmap", 2048)).toBe("2.0 KiB");
    expect(formatMetric("replay.seconds", 0.5)).toBe("0.500 s");
    expect(formatMetric("fragmentation.peakUtilization", NaN)).toBe("n/a");
  });
});

describe("compare: deterministic rows, host timings apart", () => {
  const compare = ["compare", example, "--model", "ptmalloc", "--model", "tcmalloc"];

  it("the table has no host timing; two runs print the same table", () => {
    const a = heaplab(compare);
    const b = heaplab(compare);
    expect(a.status).toBe(0);
    expect(a.stderr).toBe("");
    expect(a.stdout).not.toMatch(/replay time|ops\/s/);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).toMatch(/^footprint peak +132\.0 KiB ◀ +1\.0 MiB +7\.76×$/m);
    expect(a.stdout).toMatch(/^brk calls +1 ◀ +3 +3\.00×$/m);
    expect(a.stdout).toMatch(/^lock acquisitions +1 ◀ +144 +144×$/m);
  });

  it("--timings adds them in a section of their own, after the table", () => {
    const r = heaplab([...compare, "--timings"]);
    expect(r.status).toBe(0);
    const [table, timings] = r.stdout.split("\nhost timings (this machine, this run; not deterministic)\n");
    expect(table).toBe(heaplab(compare).stdout);
    expect(timings).toMatch(/^\n +replay time +rate\n[─ ]+\nptmalloc +[\d.]+ [µm]?s +[\d,]+ ops\/s\ntcmalloc /);
  });

  it("spreads read as multiples, absurd ones capped", () => {
    expect(formatSpread([100, 125])).toBe("1.25×");
    expect(formatSpread([10, 125])).toBe("12.5×");
    expect(formatSpread([1, 144])).toBe("144×");
    expect(formatSpread([1, 1000])).toBe("1000×");
    expect(formatSpread([1, 1001])).toBe("> 1000×");
    expect(formatSpread([0, 3])).toBe("∞");
    expect(formatSpread([0, 0])).toBe("");
    expect(formatSpread([7])).toBe("");
  });
});

/** Whether util-linux `script` can give a command a pseudo-terminal here. */
const noPty = spawnSync("script", ["-qec", "true", "/dev/null"]).status !== 0;

/** What `heaplab …args` draws on a terminal's stderr, its stdout sent to a file. */
function onTerminal(args: string[]): string {
  const quoted = [process.execPath, MAIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const r = spawnSync("script", ["-qec", `${quoted} > ${join(dir, "stdout")}`, "/dev/null"], { encoding: "utf8" });
  expect(r.status).toBe(0);
  return r.stdout;
}

describe.skipIf(noPty)("progress on a terminal", () => {
  const trace = join(dir, "long.trace");
  writeFileSync(trace, allocTrace(5000));
  const cleared = /\r +\r$/;

  it("compare draws one line per model on stderr and clears it; stdout keeps the table alone", () => {
    const drawn = onTerminal(["compare", trace, "--model", "ptmalloc", "--model", "tcmalloc"]);
    expect(drawn).toMatch(/^\rcompare ptmalloc \(1\/2\) [\d.]+ k? ?ops /);
    expect(drawn).toMatch(/\rcompare tcmalloc \(2\/2\) /);
    expect(drawn).toMatch(cleared);
    expect(readFileSync(join(dir, "stdout"), "utf8")).toMatch(/^trace \S*long\.trace, 10,000 ops\n/);
  });

  it("render --html draws a bar over the trace's operations", () => {
    const drawn = onTerminal(["render", trace, "--html", "-o", join(dir, "r.html")]);
    expect(drawn).toMatch(/^\rrender --html \[[# ]+\] +\d+% /);
    expect(drawn).toMatch(cleared);
    expect(existsSync(join(dir, "r.html"))).toBe(true);
  });

  it("sweep draws a bar over its combinations", () => {
    const drawn = onTerminal(["sweep", trace, "--vary", "glibc.malloc.mxfast=0,64", "--jobs", "0"]);
    expect(drawn).toMatch(/^\rsweep \[ +\]   0% 0 runs /);
    expect(drawn).toMatch(cleared);
  });

  it("a pipe gets no progress", () => {
    for (const args of [["compare", trace, "--model", "ptmalloc"], ["render", trace, "--html", "-o", join(dir, "p.html")]]) {
      expect(heaplab(args).stderr).toBe("");
    }
  });
});
