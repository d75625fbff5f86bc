// Output files never destroy anything: an output that is the input is refused, a failure leaves every existing
// file (and link) as it was, `-o -` is standard output, and two processes writing one file leave one whole file.

import { spawn, spawnSync } from "node:child_process";
import { chmodSync, closeSync, createWriteStream, existsSync, openSync, lstatSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { beforeEach, describe, expect, it } from "vitest";
import { MAIN, allocTrace, heaplab, heaplabAsync, snapshot } from "./run.js";

let dir: string;
let input: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "heaplab-output-"));
  input = join(dir, "x.trace");
  writeFileSync(input, allocTrace(50));
});

/** Exactly one line on stderr, `heaplab: ` first. */
function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split("\n");
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^heaplab: /);
  return lines[0];
}

describe("an output that is the input", () => {
  const cases: [string, () => string[]][] = [
    ["convert -o the input", () => ["convert", input, "-o", input]],
    ["convert --to binary -o the input", () => ["convert", input, "--to", "binary", "-o", input]],
    ["convert -o a link to the input", () => {
      symlinkSync("x.trace", join(dir, "link.trace"));
      return ["convert", input, "-o", join(dir, "link.trace")];
    }],
    ["convert a link -o the input", () => {
      symlinkSync(input, join(dir, "link.trace"));
      return ["convert", join(dir, "link.trace"), "-o", input];
    }],
    ["convert x.trace.gz -o x.trace.gz", () => {
      writeFileSync(join(dir, "x.trace.gz"), gzipSync(readFileSync(input)));
      return ["convert", join(dir, "x.trace.gz"), "-o", join(dir, "x.trace.gz")];
    }],
    ["replay --timeline the input", () => ["replay", input, "--timeline", input]],
    ["render -o the input", () => ["render", input, "-o", input]],
    ["render --html -o the input", () => ["render", input, "--html", "-o", input]],
  ];
  for (const [name, args] of cases) {
    it(`is refused before anything is written: ${name}`, () => {
      const argv = args();
      const before = snapshot(dir);
      const r = heaplab(argv);
      expect(oneLine(r.stderr)).toMatch(/: is the input .*; write to another file$/);
      expect(r.status).toBe(2);
      expect(snapshot(dir)).toEqual(before);
    });
  }
});

describe("a failed write", () => {
  /** A trace whose last line is malformed: the writer has written most of it when the reader fails. */
  function failingInput(): string {
    const path = join(dir, "bad.trace");
    writeFileSync(path, allocTrace(20_000) + "40001 7 m 24 zz\n");
    return path;
  }

  it("leaves an existing output file and its permissions as they were, and no temporary file", () => {
    const out = join(dir, "out.trace");
    writeFileSync(out, "precious\n");
    chmodSync(out, 0o600);
    const r = heaplab(["convert", failingInput(), "-o", out]);
    expect(oneLine(r.stderr)).toMatch(/bad\.trace:40002: /);
    expect(r.status).toBe(1);
    expect(readFileSync(out, "utf8")).toBe("precious\n");
    expect(readdirSync(dir).sort()).toEqual(["bad.trace", "out.trace", "x.trace"]);
    expect(heaplab(["convert", input, "-o", out]).status).toBe(0);
    expect(readFileSync(out, "utf8")).toBe(readFileSync(input, "utf8"));
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it("leaves a link and the file it names as they were; a success replaces the file and keeps the link", () => {
    const target = join(dir, "target.trace");
    writeFileSync(target, "precious\n");
    const link = join(dir, "link.trace");
    symlinkSync("target.trace", link);
    expect(heaplab(["convert", failingInput(), "-o", link]).status).toBe(1);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, "utf8")).toBe("precious\n");
    expect(heaplab(["convert", input, "-o", link]).status).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, "utf8")).toBe(readFileSync(input, "utf8"));
  });

  it("writes through a link to a device in place, never removing the link", () => {
    const link = join(dir, "out.svg");
    symlinkSync("/dev/null", link);
    expect(heaplab(["render", failingInput(), "-o", link]).status).toBe(1);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(heaplab(["render", input, "-o", link]).status).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });
});

describe("standard output", () => {
  it("-o - and /dev/stdout write the trace to standard output, the summary to stderr, and no file", () => {
    for (const to of ["-", "/dev/stdout"]) {
      const r = heaplab(["convert", input, "-o", to], { cwd: dir });
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(readFileSync(input, "utf8"));
      expect(r.stderr).toMatch(/→ .* \(alloc-trace\): 100 ops/);
    }
    const svg = heaplab(["render", input, "-o", "-"], { cwd: dir });
    expect(svg.stdout).toMatch(/^<svg[^]*<\/svg>\s*$/);
    expect(svg.stderr).toMatch(/^-: \d+ chunks after 100 operations/);
    expect(readdirSync(dir)).toEqual(["x.trace"]);
  });

  it("--timeline - writes the CSV alone to standard output, the report to stderr", () => {
    const r = heaplab(["replay", input, "--timeline", "-", "--json"], { cwd: dir });
    expect(r.status).toBe(0);
    const rows = r.stdout.trimEnd().split("\n");
    expect(rows.length).toBeGreaterThan(1);
    expect(new Set(rows.map((row) => row.split(",").length)).size).toBe(1);
    expect(JSON.parse(r.stderr).schema).toMatch(/^heaplab\.report\//);
    expect(readdirSync(dir)).toEqual(["x.trace"]);
  });
});

describe("standard output on a full device", () => {
  const cases: [string, () => string[]][] = [
    ["the report", () => ["replay", input]],
    ["address lines", () => ["replay", input, "--addresses"]],
    ["a comparison", () => ["compare", input]],
    ["convert -o -", () => ["convert", input, "-o", "-"]],
  ];
  for (const [name, args] of cases) {
    it(`${name}: one line, exit 1`, () => {
      const full = openSync("/dev/full", "w");
      try {
        const r = heaplab(args(), { stdout: full });
        const lines = r.stderr.trimEnd().split("\n");
        expect(lines.at(-1)).toMatch(/^heaplab: (standard output|-o -): no space left on device$/);
        expect(lines.filter((l) => l.startsWith("heaplab:"))).toHaveLength(1);
        expect(r.status).toBe(1);
      } finally {
        closeSync(full);
      }
    });
  }
});

describe("--timeline", () => {
  it("into a missing folder: one line, exit 1, before the replay", () => {
    const r = heaplab(["replay", input, "--timeline", join(dir, "missing", "t.csv")]);
    expect(oneLine(r.stderr)).toMatch(/^heaplab: --timeline .*missing\/t\.csv: no such folder .*missing$/);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
  });

  it("onto a full device: one line, exit 1", () => {
    const r = heaplab(["replay", input, "--timeline", "/dev/full", "--every", "1"]);
    expect(oneLine(r.stderr)).toBe("heaplab: --timeline /dev/full: no space left on device");
    expect(r.status).toBe(1);
  });
});

describe("two processes writing one output", () => {
  it("leave one of the two files whole, never a mix", async () => {
    const a = join(dir, "a.trace");
    const b = join(dir, "b.trace");
    writeFileSync(a, allocTrace(200_000, 24));
    writeFileSync(b, allocTrace(200_000, 100_000));
    const out = join(dir, "out.trace");
    for (let round = 0; round < 4; round++) {
      const ran = await Promise.all([heaplabAsync(["convert", a, "-o", out]), heaplabAsync(["convert", b, "-o", out])]);
      expect(ran.map((r) => r.status)).toEqual([0, 0]);
      const text = readFileSync(out, "utf8");
      expect([readFileSync(a, "utf8"), readFileSync(b, "utf8")]).toContain(text);
    }
    expect(existsSync(out)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(["a.trace", "b.trace", "out.trace", "x.trace"]);
  });
});

describe("an interrupted command", () => {
  it("removes its temporary file and leaves the target as it was", async () => {
    // The trace comes down a named pipe that the test holds open: the command cannot finish before the interrupt,
    // however the machine's load schedules the two processes.
    const fifo = join(dir, "big.fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const out = join(dir, "out.trace");
    writeFileSync(out, "precious\n");
    const child = spawn(process.execPath, [MAIN, "convert", fifo, "--format", "alloc-trace", "-o", out]);
    const ended = new Promise<string | null>((resolve) => child.on("close", (_, signal) => resolve(signal)));
    const feed = createWriteStream(fifo);
    feed.on("error", () => {}); // the reader is gone once interrupted
    feed.write(allocTrace(50_000, 24));
    // Interrupted once the temporary file exists, while the trace is being written.
    const deadline = Date.now() + 60_000;
    while (!readdirSync(dir).some((n) => n.endsWith(".tmp")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toHaveLength(1);
    child.kill("SIGINT");
    expect(await ended).toBe("SIGINT");
    feed.destroy();
    expect(readFileSync(out, "utf8")).toBe("precious\n");
    expect(readdirSync(dir).sort()).toEqual(["big.fifo", "out.trace", "x.trace"]);
  });
});
