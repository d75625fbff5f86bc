// Traces that come down a pipe: `-` for standard input, `/dev/stdin` and `<(…)` paths that can be read only once,
// and `--format` naming the reader when sniffing is not wanted.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../oracle/native.js";
import { MAIN, type Ran, heaplab } from "./run.js";

const example = join(repoRoot, "examples", "ls-la.trace");
let gz: string;
let addresses: string;

/** `heaplab` run by bash, for the shell's own pipes and process substitutions. */
function shell(command: string): Ran {
  const r = spawnSync("bash", ["-c", command], {
    encoding: "utf8", env: { ...process.env, HEAPLAB: `${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)}` },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), "heaplab-pipes-"));
  gz = join(dir, "ls-la.trace.gz");
  writeFileSync(gz, gzipSync(readFileSync(example)));
  const r = heaplab(["replay", example, "--addresses"]);
  expect(r.status).toBe(0);
  addresses = r.stdout;
  expect(addresses.split("\n").length).toBeGreaterThan(300);
});

describe("standard input and pipes", () => {
  it("replay - reads standard input, plain or gzip", () => {
    expect(heaplab(["replay", "-", "--addresses"], { input: readFileSync(example) }))
      .toEqual({ status: 0, stdout: addresses, stderr: "" });
    expect(heaplab(["replay", "-", "--addresses"], { input: readFileSync(gz) }))
      .toEqual({ status: 0, stdout: addresses, stderr: "" });
  });

  it("replay /dev/stdin on a pipe and replay <(gzip -dc …) read the trace once", () => {
    expect(shell(`cat ${example} | eval "$HEAPLAB replay /dev/stdin --addresses"`))
      .toEqual({ status: 0, stdout: addresses, stderr: "" });
    expect(shell(`eval "$HEAPLAB replay <(gzip -dc ${gz}) --addresses"`))
      .toEqual({ status: 0, stdout: addresses, stderr: "" });
  });

  it("the report names standard input as <stdin>", () => {
    const r = heaplab(["replay", "-", "--json"], { input: readFileSync(example) });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).trace).toBe("<stdin>");
  });

  it("errors in standard input name it, exit 1", () => {
    expect(heaplab(["replay", "-"], { input: "" }))
      .toEqual({ status: 1, stdout: "", stderr: "heaplab: <stdin>:0: file: empty trace\n" });
    const bad = heaplab(["replay", "-"], { input: "# alloc-trace v1 pid=7 ppid=1 exe=t\n1 7 m abc 0x10\n" });
    expect(bad).toEqual({ status: 1, stdout: "", stderr: "heaplab: <stdin>:2: size: not a decimal number: 'abc'\n" });
  });

  it("convert - -o - passes a trace through", () => {
    const r = heaplab(["convert", "-", "-o", "-"], { input: readFileSync(gz) });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(heaplab(["convert", example, "-o", "-"]).stdout);
    expect(r.stderr).toBe("- (alloc-trace) → - (alloc-trace): 692 ops\n");
  });

  it("render - draws what render <file> draws", () => {
    const piped = heaplab(["render", "-", "-o", "-"], { input: readFileSync(example) });
    const file = heaplab(["render", example, "-o", "-"]);
    expect(piped.status).toBe(0);
    expect(piped.stderr).toBe(file.stderr);
    expect(piped.stdout.replaceAll("&lt;stdin&gt;", "ls-la.trace")).toBe(file.stdout);
  });

  it("compare - reads standard input once for every model", () => {
    const steady = (text: string): string => text.replace(/^trace .*\n/m, "").replace(/^replay time .*\n/m, "");
    const piped = heaplab(["compare", "-", "--model", "ptmalloc", "--model", "tcmalloc"], { input: readFileSync(example) });
    const file = heaplab(["compare", example, "--model", "ptmalloc", "--model", "tcmalloc"]);
    expect(piped.status).toBe(0);
    expect(piped.stdout).toMatch(/^trace <stdin>, 692 ops$/m);
    expect(steady(piped.stdout)).toBe(steady(file.stdout));
  });

  it("sweep - is refused: each combination reads the trace afresh, exit 2", () => {
    expect(heaplab(["sweep", "-", "--vary", "glibc.malloc.mxfast=0,64"], { input: readFileSync(example) })).toEqual({
      status: 2, stdout: "", stderr: "heaplab: sweep reads its trace once per combination: give a file, not -\n",
    });
  });
});

describe("--format", () => {
  it("names the reader: an alloc-trace read as mtrace fails on its first line, exit 1", () => {
    const r = heaplab(["replay", example, "--format", "mtrace"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^heaplab: .*ls-la\.trace:1: op: no mtrace record .*\n$/);
    const render = heaplab(["render", "-", "--format", "mtrace", "-o", "-"], { input: readFileSync(example) });
    expect(render.status).toBe(1);
    expect(render.stderr).toMatch(/^heaplab: <stdin>:1: op: no mtrace record/);
  });

  it("--format alloc-trace reads what sniffing reads", () => {
    expect(heaplab(["replay", example, "--format", "alloc-trace", "--addresses"]).stdout).toBe(addresses);
  });

  it("an unknown format is a mistake in the command line, exit 2", () => {
    for (const command of ["replay", "render", "convert"]) {
      const r = heaplab([command, example, "--format", "bogus", "-o", "-"].slice(0, command === "replay" ? 4 : 6));
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^heaplab: --format bogus: expected one of alloc-trace, binary, .*\n$/);
    }
  });
});
