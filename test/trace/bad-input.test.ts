// Malformed and hostile inputs, one small file each, written by the test: every reader answers with a typed error
// naming the file, the line and the reason (or reads the input as the real program meant it), in bounded time and
// memory, and never changes the file it read.

import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addressLines } from "../../src/lab/addresses.js";
import { createLab } from "../../src/lab/lab.js";
import { glibcNumber, parseTunables } from "../../src/lab/model.js";
import { replayReport } from "../../src/report/report.js";
import { openTrace } from "../../src/trace/detect.js";
import { OpCode, ParseError, type TraceOp } from "../../src/trace/types.js";
import { encodeToBytes } from "../../src/trace/write.js";
import { nativeAddressLines, oracleUnavailable } from "../oracle/native.js";
import { collect, show, sourceOf } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "heaplab-bad-input-"));
let files = 0;

/** A file holding `content`, with a name saying what it is. */
function fileOf(content: string | Uint8Array, name = "t.trace"): string {
  const path = join(dir, `${files++}-${name}`);
  writeFileSync(path, content);
  return path;
}

const hash = (path: string): string => createHash("sha256").update(readFileSync(path)).digest("hex");

/** The error reading `path` gives; the file must be unchanged afterwards. */
async function errorOf(path: string, options: Parameters<typeof openTrace>[1] = {}): Promise<ParseError> {
  const before = hash(path);
  let error: unknown;
  try {
    await collect(await openTrace(path, options));
  } catch (e) {
    error = e;
  }
  expect(hash(path)).toBe(before);
  expect(error).toBeInstanceOf(ParseError);
  return error as ParseError;
}

/** Asserts the one-line message `file:line: field: reason`. */
function expectError(e: ParseError, path: string, line: number, field: string, reason: RegExp): void {
  expect(e.file).toBe(path);
  expect(e.line).toBe(line);
  expect(e.field).toBe(field);
  expect(e.reason).toMatch(reason);
  expect(e.message).not.toContain("\n");
}

async function opsOf(path: string, options: Parameters<typeof openTrace>[1] = {}): Promise<string[]> {
  return show(await collect(await openTrace(path, options)));
}

const HEADER = "# alloc-trace v1 pid=1 ppid=0 exe=t\n";

describe("one very long line", () => {
  const long = "1 1 m 16 0x" + "a".repeat(3 << 20);
  const cases: [string, string][] = [
    ["alloc-trace", `${HEADER}${long}\n2 1 f 0x10\n`],
    ["alloc-trace without newline", `${HEADER}${long}`],
    ["mtrace", `= Start\n+ 0x10 0x10\n@ ${"x".repeat(3 << 20)} + 0x20 0x10\n`],
    ["ltrace", `malloc(16) = 0x10\nmalloc(${"1".repeat(3 << 20)}) = 0x20\n`],
  ];
  for (const [what, text] of cases) {
    it(`${what}: an error quoting at most 80 characters, in bounded time`, async () => {
      const path = fileOf(text);
      const started = performance.now();
      const e = await errorOf(path);
      expect(performance.now() - started).toBeLessThan(5000);
      expectError(e, path, what === "mtrace" ? 3 : 2, "line", /longer than 1048576 bytes/);
      const quoted = /starts '(.*)'\)/.exec(e.reason)![1];
      expect(quoted.length).toBeLessThanOrEqual(80);
    });
  }
});

describe("numbers a size_t cannot hold", () => {
  const cases: [string, string, string, number, string][] = [
    ["alloc-trace: 400 digits", `${HEADER}1 1 m ${"9".repeat(400)} 0x10\n`, "t.trace", 2, "size"],
    ["alloc-trace: 2^64", `${HEADER}1 1 m 18446744073709551616 0x0\n`, "t.trace", 2, "size"],
    ["alloc-trace: calloc nmemb 2^64", `${HEADER}1 1 c 18446744073709551616 1 0x0\n`, "t.trace", 2, "nmemb"],
    ["alloc-trace: an address beyond 2^53", `${HEADER}1 1 m 16 0x20000000000001\n`, "t.trace", 2, "res"],
    ["alloc-trace: a seq beyond 2^53", `${HEADER}99999999999999999999 1 m 16 0x10\n`, "t.trace", 2, "seq"],
    ["mtrace: 300 hex digits", `= Start\n+ 0x10 0x${"f".repeat(300)}\n`, "t.mtrace", 2, "size"],
    ["rep", `1\n1\n1\n0\na 0 ${"9".repeat(30)}\n`, "t.rep", 5, "bytes"],
    ["android", `1: malloc 0x10 ${"9".repeat(30)}\n`, "t.txt", 1, "size"],
    ["heaptrack", `v 10000 2\n+ ${"f".repeat(17)} 1 10\n`, "t.ht", 2, "size"],
    ["ltrace", `malloc(${"9".repeat(25)}) = 0\n`, "t.ltrace", 1, "size"],
    ["ltrace: a pid beyond 2^53", `99999999999999999999 malloc(16) = 0x10\n`, "t.ltrace", 1, "pid"],
    ["android: a tid beyond 2^53", `99999999999999999999: malloc 0x10 16\n`, "t.txt", 1, "tid"],
  ];
  for (const [what, text, name, line, field] of cases) {
    it(what, async () => {
      const path = fileOf(text, name);
      expectError(await errorOf(path), path, line, field, /does not fit in 64 bits|beyond 2\^53/);
    });
  }

  it("the largest size_t, and calloc whose product overflows, are read (glibc answers them with NULL)", async () => {
    const path = fileOf(`${HEADER}1 1 m 18446744073709551615 0x0\n2 1 c 4294967296 4294967296 0x0\n3 1 m 00016 0x10\n`);
    const ops = await opsOf(path);
    expect(ops).toHaveLength(3);
    expect(ops[2]).toBe("3 1 m 16 0x10");
  });
});

describe("corrupted text", () => {
  const samples: Record<string, string> = {
    "alloc-trace": `${HEADER}# heap-base 0x555555559000\n1 1 m 16 0x10\n2 1 c 2 8 0x30\n3 1 r 0x10 64 0x50\n4 1 f 0x30\n5 1 a 64 10 0x100\n6 1 t 0 1\n`,
    mtrace: "= Start\n@ ./p:[0x4005e0] + 0x10 0x10\n< 0x10\n> 0x20 0x40\n! 0x20 0x80\n- 0x20\n+ (nil) 0x10\n= End\n",
    rep: "1\n2\n4\n100\na 0 10\nr 0 20\na 1 5\nf 0\n",
    android: "1: malloc 0x10 16\n1: calloc 0x30 2 8\n2: realloc 0x50 0x10 64\n1: free 0x30\n2: memalign 0x100 64 10\n",
    heaptrack: "v 10000 2\n+ 10 1 10\n+ 20 1 30\n- 10\n",
    ltrace: "[pid 5] malloc(16) = 0x10\n[pid 5] calloc(2, 8) = 0x30\n[pid 5] realloc(0x10, 64) = 0x50\n[pid 5] free(0x30) = <void>\n",
  };
  for (const [format, text] of Object.entries(samples)) {
    it(`${format}: any corruption is read or refused with a ParseError, never another exception`, async () => {
      const bytes = new TextEncoder().encode(text);
      await fc.assert(fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.nat(255)), { minLength: 1, maxLength: 3 }), fc.nat(bytes.length),
        fc.boolean(),
        async (flips, keep, named) => {
          const bad = bytes.slice(0, Math.max(keep, 1));
          for (const [at, value] of flips) if (at < bad.length) bad[at] = value;
          try {
            await collect(await openTrace(bad, named ? { format: format as "mtrace" } : {}));
          } catch (e) {
            if (!(e instanceof ParseError)) throw e;
          }
        },
      ), { numRuns: 200 });
    });
  }
});

describe("byte-order mark and format detection", () => {
  it("a UTF-8 BOM before the alloc-trace header is accepted", async () => {
    const path = fileOf(`\ufeff${HEADER}1 1 m 16 0x10\n2 1 f 0x10\n`);
    expect(await opsOf(path)).toEqual(["1 1 m 16 0x10", "2 1 f 0x10"]);
  });

  it("a UTF-8 BOM before header-less alloc-trace lines is accepted", async () => {
    const path = fileOf(`\ufeff1 1 m 16 0x10\n2 1 f 0x10\n`);
    expect(await opsOf(path)).toEqual(["1 1 m 16 0x10", "2 1 f 0x10"]);
  });

  it("a UTF-8 BOM before an mtrace log is accepted", async () => {
    const path = fileOf("\ufeff= Start\n+ 0x10 0x10\n- 0x10\n= End\n");
    expect(await opsOf(path)).toHaveLength(2);
  });

  it("a .rep with a negative size is read as .rep and refused with the reason", async () => {
    const path = fileOf("1\n2\n2\n0\na 0 -16\nf 0\n", "t.rep");
    expectError(await errorOf(path), path, 5, "bytes", /negative size/);
  });
});

describe("the # heap-base comment", () => {
  const cases: [string, RegExp][] = [
    ["0x3", /outside user space/],
    ["0x1000000000000000", /outside user space/],
    ["0x555555559010", /not a multiple of the 4096-byte page/],
    ["banana", /not an address/],
  ];
  for (const [base, reason] of cases) {
    it(`${base} is refused with the file and line`, async () => {
      const path = fileOf(`${HEADER}# heap-base ${base}\n1 1 m 16 0x10\n`);
      expectError(await errorOf(path), path, 2, "heap-base", reason);
    });
  }

  it("a plausible break is kept", async () => {
    const path = fileOf(`${HEADER}# heap-base 0x555555559000\n1 1 m 16 0x10\n`);
    const trace = await openTrace(path);
    await collect(trace);
    expect(trace.header.heapBase).toBe(0x555555559000);
  });
});

describe("binary traces (.hlb)", () => {
  const op = (seq: number, fields: Partial<TraceOp> = {}): TraceOp => ({
    seq, tid: 7, code: OpCode.malloc, ptr: 0, a: 16, b: 0, res: 0x1000 + 16 * seq, line: 0, ...fields,
  });
  const ops = [op(1), op(2), op(3, { code: OpCode.free, ptr: 0x1010, a: 0, res: 0 }), op(4, { a: 48 })];

  async function hlb(list: TraceOp[] = ops, header = {}, notes?: unknown): Promise<Uint8Array> {
    const source = sourceOf(list, header);
    if (notes !== undefined) (source.loss as { notes: unknown }).notes = notes;
    return encodeToBytes(source, "binary");
  }
  /** Where the first block starts (after the magic, version, length and padded header JSON). */
  const firstBlock = (file: Uint8Array): number => Math.ceil((12 + new DataView(file.buffer).getUint32(8, true)) / 8) * 8;

  it("reads the well-formed file the tests below corrupt", async () => {
    expect(await opsOf(fileOf(await hlb(), "t.hlb"))).toHaveLength(4);
  });

  it("a block declaring 2^28 ops in constant columns is refused before anything is allocated for them", async () => {
    const file = await hlb(Array.from({ length: 4 }, () => op(1, { res: 0x1000 })));
    new DataView(file.buffer).setUint32(firstBlock(file), 0x0ffffff8, true);
    new DataView(file.buffer).setUint32(firstBlock(file) + 4, 0x0ffffff0, true);
    const path = fileOf(file, "t.hlb");
    const rss = process.memoryUsage().rss;
    expectError(await errorOf(path), path, 0, "block", /corrupt block header/);
    expect(process.memoryUsage().rss - rss).toBeLessThan(256 << 20);
  });

  it("a block length of 0xFFFFFFF8 is a ParseError, not a RangeError", async () => {
    const file = await hlb();
    new DataView(file.buffer).setUint32(firstBlock(file), 0xfffffff8, true);
    const path = fileOf(file, "t.hlb");
    expectError(await errorOf(path), path, 0, "block", /corrupt block header/);
  });

  const values: [string, Partial<TraceOp>, string][] = [
    ["a negative size", { a: -5 }, "a"],
    ["a NaN size", { a: NaN }, "a"],
    ["an infinite size", { a: Infinity }, "a"],
    ["a size of 2^64", { a: 2 ** 64 }, "a"],
    ["a fractional size", { a: 16.5 }, "a"],
    ["a negative pointer", { res: -16 }, "res"],
    ["a NaN pointer", { res: NaN }, "res"],
    ["a negative thread id", { tid: -1 }, "tid"],
  ];
  for (const [what, fields, column] of values) {
    it(`${what} is refused with its line`, async () => {
      const path = fileOf(await hlb([op(1), op(2, fields), op(3)]), "t.hlb");
      expectError(await errorOf(path), path, 2, column, /not (a size|an integer)/);
    });
  }

  const bases: [number, RegExp][] = [[3, /outside user space/], [2 ** 60, /outside user space/], [0x555555559010, /page/]];
  for (const [base, reason] of bases) {
    it(`heap base ${base} is refused naming the file`, async () => {
      const path = fileOf(await hlb(ops, { heapBase: base }), "t.hlb");
      expectError(await errorOf(path), path, 0, "header heapBase", reason);
    });
  }

  it("keeps a recording's machine, fork point and blocked break; refuses them malformed", async () => {
    const header = {
      heapBase: 0x555555559000, memTotal: 25_276_157_952, swapTotal: 0, forkOf: { file: "make.trace", seq: 41 },
      brkBlockedAt: 0x555555599000,
    };
    const trace = await openTrace(fileOf(await hlb(ops, header), "t.hlb"));
    await collect(trace);
    expect(trace.header).toMatchObject(header);
    for (const [field, value, reason] of [["memTotal", -1, /byte count/], ["forkOf", { file: "", seq: 1 }, /parent/],
      ["brkBlockedAt", 0x555555599001, /page/]] as const) {
      const path = fileOf(await hlb(ops, { [field]: value }), "t.hlb");
      expectError(await errorOf(path), path, 0, `header ${field}`, reason);
    }
  });

  it("a trailer whose notes are not strings is refused", async () => {
    const path = fileOf(await hlb(ops, {}, 5), "t.hlb");
    expectError(await errorOf(path), path, 0, "trailer notes", /not a list of strings/);
  });

  it("bytes after the end block are refused", async () => {
    const file = await hlb();
    const path = fileOf(new Uint8Array([...file, ...file]), "t.hlb");
    expectError(await errorOf(path), path, 4, "end", /bytes after the end block/);
  });

  it("any corruption of a file's bytes is read or refused with a ParseError, never another exception", async () => {
    const comments = [{ at: 0, text: "# alloc-trace v1 pid=7 ppid=1 exe=t" }, { at: 2, text: "# a note" }];
    const file = await encodeToBytes(sourceOf(ops, { heapBase: 0x555555559000 }, 3, comments), "binary");
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.nat(file.length - 1), fc.nat(255)), { minLength: 1, maxLength: 4 }), fc.nat(file.length),
      async (flips, keep) => {
        const bad = file.slice(0, Math.max(keep, 1));
        for (const [at, value] of flips) if (at < bad.length) bad[at] = value;
        try {
          await collect(await openTrace(bad, { format: "binary" }));
        } catch (e) {
          if (!(e instanceof ParseError)) throw e;
        }
      },
    ), { numRuns: 300 });
  });

  it("a batch larger than a block may be is written as several blocks, read back op for op and line for line", async () => {
    const many = Array.from({ length: 70000 }, (_, i) => op(i + 1, { res: 0x1000 + 16 * i }));
    const comments = [{ at: 0, text: "# first" }, { at: 65536, text: "# at the cut" }, { at: 70000, text: "# last" }];
    const file = await encodeToBytes(sourceOf(many, {}, 70000, comments), "binary");
    const trace = await openTrace(fileOf(file, "t.hlb"));
    const read = await collect(trace);
    expect(read).toHaveLength(70000);
    expect(read[65535].line).toBe(65537);
    expect(read[65536].line).toBe(65539);
    expect(read[69999]).toMatchObject({ seq: 70000, res: 0x1000 + 16 * 69999, line: 70002 });
  });
});

describe("the lab", () => {
  it("replays a trace file of any format, detected as the command line does", async () => {
    const lab = await createLab({ metrics: false });
    const path = fileOf("= Start\n+ 0x55555555a2a0 0x40\n+ 0x55555555a2f0 0x18\n- 0x55555555a2a0\n= End\n", "t.mtrace");
    const summary = await lab.replay(path);
    expect(summary.ops).toBe(3);
    expect(summary.byOp).toEqual({ m: 2, f: 1 });
    const report = await replayReport(path);
    expect(report.live.final).toBe(0x18);
  });

  it("refuses arguments that are not sizes or addresses, and stays usable", async () => {
    const lab = await createLab({ metrics: false });
    const refused: [string, () => unknown, ErrorConstructor][] = [
      ["malloc(-1)", () => lab.malloc(-1), RangeError],
      ["malloc(NaN)", () => lab.malloc(NaN), RangeError],
      ["malloc(1.5)", () => lab.malloc(1.5), RangeError],
      ["malloc('abc')", () => lab.malloc("abc" as unknown as number), TypeError],
      ["malloc(2^65)", () => lab.malloc(2 ** 65), RangeError],
      ["malloc(-1n)", () => lab.malloc(-1n), RangeError],
      ["calloc(-1, 8)", () => lab.calloc(-1, 8), RangeError],
      ["memalign(-1, 10)", () => lab.memalign(-1, 10), RangeError],
      ["valloc(-1)", () => lab.valloc(-1), RangeError],
      ["free(-16)", () => lab.free(-16), RangeError],
      ["free(NaN)", () => lab.free(NaN), RangeError],
      ["free('0x10')", () => lab.free("0x10" as unknown as number), TypeError],
      ["malloc(16, { thread: -1 })", () => lab.malloc(16, { thread: -1 }), RangeError],
    ];
    for (const [what, run, type] of refused) expect(run, what).toThrow(type);
    const p = lab.malloc(16);
    expect(p).toBeGreaterThan(0);
    lab.free(p);
  });

  it("answers sizes no allocator can serve with NULL, as glibc does", async () => {
    for (const model of ["ptmalloc", "tcmalloc"] as const) {
      const lab = await createLab({ model, metrics: false });
      expect(lab.malloc(2n ** 64n - 1n), `${model} malloc((size_t)-1)`).toBe(0);
      expect(lab.malloc(2 ** 64 - 1), `${model} malloc((size_t)-1 as the nearest double)`).toBe(0);
      expect(lab.malloc(2 ** 63), `${model} malloc(2^63)`).toBe(0);
      expect(lab.calloc(2n ** 32n, 2n ** 32n), `${model} calloc overflowing`).toBe(0);
      expect(lab.valloc(2n ** 64n - 1n), `${model} valloc((size_t)-1)`).toBe(0);
      expect(lab.malloc(24n)).toBeGreaterThan(0);
    }
  });

  it("refuses a heap base no program break can be, instead of failing every malloc", async () => {
    for (const model of ["ptmalloc", "tcmalloc"] as const) {
      await expect(createLab({ model, options: { heap_base: 2 ** 60 } })).rejects.toThrow(/heap_base: .*outside user space/);
      await expect(createLab({ model, options: { heap_base: 3 } })).rejects.toThrow(RangeError);
    }
    expect((await createLab({ options: { heap_base: 0x555555559000 } })).heapBase()).toBe(0x555555559000);
  });

  it("refuses until and checkEvery that are not counts", async () => {
    const lab = await createLab({ metrics: false });
    const path = fileOf(`${HEADER}1 1 m 16 0x10\n`);
    await expect(lab.replay(path, { until: -5 })).rejects.toThrow(RangeError);
    await expect(lab.replay(path, { until: NaN })).rejects.toThrow(RangeError);
    await expect(lab.replay(path, { checkEvery: -1 })).rejects.toThrow(RangeError);
    expect((await lab.replay(path, { until: 1 })).ops).toBe(1);
  });

  it("a block displaced by a missed free is counted once and no longer live", async () => {
    const path = fileOf(`${HEADER}1 1 m 100 0x1000\n2 1 m 50 0x1000\n3 1 m 10 0x2000\n`);
    const report = await replayReport(path);
    expect(report.replay.pointerReuse).toBe(1);
    expect(report.live.final).toBe(60);
    const freed = fileOf(`${HEADER}1 1 m 100 0x1000\n2 1 m 50 0x1000\n3 1 f 0x1000\n`);
    expect((await replayReport(freed)).live.final).toBe(0);
  });
});

describe("tunable values, read as glibc reads GLIBC_TUNABLES", () => {
  it("octal, hex, trailing characters, signs and overflow", () => {
    const cases: [string, number][] = [
      ["010", 8], ["0100", 64], ["0x10", 16], ["0X1f", 31], ["65536k", 65536], ["1e3", 1], ["09", 0], ["0", 0],
      [" 7", 7], ["+7", 7], ["99999999999999999999999", 2 ** 64], ["-1", 2 ** 64],
    ];
    for (const [text, value] of cases) expect(glibcNumber(text), text).toBe(value);
    expect(parseTunables("glibc.rtld.nns=2:glibc.malloc.tcache_count=010:glibc.cpu.x86_rep_movsb_threshold=2048"))
      .toEqual({ "glibc.malloc.tcache_count": 8 });
    expect(() => parseTunables("glibc.malloc.tcache_count=abc")).toThrow(/non-numeric/);
  });

  const why = oracleUnavailable();
  // Twelve 24-byte blocks freed then allocated again: which of them tcache holds depends on tcache_count; sizes
  // 40 to 120 tell tcache_max apart; a 100,000-byte block is mmapped only below the mmap threshold.
  const trace = [HEADER.trimEnd()];
  let seq = 0;
  const sizes = [24, 40, 56, 72, 88, 104, 120];
  for (const size of sizes) for (let k = 0; k < 12; k++) trace.push(`${++seq} 1 m ${size} 0x${(0x10000 * (size + 1) + 0x20 * k).toString(16)}`);
  for (const size of sizes) for (let k = 0; k < 12; k++) trace.push(`${++seq} 1 f 0x${(0x10000 * (size + 1) + 0x20 * k).toString(16)}`);
  for (const size of sizes) for (let k = 0; k < 12; k++) trace.push(`${++seq} 1 m ${size} 0x${(0x20000000 + 0x10000 * size + 0x20 * k).toString(16)}`);
  trace.push(`${++seq} 1 m 100000 0x30000000`, `${++seq} 1 m 100000 0x30100000`);
  for (const tunables of [
    "glibc.malloc.tcache_count=010", "glibc.malloc.tcache_count=0x3", "glibc.malloc.tcache_count=5junk",
    "glibc.malloc.tcache_count=1e1", "glibc.malloc.tcache_max=0100", "glibc.malloc.mmap_threshold=65536k",
    "glibc.rtld.nns=2:glibc.malloc.tcache_count=2",
  ]) {
    it.skipIf(why !== null)(`${tunables}: every address as the real glibc's`, async () => {
      const path = fileOf(`${trace.join("\n")}\n`);
      const native = await nativeAddressLines(path, { tunables, threads: "merge" });
      const model = await addressLines(path, { model: "ptmalloc", tunables, threads: "merge" });
      expect(model).toEqual(native);
      expect(model).not.toEqual(await addressLines(path, { model: "ptmalloc", threads: "merge" }));
    });
  }
});

describe("sizes beyond 2^53, exact end to end", () => {
  const text = [
    HEADER.trimEnd(),
    "1 1 m 9223372036854775808 0x0",
    "2 1 m 18446744073709551615 0x0",
    "3 1 c 4294967296 4294967297 0x0",
    "4 1 c 18446744073709551615 2 0x0",
    "5 1 a 16 9007199254740993 0x0",
    "6 1 m 16 0x10",
    "7 1 r 0x10 9007199254740993 0x0",
    "8 1 v 18446744073709551614 0x0",
    "9 1 m 24 0x30",
    "",
  ].join("\n");

  it("--addresses lines print them as the native replayer does", async () => {
    const path = fileOf(text);
    const model = await addressLines(path, { model: "ptmalloc", threads: "merge" });
    expect(model[0]).toBe("1 m 9223372036854775808 null");
    expect(model[1]).toBe("2 m 18446744073709551615 null");
    expect(model[2]).toBe("3 c 18446744078004518912 null");
    expect(model[3]).toBe("4 c 36893488147419103230 null");
    if (oracleUnavailable() === null) expect(model).toEqual(await nativeAddressLines(path, { threads: "merge" }));
  });

  it("every imported format keeps them too, and its alloc-trace rendering reads back", async () => {
    const max = "18446744073709551615";
    const cases: [string, string, string][] = [
      ["t.mtrace", "= Start\n+ (nil) 0xffffffffffffffff\n= End\n", `m ${max} 0x0`],
      ["t.rep", `1\n1\n1\n0\na 0 ${max}\n`, `m ${max} 0x10000010`],
      ["t.txt", `1: calloc 0x0 3 ${max}\n`, `c 3 ${max} 0x0`],
      ["t.ht", "v 10000 2\n+ ffffffffffffffff 1 0\n", `m ${max} 0x0`],
      ["t.ltrace", `malloc(${max}) = 0\nreallocarray(0x10, 4294967296, 4294967297) = 0\n`, `m ${max} 0x0`],
    ];
    for (const [name, text, line] of cases) {
      const rendered = new TextDecoder().decode(await encodeToBytes(await openTrace(fileOf(text, name)), "alloc-trace"));
      expect(rendered, name).toContain(line);
      const again = await encodeToBytes(await openTrace(fileOf(rendered)), "alloc-trace");
      expect(new TextDecoder().decode(again), name).toBe(rendered);
    }
    const ltrace = await encodeToBytes(await openTrace(fileOf(cases[4][1], "t.ltrace")), "alloc-trace");
    expect(new TextDecoder().decode(ltrace)).toContain(`r 0x10 ${max} 0x0`);
  });

  it("text → binary → text and text → mtrace keep every digit", async () => {
    const path = fileOf(text);
    const binary = await encodeToBytes(await openTrace(path), "binary");
    const back = new TextDecoder().decode(await encodeToBytes(await openTrace(binary), "alloc-trace"));
    expect(back).toBe(text);
    const mtrace = new TextDecoder().decode(await encodeToBytes(await openTrace(path), "mtrace"));
    // The callocs whose product overflows are dropped: glibc fails them before mtrace logs anything.
    expect(mtrace).toContain("+ (nil) 0x8000000000000000\n+ (nil) 0xffffffffffffffff\n+ (nil) 0x20000000000001\n");
    expect(await opsOf(fileOf(mtrace, "t.mtrace"))).toHaveLength(7);
  });
});
