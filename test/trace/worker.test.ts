// The alloc-trace reader's worker thread (the compiled package, dist/): the batches, header, loss report and
// errors of a large file read in a worker are those of the same file read in the calling thread.

import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { TraceSource } from "../../src/trace/types.js";
import { sharedTraceFiles } from "./helpers.js";

type Reader = (source: string, options: { lenient?: boolean; worker?: boolean }) => TraceSource;
const { readAllocTrace } = (await import(join(process.cwd(), "dist", "index.js"))) as { readAllocTrace: Reader };

const dir = mkdtempSync(join(tmpdir(), "heaplab-worker-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A trace of `ops` mallocs and frees, `bad` lines replaced by junk; with `sites`, each malloc names one of the
 * call sites defined along the way (a `# site` line and a `# frame` line each, cut by batch boundaries too).
 */
function writeTrace(name: string, ops: number, bad: Map<number, string> = new Map(), sites = false): string {
  const lines = ["# alloc-trace v1 pid=7 ppid=1 exe=gen"];
  for (let i = 1; i <= ops; i++) {
    const address = 0x5500_0000_0000 + (i >> 1) * 0x40;
    const site = sites && i % 2 ? 1 + ((i >> 1) % 3001) : 0;
    if (site && i >> 1 < 3001) {
      lines.push(`# site ${site} gen+0x${(site * 16).toString(16)} f${site} gen.c:${site}`);
      lines.push(`# frame ${site} 1 gen+0x10 main gen.c:1`);
    }
    const line = i % 2 ? `${i} ${7 + (i % 3)} m ${i % 500} 0x${address.toString(16)}${site ? ` site=${site}` : ""}`
      : `${i} 7 f 0x${address.toString(16)}`;
    lines.push(bad.get(lines.length + 1) ?? line);
    if (i % 10_000 === 0) lines.push("# mark");
  }
  const path = join(dir, name);
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

/** Per batch: its length, a digest of its valid columns and its comments; then the error, if any. */
async function read(source: TraceSource, recycle = false): Promise<{ batches: string[]; error?: unknown }> {
  const batches: string[] = [];
  try {
    for await (const b of source.batches({ recycle })) {
      const hash = createHash("sha256");
      for (const c of [b.seq, b.tid, b.code, b.ptr, b.a, b.b, b.res, b.line, ...(b.site ? [b.site] : [])]) {
        hash.update(new Uint8Array(c.buffer, c.byteOffset, b.length * c.BYTES_PER_ELEMENT));
      }
      batches.push(`${b.length} ${hash.digest("hex")} ${JSON.stringify(b.comments ?? [])}`);
    }
  } catch (e) {
    const { name, message, line, field } = e as { name: string; message: string; line?: number; field?: string };
    return { batches, error: { name, message, line, field } };
  }
  return { batches };
}

async function both(path: string, lenient = false) {
  const inWorker = readAllocTrace(path, { lenient, worker: true });
  const here = readAllocTrace(path, { lenient, worker: false });
  const [a, b] = [await read(inWorker), await read(here)];
  return { a, b, inWorker, here };
}

describe("alloc-trace in a worker thread", () => {
  it("hands on the same batches, comments and header as the calling thread", async () => {
    const path = writeTrace("ok.trace", 100_000);
    const { a, b, inWorker, here } = await both(path);
    expect(a.error).toBeUndefined();
    expect(a.batches.map((x) => Number(x.split(" ")[0])).reduce((x, y) => x + y)).toBe(100_000);
    expect(a).toEqual(b);
    expect(inWorker.header).toEqual({ format: "alloc-trace", pid: 7, ppid: 1, exe: "gen" });
    expect(inWorker.header).toEqual(here.header);
  });

  it("carries call sites: the site column, and every site with its frames in the header", async () => {
    const path = writeTrace("sites.trace", 100_000, new Map(), true);
    const { a, b, inWorker, here } = await both(path);
    expect(a.error).toBeUndefined();
    expect(a).toEqual(b);
    expect(inWorker.header.sites?.size).toBe(3001);
    expect(inWorker.header.sites?.get(3001)?.frames.map((f) => f.fn)).toEqual(["f3001", "main"]);
    expect(inWorker.header).toEqual(here.header);
  });

  it("hands a recycling consumer the same batches, the worker refilling the columns it gets back", async () => {
    const path = writeTrace("recycled.trace", 100_000);
    const recycled = await read(readAllocTrace(path, { worker: true }), true);
    const here = await read(readAllocTrace(path, { worker: false }));
    expect(recycled.batches.length).toBeGreaterThan(20);
    expect(recycled).toEqual(here);
  });

  it("reads a shared gzip-compressed trace as the calling thread does", async () => {
    const file = sharedTraceFiles().find((f) => f.includes("sqlite3"));
    if (!file) return;
    const { a, b } = await both(file);
    expect(a.error).toBeUndefined();
    expect(a).toEqual(b);
  });

  it("throws the same ParseError, after the same batches, for a malformed line late in the file", async () => {
    const path = writeTrace("bad.trace", 100_000, new Map([[95_000, "95000 7 m 12 0x1g"]]));
    const { a, b } = await both(path);
    expect(a.error).toMatchObject({ name: "ParseError", line: 95_000, field: "res" });
    expect(a).toEqual(b);
  });

  it("skips and counts malformed lines alike when lenient", async () => {
    const bad = new Map([[100, "junk"], [90_000, "1 2 m 3"], [99_000, "5 5 q 1 0x1"]]);
    const path = writeTrace("lenient.trace", 100_000, bad);
    const { a, b, inWorker, here } = await both(path, true);
    expect(a.error).toBeUndefined();
    expect(a).toEqual(b);
    expect(inWorker.loss.linesSkipped).toBe(3);
    expect(inWorker.loss).toEqual(here.loss);
  });

  it("names a missing file in its error", async () => {
    const { a, b } = await both(join(dir, "missing.trace"));
    expect(a.error).toMatchObject({ message: expect.stringContaining("missing.trace") });
    expect(a).toEqual(b);
  });
});
