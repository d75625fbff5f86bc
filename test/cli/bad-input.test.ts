// Every command on malformed inputs and mistaken options, as a user meets them: exactly one line on stderr
// (`heaplab: file:line: field: reason` where a line is to blame), exit 1 for a bad input and 2 for a bad command
// line, no input file changed, and no output file, whole or partial, left behind.

import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { allocTrace, heaplab, snapshot } from "./run.js";

let dir: string;
let out: string;

/** Small malformed traces, each with the one line its error must be. */
const INPUTS: Record<string, { bytes: () => string | Uint8Array; error: RegExp }> = {
  "bad-size.trace": {
    bytes: () => "# alloc-trace v1 pid=7 ppid=1 exe=t\n1 7 m 24 0x10\n2 7 m abc 0x20\n",
    error: /^heaplab: .*bad-size\.trace:3: size: not a decimal number: 'abc'$/,
  },
  "bad-op.trace": {
    bytes: () => "# alloc-trace v1 pid=7 ppid=1 exe=t\n1 7 m 24 0x10\n2 7 q 24 0x20\n",
    error: /^heaplab: .*bad-op\.trace:3: op: unknown op 'q'$/,
  },
  "double-free.trace": {
    bytes: () => "# alloc-trace v1 pid=7 ppid=1 exe=t\n1 7 m 24 0x10\n2 7 f 0x10\n3 7 f 0x10\n",
    error: /^heaplab: .*double-free\.trace:4: double free of 0x10 \(freed at line 3\)$/,
  },
  "empty.trace": { bytes: () => "", error: /^heaplab: .*empty\.trace:0: file: empty trace$/ },
  "late.trace": {
    // Fails after many good lines: writers have output in flight when the reader stops.
    bytes: () => allocTrace(20_000) + "40001 7 m 24 zz\n",
    error: /^heaplab: .*late\.trace:40002: \w+: .+$/,
  },
  "bad.mtrace": {
    bytes: () => "= Start\n@ ./a.out:[0x4005] + 0x1000 zz\n= End\n",
    error: /^heaplab: .*bad\.mtrace:\d+: \w+: .+$/,
  },
  "cut.hlb": {
    bytes: () => readFileSync(join(dir, "..", "whole.hlb")).subarray(0, 200),
    error: /^heaplab: .*cut\.hlb:\d+: \w+: .+$/,
  },
  "garbage.bin": {
    bytes: () => Uint8Array.from({ length: 300 }, (_, i) => (i * 151 + 7) % 256),
    error: /^heaplab: .*garbage\.bin:1: \w+: .+$/,
  },
  "missing.trace": { bytes: () => "", error: /^heaplab: .*missing\.trace: no such file or folder$/ },
};

/** Each command, its output (if any) in `out`. */
const COMMANDS: Record<string, (input: string) => string[]> = {
  "replay": (input) => ["replay", input],
  "replay --addresses": (input) => ["replay", input, "--addresses"],
  "replay --timeline": (input) => ["replay", input, "--timeline", join(out, "t.csv"), "--every", "1"],
  "convert": (input) => ["convert", input, "-o", join(out, "c.trace")],
  "convert --to binary .gz": (input) => ["convert", input, "--to", "binary", "-o", join(out, "c.hlb.gz")],
  "render": (input) => ["render", input, "-o", join(out, "h.svg")],
  "render --html": (input) => ["render", input, "--html", "-o", join(out, "r.html")],
  "compare": (input) => ["compare", input, "--model", "ptmalloc", "--model", "tcmalloc"],
  "sweep": (input) => ["sweep", input, "--vary", "glibc.malloc.mxfast=0,64", "--jobs", "1"],
};


beforeAll(() => {
  const root = mkdtempSync(join(tmpdir(), "heaplab-bad-input-"));
  dir = join(root, "in");
  out = join(root, "out");
  mkdirSync(dir);
  mkdirSync(out);
  writeFileSync(join(root, "ok.trace"), allocTrace(200));
  expect(heaplab(["convert", join(root, "ok.trace"), "-o", join(root, "whole.hlb")]).status).toBe(0);
  for (const [name, input] of Object.entries(INPUTS)) if (name !== "missing.trace") writeFileSync(join(dir, name), input.bytes());
});

/** Runs `args` and checks the one line, the exit code, the inputs and the outputs. */
function expectRefused(args: string[], status: number, error: RegExp): void {
  const before = snapshot(dir);
  // Run from the output folder: a file written under a mistaken name (`-`) is caught too.
  const r = heaplab(args, { cwd: out });
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(error);
  expect(r.status).toBe(status);
  expect(snapshot(dir)).toEqual(before);
  expect(readdirSync(out)).toEqual([]);
}

describe("malformed inputs", () => {
  for (const [command, args] of Object.entries(COMMANDS)) {
    for (const [name, input] of Object.entries(INPUTS)) {
      it(`${command} ${name}: one line, exit 1, nothing changed or written`, () => {
        if (command.startsWith("convert") && name === "double-free.trace") {
          // A double free is the trace's own record of a misuse: convert keeps it; only replays stop at it.
          expect(heaplab(args(join(dir, name))).status).toBe(0);
          for (const f of readdirSync(out)) rmSync(join(out, f));
        } else expectRefused(args(join(dir, name)), 1, input.error);
      });
    }
  }
});

describe("mistaken options", () => {
  const trace = (): string => join(dir, "..", "ok.trace");
  const vary = ["--vary", "glibc.malloc.mxfast=0,64"];
  const many = Array.from({ length: 17 }, (_, i) => i).join(",");
  const cases: [string, () => string[], RegExp][] = [
    ["replay --check-every abc", () => ["replay", trace(), "--check-every", "abc"], /--check-every "abc": expected an integer/],
    ["replay --every=-1", () => ["replay", trace(), "--every=-1"], /--every "-1": expected an integer ≥ 0/],
    ["replay --every -1", () => ["replay", trace(), "--every", "-1"], /Option '--every' argument is ambiguous\. Did you/],
    ["replay --every 1e3", () => ["replay", trace(), "--every", "1e3"], /--every "1e3": expected an integer/],
    ["replay --option heap_base=", () => ["replay", trace(), "--option", "heap_base="], /--option heap_base=: expected name=<number>/],
    ["replay --threads many", () => ["replay", trace(), "--threads", "many"], /--threads must be merge or arena/],
    ["replay --bogus", () => ["replay", trace(), "--bogus"], /Unknown option '--bogus'/],
    ["render --snapshots abc", () => ["render", trace(), "--html", "--snapshots", "abc", "-o", join(out, "r.html")], /--snapshots "abc"/],
    ["render --at 1.5", () => ["render", trace(), "--at", "1.5", "-o", join(out, "h.svg")], /--at "1.5": expected an integer/],
    ["render --view bogus", () => ["render", trace(), "--view", "bogus", "-o", join(out, "h.svg")], /--view bogus: expected heap, bins or spans/],
    ["convert --to bogus", () => ["convert", trace(), "--to", "bogus", "-o", join(out, "c.trace")], /--to bogus: expected one of/],
    ["convert -o x.zst", () => ["convert", trace(), "-o", join(out, "x.zst")],
      /x\.zst: traces are written plain or gzip-compressed, not zstd; name it .*x or .*x\.gz \(and compress it with zstd afterwards\)$/],
    ["convert -o x.trace.xz", () => ["convert", trace(), "-o", join(out, "x.trace.xz")], /not xz; name it .*x\.trace or .*x\.trace\.gz/],
    ["sweep --vary name=", () => ["sweep", trace(), "--vary", "glibc.malloc.mxfast="], /--vary glibc\.malloc\.mxfast=: empty value/],
    ["sweep --vary name=0,,64", () => ["sweep", trace(), "--vary", "glibc.malloc.mxfast=0,,64"], /empty value/],
    ["sweep duplicate --vary", () => ["sweep", trace(), ...vary, "--vary", "glibc.malloc.mxfast=128"], /--vary glibc\.malloc\.mxfast: given twice/],
    ["sweep --rank bogus", () => ["sweep", trace(), ...vary, "--rank", "bogus"], /--rank bogus: names no number of the report/],
    ["sweep --jobs abc", () => ["sweep", trace(), ...vary, "--jobs", "abc"], /--jobs "abc": expected an integer/],
    ["sweep --max-runs 0", () => ["sweep", trace(), ...vary, "--max-runs", "0"], /--max-runs "0": expected an integer/],
    ["sweep over the default --max-runs", () => [
      "sweep", trace(), "--vary", `glibc.malloc.mxfast=${many}`, "--vary", `glibc.malloc.tcache_count=${many}`,
    ], /17 × 17 = 289 combinations, more than --max-runs 256/],
    ["sweep over --max-runs", () => ["sweep", trace(), ...vary, "--max-runs", "1"], /2 = 2 combinations, more than --max-runs 1/],
    ["fuzz --seed 4294967296", () => ["fuzz", "--seed", "4294967296", "--runs", "1"], /--seed "4294967296": expected an integer in 0…4294967295/],
    ["fuzz --runs 0", () => ["fuzz", "--runs", "0"], /--runs "0"/],
    ["fuzz --ops abc", () => ["fuzz", "--ops", "abc"], /--ops "abc"/],
    ["fuzz -o into a missing folder", () => ["fuzz", "--runs", "1", "-o", join(out, "missing", "f.trace")], /no such folder/],
    ["record --flush 0", () => ["record", "--flush", "0", "-o", join(out, "r.trace"), "--", "true"], /--flush "0"/],
    ["record -o -", () => ["record", "-o", "-", "--", "true"], /-o -: record writes files/],
    ["record --call-sites 33", () => ["record", "--call-sites", "33", "-o", join(out, "r.trace"), "--", "true"],
      /--call-sites "33": expected an integer in 0…32/],
    ["replay --call-sites x", () => ["replay", trace(), "--call-sites", "x"], /--call-sites "x": expected an integer/],
  ];
  for (const [name, args, error] of cases) {
    const status = name.includes("missing folder") ? 1 : 2;
    it(`${name}: one line, exit ${status}`, () => expectRefused(args(), status, new RegExp(`^heaplab: .*${error.source}`)));
  }
});
