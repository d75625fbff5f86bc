// Call sites in traces: the `site=<id>` field and the `# site`/`# frame`/`# module` lines read and written by the
// text and binary formats, the sites importers carry (mtrace callers, heaptrack trace trees), and the recorder's
// sites resolved by addr2line.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildRecorder, recordProcess, recordedFiles } from "../../src/cli/record.js";
import { symbolizeRecording } from "../../src/cli/symbolize.js";
import { readAllocTrace } from "../../src/trace/alloc-trace.js";
import { readBinary } from "../../src/trace/binary.js";
import { openTrace } from "../../src/trace/detect.js";
import { readHeaptrack } from "../../src/trace/heaptrack.js";
import { readMtrace } from "../../src/trace/mtrace.js";
import { siteName } from "../../src/trace/sites.js";
import { ParseError, type TraceSource } from "../../src/trace/types.js";
import { encodeToBytes } from "../../src/trace/write.js";
import { oracleUnavailable } from "../oracle/native.js";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Every op's site (0: none) and the header once read. */
async function sitesOf(source: TraceSource): Promise<number[]> {
  const sites: number[] = [];
  for await (const b of source.batches()) for (let i = 0; i < b.length; i++) sites.push(b.site?.[i] ?? 0);
  return sites;
}

const TRACE = [
  "# alloc-trace v1 pid=7 ppid=1 exe=prog",
  "# site 1 prog+0x1182 make(unsigned long, int) /src/prog.c:3",
  "# frame 1 1 prog+0x11a0 main /src/prog.c:9",
  "# site 2 0x7f0000001000 0x7f0000002000",
  "1 7 m 100 0x1000 site=1",
  "2 7 c 2 8 0x2000 site=2 future=x",
  "3 7 m 5 0x3000",
  "4 7 r 0x1000 200 0x4000 site=2",
  "5 7 f 0x2000",
  "# module 1 /opt/my prog 0x555555554000",
  "",
].join("\n");

describe("alloc-trace call sites", () => {
  it("reads site= fields, ignores other key=value fields, and defines sites from comments", async () => {
    const source = readAllocTrace(bytes(TRACE));
    expect(await sitesOf(source)).toEqual([1, 2, 0, 2, 0]);
    const sites = source.header.sites!;
    expect(sites.get(1)!.frames).toEqual([
      { module: "prog", offset: 0x1182, fn: "make(unsigned long, int)", file: "/src/prog.c", line: 3 },
      { module: "prog", offset: 0x11a0, fn: "main", file: "/src/prog.c", line: 9 },
    ]);
    expect(sites.get(2)!.frames).toEqual([{ address: 0x7f0000001000 }, { address: 0x7f0000002000 }]);
    expect(source.header.modules).toEqual([{ id: 1, path: "/opt/my prog", base: 0x555555554000 }]);
    expect(siteName(sites.get(1), 1)).toBe("make(unsigned long, int) prog.c:3");
    expect(siteName(sites.get(2), 2)).toBe("0x7f0000001000");
  });

  it("refuses a site id that is not a number, and a field that is not key=value", async () => {
    for (const [line, field] of [["1 7 m 10 0x10 site=x", "site"], ["1 7 m 10 0x10 junk", "line"]]) {
      const error = await sitesOf(readAllocTrace(bytes(`${line}\n`))).catch((e) => e);
      expect(error).toBeInstanceOf(ParseError);
      expect(error.field).toBe(field);
    }
  });

  it("round-trips through the binary format, sites and site lines kept", async () => {
    const binary = await encodeToBytes(readAllocTrace(bytes(TRACE)), "binary");
    const back = readBinary(binary);
    expect(await sitesOf(back)).toEqual([1, 2, 0, 2, 0]);
    expect(back.header.sites!.get(1)!.frames[1].fn).toBe("main");
    const text = new TextDecoder().decode(await encodeToBytes(readBinary(binary), "alloc-trace"));
    expect(text).toBe(TRACE.replace(" future=x", ""));
  });

  it("flags the blocks that carry a site column, and only those", async () => {
    const flags = async (text: string): Promise<number> => {
      const binary = await encodeToBytes(readAllocTrace(bytes(text)), "binary");
      const view = new DataView(binary.buffer, binary.byteOffset);
      return view.getUint32(Math.ceil((12 + view.getUint32(8, true)) / 8) * 8 + 12, true);
    };
    expect(await flags("# alloc-trace v1 pid=1 ppid=0 exe=x\n1 1 m 10 0x10\n")).toBe(0);
    expect(await flags(TRACE)).toBe(1);
  });
});

describe("importers' call sites", () => {
  it("mtrace: one site per caller", async () => {
    const log = [
      "= Start",
      "@ ./prog:(main+0x1c)[0x4005d6] + 0x55555555a2a0 0x40",
      "@ ./prog:[0x4005e0] + 0x55555555a300 0x10",
      "@ ./prog:(main+0x1c)[0x4005d6] + 0x55555555a400 0x20",
      "@ [0x7ffff7e4a1b0] - 0x55555555a2a0",
      "= End",
    ].join("\n");
    const source = readMtrace(bytes(log));
    expect(await sitesOf(source)).toEqual([1, 2, 1, 0]);
    expect(source.header.sites!.get(1)!.frames).toEqual([{ address: 0x4005d6, module: "./prog", fn: "main+0x1c" }]);
  });

  it("heaptrack: the trace tree gives each allocation its frames", async () => {
    const raw = ["t 401000 0", "t 402000 1", "+ 10 2 5000", "+ 20 1 6000", "- 5000"].join("\n");
    const source = readHeaptrack(bytes(raw));
    expect(await sitesOf(source)).toEqual([2, 1, 0]);
    expect(source.header.sites!.get(2)!.frames).toEqual([{ address: 0x402000 }, { address: 0x401000 }]);
  });

  it("heaptrack interpreted: frames named by the i and s records", async () => {
    const text = ["s main", "s prog.c", "s prog", "i 401000 3 1 2 7", "t 1 0", "a 10 1", "+ 0", "- 0"].join("\n");
    const source = readHeaptrack(bytes(text));
    expect(await sitesOf(source)).toEqual([1, 0]);
    expect(source.header.sites!.get(1)!.frames).toEqual([
      { address: 0x401000, module: "prog", fn: "main", file: "prog.c", line: 7 },
    ]);
  });
});

const unavailable = oracleUnavailable() ?? (spawnSync("addr2line", ["--version"]).error ? "no addr2line" : null);

describe.skipIf(unavailable)("recorded call sites", () => {
  it("match addr2line on the program's own return addresses, for one frame and for several", async () => {
    const dir = mkdtempSync(join(tmpdir(), "heaplab-sites-"));
    const source = join(dir, "prog.c");
    writeFileSync(source, [
      "#include <stdlib.h>",
      "__attribute__((noinline)) void *leaf(size_t n) { return malloc(n); }",
      "__attribute__((noinline)) void *mid(size_t n) { return leaf(n + 1); }",
      "int main(void) {",
      "  void *keep[64];",
      "  for (int i = 0; i < 64; i++) keep[i] = i % 2 ? leaf(16 + i) : mid(32 + i);",
      "  keep[0] = realloc(keep[0], 4000);",
      "  return keep[1] == keep[2];",
      "}",
    ].join("\n"));
    const exe = join(dir, "prog");
    expect(spawnSync("cc", ["-g", "-O1", "-fno-pie", "-no-pie", "-o", exe, source]).status).toBe(0);
    buildRecorder();
    for (const frames of [1, 3]) {
      const output = join(dir, `prog-${frames}.trace`);
      await recordProcess([exe], output, { callSites: frames });
      for (const f of recordedFiles(output, 0)) await symbolizeRecording(f.path);
      const trace = await openTrace(output);
      const ops = await sitesOf(trace);
      const sites = trace.header.sites!;
      expect(ops.filter((s) => s > 0).length).toBeGreaterThanOrEqual(65);
      // Every frame in the program: addr2line on (return address − 1), asked here, names the same function and line.
      const own = [...sites.values()].flatMap((s) => s.frames).filter((f) => f.module === "prog");
      expect(own.length).toBeGreaterThan(0);
      for (const frame of own) {
        const answer = spawnSync("addr2line", ["-f", "-C", "-e", exe, `0x${(frame.offset! - 1).toString(16)}`], { encoding: "utf8" })
          .stdout.split("\n");
        expect(frame.fn).toBe(answer[0]);
        expect(`${frame.file}:${frame.line}`).toBe(answer[1].replace(/ \(discriminator \d+\)$/, ""));
      }
      const names = new Set([...sites.values()].map((s) => s.frames[0].fn));
      expect(names).toContain("leaf");
      expect(names).toContain("main");
      if (frames > 1) {
        const viaMid = [...sites.values()].find((s) => s.frames[0].fn === "leaf" && s.frames[1]?.fn === "mid");
        expect(viaMid?.frames[2]?.fn).toBe("main");
      }
      expect(readFileSync(output, "utf8")).not.toMatch(/^# site \d+ 0x/m);
    }
  }, 60_000);

  it("defines every site a file names in that file, a forked child's included", async () => {
    const dir = mkdtempSync(join(tmpdir(), "heaplab-sites-fork-"));
    const source = join(dir, "fork.c");
    writeFileSync(source, [
      "#include <stdlib.h>",
      "#include <sys/wait.h>",
      "#include <unistd.h>",
      "__attribute__((noinline)) void *leaf(size_t n) { return malloc(n); }",
      "int main(void) {",
      "  void *a = leaf(10), *b = malloc(20);",
      "  pid_t child = fork();",
      "  void *c = leaf(30), *d = calloc(2, 8);",
      "  if (child == 0) _exit(a == c || b == d);",
      "  waitpid(child, 0, 0);",
      "  return 0;",
      "}",
    ].join("\n"));
    const exe = join(dir, "fork");
    expect(spawnSync("cc", ["-O1", "-o", exe, source]).status).toBe(0);
    buildRecorder();
    const output = join(dir, "fork.trace");
    await recordProcess([exe], output, { callSites: 1 });
    const files = recordedFiles(output, 0);
    expect(files).toHaveLength(2);
    for (const f of files) {
      const source = readAllocTrace(f.path);
      const used = new Set((await sitesOf(source)).filter((id) => id > 0));
      expect(used.size).toBeGreaterThanOrEqual(2);
      for (const id of used) expect(source.header.sites?.has(id), `${f.path}: site ${id}`).toBe(true);
    }
  }, 60_000);
});
