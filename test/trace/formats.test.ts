// Importers of the trace formats people already have, format detection, and the loss reports.

import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { detectFormat, openTrace } from "../../src/trace/detect.js";
import { SYNTHETIC_BASE } from "../../src/trace/rep.js";
import { LETTER_OF_CODE, OpCode, ParseError } from "../../src/trace/types.js";
import { collect, show } from "./helpers.js";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

async function read(text: string, options: { lenient?: boolean; format?: "mtrace" | "rep" | "android" | "heaptrack" | "ltrace" } = {}) {
  const source = await openTrace(bytes(text), options);
  const ops = await collect(source);
  return { source, ops, lines: show(ops) };
}

async function parseError(text: string, options = {}): Promise<ParseError> {
  try {
    await read(text, options);
  } catch (e) {
    expect(e).toBeInstanceOf(ParseError);
    return e as ParseError;
  }
  throw new Error("no error");
}

describe("glibc mtrace", () => {
  const log = [
    "= Start",
    "@ ./prog:(main+0x1c)[0x4005d6] + 0x55555555a2a0 0x40",
    "@ ./prog:[0x4005e0] + 0x55555555a2f0 0x18",
    "@ [0x7ffff7e4a1b0] - 0x55555555a2a0",
    "+ 0x55555555a310 0x20",
    "@ /lib/x86_64-linux-gnu/libc.so.6:(__libc_start_main-0x12)[0x271ca] < 0x55555555a2f0",
    "@ /lib/x86_64-linux-gnu/libc.so.6:(__libc_start_main-0x12)[0x271ca] > 0x55555555a340 0x100",
    "@ ./prog:[0x400600] ! 0x55555555a340 0xffffffffff",
    "@ ./prog:[0x400610] + (nil) 0x7fffffffffff",
    "- 0x55555555a340",
    "- 0x123450",
    "= End",
  ].join("\n");

  it("reads every caller-prefix form, realloc pairs, failed reallocs and NULL results", async () => {
    const { source, lines } = await read(log);
    expect(source.header.format).toBe("mtrace");
    expect(lines).toEqual([
      "1 1 m 64 0x55555555a2a0 site=1",
      "2 1 m 24 0x55555555a2f0 site=2",
      "3 1 f 0x55555555a2a0",
      "4 1 m 32 0x55555555a310",
      "5 1 r 0x55555555a2f0 256 0x55555555a340 site=3",
      "6 1 r 0x55555555a340 1099511627775 0x0 site=4",
      "7 1 m 140737488355327 0x0 site=5",
      "8 1 f 0x55555555a340",
      "9 1 f 0x123450",
    ]);
    expect(source.loss).toMatchObject({ unknownFrees: 1, failedCalls: 2, pointerReuseResolved: 0, linesSkipped: 0 });
  });

  it("names the line and field of a malformed record; --lenient skips and counts it", async () => {
    const bad = "= Start\n+ 0x10 0x20\n+ 0xzz 0x20\n- 0x10\n";
    const e = await parseError(bad);
    expect([e.line, e.field]).toEqual([3, "ptr"]);
    const { ops, source } = await read(bad, { lenient: true });
    expect(ops).toHaveLength(2);
    expect(source.loss.linesSkipped).toBe(1);
    expect((await parseError("= Start\n< 0x10\n+ 0x20 0x8\n")).reason).toMatch(/no '>' line/);
  });

  it("counts an allocation at a still-live address as a resolved missed free", async () => {
    const { source } = await read("= Start\n+ 0x10 0x20\n+ 0x10 0x30\n= End\n");
    expect(source.loss.pointerReuseResolved).toBe(1);
  });
});

describe("malloclab .rep", () => {
  const classic = ["20000", "3", "6", "1", "a 0 512", "a 1 128", "r 0 640", "f 1", "a 2 16", "f 0", ""].join("\n");
  const modern = ["1", "2", "4", "24", "a 0 8", "a 1 16", "f 0", "f 1"].join("\n");

  it("reads the 2002 header; ids become synthetic addresses and seq the 0-based request index", async () => {
    const { source, lines } = await read(classic);
    expect(source.header).toMatchObject({ format: "rep", variant: "2002" });
    const at = (id: number) => `0x${(SYNTHETIC_BASE + 16 * (id + 1)).toString(16)}`;
    expect(lines).toEqual([
      `0 1 m 512 ${at(0)}`, `1 1 m 128 ${at(1)}`, `2 1 r ${at(0)} 640 ${at(0)}`, `3 1 f ${at(1)}`,
      `4 1 m 16 ${at(2)}`, `5 1 f ${at(0)}`,
    ]);
  });

  it("reads the 2016 header (weight first, peak payload last)", async () => {
    const { source, ops } = await read(modern);
    expect(source.header.variant).toBe("2016");
    expect(ops.map((o) => o.code)).toEqual([OpCode.malloc, OpCode.malloc, OpCode.free, OpCode.free]);
  });

  it("checks the header's counts and ids", async () => {
    expect((await parseError(["1", "2", "5", "24", "a 0 8"].join("\n"), { format: "rep" })).field).toBe("num_ops");
    const e = await parseError(["1", "2", "1", "24", "a 7 8"].join("\n"), { format: "rep" });
    expect([e.line, e.field]).toEqual([5, "id"]);
    expect((await parseError(["1", "2", "1", "24", "x 0 8"].join("\n"), { format: "rep" })).field).toBe("op");
  });
});

describe("Android record_allocs", () => {
  it("reads every record kind with thread ids, with or without timestamps", async () => {
    const dump = [
      "186: malloc 0xb6038060 20",
      "186: calloc 0xb48c1100 32 8",
      "200: memalign 0x85423660 16 104",
      "200: realloc 0x85423700 0xb6038060 40",
      "186: realloc 0x85423800 0x0 12 1000 2000",
      "186: free 0xb48c1100",
      "200: thread_done 0x0",
    ].join("\n");
    const { source, lines } = await read(dump);
    expect(source.header.format).toBe("android");
    expect(lines).toEqual([
      "1 186 m 20 0xb6038060",
      "2 186 c 32 8 0xb48c1100",
      "3 200 a 16 104 0x85423660",
      "4 200 r 0xb6038060 40 0x85423700",
      "5 186 r 0x0 12 0x85423800",
      "6 186 f 0xb48c1100",
    ]);
    const e = await parseError("186: malloc 0xb6038060\n", { format: "android" });
    expect([e.line, e.field]).toEqual([1, "line"]);
  });
});

describe("heaptrack", () => {
  it("reads the raw stream (hex without 0x, realloc as - then +), skipping the other records", async () => {
    const raw = [
      "v 10500 3", "x 9 /bin/prog", "X /bin/prog --flag", "I 1000 3d0900", "m 1 x 555555554000 0 1000",
      "t 5555555551a9 0", "+ 40 1 55555555a2a0", "+ 18 1 55555555a2f0", "c 7", "- 55555555a2a0", "R 1a0",
      "- 55555555a2f0", "+ 100 1 55555555a400", "- deadbeef",
    ].join("\n");
    const { source, lines } = await read(raw);
    expect(source.header).toMatchObject({ format: "heaptrack", variant: "raw" });
    expect(lines).toEqual([
      "1 1 m 64 0x55555555a2a0 site=1", "2 1 m 24 0x55555555a2f0 site=1", "3 1 f 0x55555555a2a0",
      "4 1 f 0x55555555a2f0", "5 1 m 256 0x55555555a400 site=1", "6 1 f 0xdeadbeef",
    ]);
    expect(source.header.sites!.get(1)!.frames).toEqual([{ address: 0x5555555551a9 }]);
    expect(source.loss.unknownFrees).toBe(1);
  });

  it("reads the interpreted stream, matching frees LIFO within an allocation class and saying so", async () => {
    const interpreted = ["v 10500 3", "s 4 main", "i 1 1", "t 1 0", "a 20 1", "a 40 1", "+ 0", "+ 0", "+ 1", "- 0", "- 1", "- 0"].join("\n");
    const { source, ops } = await read(interpreted, { format: "heaptrack" });
    expect(source.header.variant).toBe("interpreted");
    const allocs = ops.filter((o) => o.code === OpCode.malloc);
    expect(allocs.map((o) => o.a)).toEqual([32, 32, 64]);
    const frees = ops.filter((o) => o.code === OpCode.free).map((o) => o.ptr);
    expect(frees).toEqual([allocs[1].res, allocs[2].res, allocs[0].res]);
    expect(source.loss.notes.join(" ")).toMatch(/3 frees matched/);
  });
});

describe("ltrace", () => {
  it("re-joins unfinished (and no-return) calls with their resumption by pid, and reads every prefix form", async () => {
    const log = [
      "1234 malloc(24)                                    = 0x55555555a2a0",
      "[pid 1235] calloc(1, 24) = 0x55555555a2c0",
      "1234 12:00:01.123456 libfoo.so->realloc(0x55555555a2a0, 48) = 0x55555555a2e0 <0.000012>",
      "1235 malloc(4096 <unfinished ...>",
      "1234 free(0x55555555a2c0)                          = <void>",
      "1235 <... malloc resumed> )                        = 0x55555555b000",
      "1234 puts(\"hello (world)\")                         = 12",
      "1234 memalign(64, 100) = 0x55555555c000",
      "1234 posix_memalign(0x7ffc0000, 16, 100) = 0",
      "1234 free(0) = <void>",
      "1234 malloc(10) = nil",
      "1236 malloc(32 <no return ...>",
      "1235 free(0x55555555b000 <no return ...>",
      "1236 <... malloc resumed> ) = 0x55555555d000",
      "1234 +++ exited (status 0) +++",
    ].join("\n");
    const { source, lines } = await read(log);
    expect(source.header.format).toBe("ltrace");
    expect(lines).toEqual([
      "1 1234 m 24 0x55555555a2a0",
      "2 1235 c 1 24 0x55555555a2c0",
      "3 1234 r 0x55555555a2a0 48 0x55555555a2e0",
      "4 1234 f 0x55555555a2c0",
      "5 1235 m 4096 0x55555555b000",
      "6 1234 a 64 100 0x55555555c000",
      "7 1234 f 0x0",
      "8 1234 m 10 0x0",
      "9 1236 m 32 0x55555555d000",
    ]);
    expect(source.loss.failedCalls).toBe(1);
    expect(source.loss.linesSkipped).toBe(2);
    expect(source.loss.notes.join(" ")).toMatch(/posix_memalign/);
  });
});

describe("format detection", () => {
  const samples: Record<string, string> = {
    "alloc-trace": "# alloc-trace v1 pid=1 ppid=0 exe=x\n1 1 m 8 0x10\n",
    mtrace: "= Start\n@ ./a.out:[0x1] + 0x10 0x8\n= End\n",
    rep: "1\n1\n1\n8\na 0 8\n",
    android: "7: malloc 0x10 8\n",
    heaptrack: "v 10500 3\n+ 8 1 10\n",
    ltrace: "malloc(8) = 0x10\n",
  };

  for (const [format, text] of Object.entries(samples)) {
    it(`recognises ${format}, plain and gzip-compressed`, async () => {
      expect(detectFormat(bytes(text))).toBe(format);
      const source = await openTrace(gzipSync(bytes(text)));
      expect(source.header.format).toBe(format);
      expect((await collect(source)).length).toBe(1);
    });
  }

  it("gives one clear line for an empty file, an unknown format and a truncated gzip", async () => {
    await expect(openTrace(new Uint8Array(0))).rejects.toThrow(/^<memory>:0: file: empty trace$/);
    await expect(openTrace(bytes("hello world\n"))).rejects.toThrow(/unrecognised trace format \(first line 'hello world'\)/);
    const full = gzipSync(bytes("# alloc-trace v1 pid=1 ppid=0 exe=x\n" + "1 1 m 8 0x10\n".repeat(50000)));
    const truncated = full.subarray(0, full.length - 100);
    const error = await openTrace(truncated).then(collect).then(() => null, (e: Error) => e);
    expect(error?.message).toMatch(/corrupt or truncated gzip data/);
    expect(error?.message.split("\n")).toHaveLength(1);
  });

  it("replays a one-shot stream after sniffing its head", async () => {
    async function* chunks() {
      yield bytes("= Start\n+ 0x10 0x8\n");
      yield bytes("- 0x10\n= End\n");
    }
    const source = await openTrace(chunks());
    expect(show(await collect(source))).toEqual(["1 1 m 8 0x10", "2 1 f 0x10"]);
  });
});

const ltraceAvailable = spawnSync("ltrace", ["-V"], { stdio: "ignore" }).status === 0 && spawnSync("cc", ["--version"], { stdio: "ignore" }).status === 0;

describe.skipIf(!ltraceAvailable)("ltrace's own output", () => {
  it("imports a real `ltrace -f -e malloc+free+calloc+realloc` log of a program", async () => {
    const dir = mkdtempSync(join(tmpdir(), "heaplab-ltrace-"));
    writeFileSync(join(dir, "p.c"), [
      "#include <stdlib.h>",
      "int main(void) { void *volatile a = malloc(100); void *volatile b = calloc(3, 40);",
      "  a = realloc(a, 5000); free(b); free(a); return 0; }",
    ].join("\n"));
    expect(spawnSync("cc", ["-O0", "-o", join(dir, "p"), join(dir, "p.c")]).status).toBe(0);
    const log = join(dir, "p.ltrace");
    spawnSync("ltrace", ["-f", "-e", "malloc+free+calloc+realloc", "-o", log, join(dir, "p")]);
    const source = await openTrace(log);
    expect(source.header.format).toBe("ltrace");
    const ops = await collect(source);
    expect(ops.map((o) => LETTER_OF_CODE[o.code])).toEqual(["m", "c", "r", "f", "f"]);
    const [a, b, a2] = ops.map((o) => o.res);
    expect(ops.map((o) => o.ptr)).toEqual([0, 0, a, b, a2]);
    expect(ops.map((o) => o.a).slice(0, 3)).toEqual([100, 3, 5000]);
    expect(source.loss).toMatchObject({ unknownFrees: 0, linesSkipped: 0 });
  });
});
