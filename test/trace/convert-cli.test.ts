// `heaplab convert`: formats from the extension or --to, gzip by name, the loss report on stderr, usage errors.

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { run } from "../../src/cli/convert.js";
import { openTrace } from "../../src/trace/detect.js";
import { writeTrace } from "../../src/trace/write.js";

const TRACE = [
  "# alloc-trace v1 pid=9 ppid=1 exe=t", "1 9 m 24 0x10", "2 9 c 2 8 0x40", "3 9 r 0x10 100 0x80", "4 9 f 0x0",
  "5 9 f 0x40", "6 9 t 0 1", "7 9 f 0x80", "",
].join("\n");

let dir: string;
let stderr: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "heaplab-convert-"));
  writeFileSync(join(dir, "in.trace"), TRACE);
  stderr = [];
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => { stderr.push(args.join(" ")); });
  vi.spyOn(console, "log").mockImplementation(() => {});
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("heaplab convert", () => {
  it("picks the output format from the extension and round-trips through gzip binary", async () => {
    expect(await run([join(dir, "in.trace"), "-o", join(dir, "out.hlb.gz")])).toBe(0);
    expect(readFileSync(join(dir, "out.hlb.gz"))[0]).toBe(0x1f);
    expect(gunzipSync(readFileSync(join(dir, "out.hlb.gz"))).subarray(0, 4).toString()).toBe("HLBT");
    expect(await run([join(dir, "out.hlb.gz"), "-o", join(dir, "back.trace")])).toBe(0);
    expect(readFileSync(join(dir, "back.trace"), "utf8")).toBe(TRACE);
    expect(stderr.join("\n")).toMatch(/out\.hlb\.gz \(binary\) → .*back\.trace \(alloc-trace\): 7 ops/);
  });

  it("reads a plain binary file from disk, and names a truncated one", async () => {
    expect(await run([join(dir, "in.trace"), "-o", join(dir, "plain.hlb")])).toBe(0);
    expect(await run([join(dir, "plain.hlb"), "-o", join(dir, "again.trace")])).toBe(0);
    expect(readFileSync(join(dir, "again.trace"), "utf8")).toBe(TRACE);
    const bytes = readFileSync(join(dir, "plain.hlb"));
    writeFileSync(join(dir, "cut.hlb"), bytes.subarray(0, bytes.length - 20));
    await expect(run([join(dir, "cut.hlb"), "-o", join(dir, "cut.trace")])).rejects.toThrow(/cut\.hlb:\d+: \w+: truncated binary trace$/);
    expect(existsSync(join(dir, "cut.trace"))).toBe(false);
  });

  it("reports what the target format drops", async () => {
    expect(await run([join(dir, "in.trace"), "-o", join(dir, "out.txt"), "--to", "mtrace"])).toBe(0);
    const source = await openTrace(join(dir, "out.txt"));
    expect(source.header.format).toBe("mtrace");
    const text = stderr.join("\n");
    expect(text).toMatch(/output: 1 malloc_trim calls dropped/);
    expect(text).toMatch(/output: 1 free\(NULL\) calls dropped/);
  });

  it("prints usage without an output, and rejects unknown formats in one line", async () => {
    expect(await run([join(dir, "in.trace")])).toBe(2);
    await expect(run([join(dir, "in.trace"), "-o", join(dir, "x"), "--to", "json"])).rejects.toThrow(/^--to json: expected one of/);
    await expect(run([join(dir, "in.trace"), "-o", join(dir, "x"), "--format", "foo"])).rejects.toThrow(/^--format foo: expected one of/);
  });

  it("writes no compression but gzip: writeTrace refuses a .zst target before reading or writing", async () => {
    const target = join(dir, "out.trace.zst");
    const source = await openTrace(join(dir, "in.trace"));
    await expect(writeTrace(source, target)).rejects.toThrow(/out\.trace\.zst: traces are written plain or gzip-compressed, not zstd/);
    expect(existsSync(target)).toBe(false);
  });
});
