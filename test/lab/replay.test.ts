import { describe, expect, it } from "vitest";
import { createLab } from "../../src/lab/lab.js";
import { HeapError, TraceError } from "../../src/lab/types.js";
import { addressLines } from "../../src/lab/addresses.js";
import { BATCH_OPS } from "../../src/lab/model.js";
import { OpCode, type TraceOp } from "../../src/trace/types.js";
import { sourceOf } from "../trace/helpers.js";

const enc = (text: string) => new TextEncoder().encode(text);
const header = "# alloc-trace v1 pid=7 ppid=1 exe=t\n";

describe("trace replay: what the trace says about its own addresses", () => {
  it("reports a double free with the line of the first free", async () => {
    const lab = await createLab();
    const trace = header + "1 7 m 24 0x1000\n2 7 f 0x1000\n3 7 f 0x1000\n";
    const error = await lab.replay(enc(trace)).then(() => null, (e) => e);
    expect(error).toBeInstanceOf(TraceError);
    expect((error as TraceError).line).toBe(4);
    expect((error as TraceError).firstFreeLine).toBe(3);
    expect((error as Error).message).toMatch(/double free of 0x1000 \(freed at line 3\)/);
  });

  it("skips and counts double frees when lenient", async () => {
    const lab = await createLab();
    const trace = header + "1 7 m 24 0x1000\n2 7 f 0x1000\n3 7 f 0x1000\n4 7 m 24 0x1000\n";
    const summary = await lab.replay(enc(trace), { lenient: true });
    expect(summary.doubleFreesSkipped).toBe(1);
    expect(summary.ops).toBe(4);
  });

  it("skips frees of addresses allocated before the trace began, or fails with strict", async () => {
    const trace = header + "1 7 f 0xdead0\n2 7 r 0xbeef0 10 0x2000\n3 7 m 10 0x3000\n";
    const lab = await createLab();
    const summary = await lab.replay(enc(trace));
    expect(summary.unknownFrees).toBe(1);
    expect(summary.unknownReallocs).toBe(1);
    const strict = await createLab();
    await expect(strict.replay(enc(trace), { strict: true })).rejects.toBeInstanceOf(TraceError);
  });

  it("prints no address line for a realloc of an address the trace never allocated (as the native replayer)", async () => {
    const trace = header + "1 7 m 24 0xa0\n2 7 r 0xbeef0 100 0xc0\n3 7 m 24 0xd0\n";
    const lines = await addressLines(enc(trace));
    expect(lines.map((l) => l.split(" ")[0])).toEqual(["1", "3"]);
  });

  it("keeps an object's identity through realloc and frees the block it moved to", async () => {
    // The trace's addresses are arbitrary names; only the model decides where blocks go.
    const trace = header + [
      "1 7 m 24 0xa0", "2 7 r 0xa0 5000 0xb0", "3 7 m 24 0xc0", "4 7 f 0xb0", "5 7 m 5000 0xd0",
    ].join("\n") + "\n";
    const lines = await addressLines(enc(trace));
    const where = lines.map((l) => l.split(" ")[3]);
    expect(lines.map((l) => l.split(" ")[0])).toEqual(["1", "2", "3", "5"]);
    expect(where[3]).toBe(where[1]); // the 5000-byte block comes back where realloc put it (freed through 0xb0)
    expect(where[2]).not.toBe(where[1]);
  });

  it("replays a batch larger than the model's buffer in windows, with the same results as small batches", async () => {
    const n = 3 * BATCH_OPS + 17;
    const ops: TraceOp[] = [];
    for (let k = 0; k < n; k++) {
      const live = k % 3 === 2;
      ops.push(live
        ? { seq: k, tid: 7, code: OpCode.free, ptr: 0x1000 + 16 * (k - 1), a: 0, b: 0, res: 0, line: k + 1 }
        : { seq: k, tid: 7, code: OpCode.malloc, ptr: 0, a: 8 + (k % 200), b: 0, res: 0x1000 + 16 * k, line: k + 1 });
    }
    const results = async (batchSize: number) => {
      const lab = await createLab();
      const seen: number[] = [];
      const windows: [number, number][] = [];
      await lab.replay(sourceOf(ops, { pid: 7 }, batchSize), {
        observe: (batch, from, to, r) => {
          windows.push([from, to]);
          for (let i = from; i < to; i++) seen.push(batch.seq[i], r[(i - from) * 2]);
        },
      });
      return { seen, windows, stats: lab.stats() };
    };
    const whole = await results(n);
    const small = await results(100);
    expect(whole.seen).toEqual(small.seen);
    expect(whole.stats).toEqual(small.stats);
    expect(whole.windows).toEqual([[0, BATCH_OPS], [BATCH_OPS, 2 * BATCH_OPS], [2 * BATCH_OPS, 3 * BATCH_OPS], [3 * BATCH_OPS, n]]);
  });
});

describe("labs without replay metrics", () => {
  it("replay to the same addresses and statistics, and refuse a report", async () => {
    const example = new URL("../../examples/ls-la.trace", import.meta.url).pathname;
    const plain = await addressLines(example, { metrics: false });
    expect(plain).toEqual(await addressLines(example, { metrics: true }));
    const [off, on] = [await createLab({ metrics: false }), await createLab()];
    await off.replay(example);
    await on.replay(example);
    expect(off.stats()).toEqual(on.stats());
    const { ModelMetrics } = await import("../../src/report/metrics.js");
    expect(() => new ModelMetrics(off.handle)).toThrow(/metrics: false/);
    expect(new ModelMetrics(on.handle).read().maxLive).toBeGreaterThan(0);
  });
});

describe("interactive calls", () => {
  it("throws glibc's message on a double free and changes nothing", async () => {
    const lab = await createLab();
    const a = lab.malloc(24);
    lab.free(a);
    const before = JSON.stringify(lab.chunks());
    expect(() => lab.free(a)).toThrow(HeapError);
    expect(() => lab.free(a)).toThrow("free(): double free detected in tcache 2");
    expect(JSON.stringify(lab.chunks())).toBe(before);
    expect(lab.malloc(24)).toBe(a);
  });

  it("rejects a pointer that was never allocated (fresh memory in the top chunk reads as size 0)", async () => {
    const lab = await createLab();
    const a = lab.malloc(100);
    expect(() => lab.free(a + 0x1000)).toThrow("free(): invalid pointer");
    expect(() => lab.free(a + 0x1008)).toThrow("free(): invalid pointer");
    lab.free(a);
    expect(lab.malloc(100)).toBe(a);
  });
});
