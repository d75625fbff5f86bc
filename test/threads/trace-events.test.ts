// Thread lifecycle lines in traces: read, kept through the binary format, and replayed as thread exits: glibc's
// exiting thread hands its tcache back to its arena and puts the arena on the free list, where the next new thread
// finds it (checked against the real glibc on real threads); TCMalloc's gives its cache back; the other models
// accept the exit.

import { describe, expect, it } from "vitest";
import { openTrace } from "../../src/trace/detect.js";
import { encodeToBytes } from "../../src/trace/write.js";
import { threadEventLine, threadEventOf, threadExitsOf } from "../../src/trace/threads.js";
import { addressLines } from "../../src/lab/addresses.js";
import { createLab } from "../../src/lab/lab.js";
import { MODELS } from "../../src/models/index.js";
import { oracleUnavailable, runNativeText } from "../oracle/native.js";

const enc = (text: string) => new TextEncoder().encode(text);
const dec = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/**
 * Thread 8 caches two blocks in its tcache and exits; thread 9, started after, allocates: with the exit, it takes
 * thread 8's arena off the free list and gets a block thread 8 had (its chunks went to the fastbin); without it, a
 * new arena.
 */
const POOL = [
  "# alloc-trace v1 pid=7 ppid=1 exe=t",
  "1 7 m 100 0x1000",
  "# thread-start 8 parent=7 seq=1",
  "2 8 m 24 0x2000",
  "3 8 m 24 0x2100",
  "4 8 m 200 0x2200",
  "5 8 f 0x2000",
  "6 8 f 0x2100",
  "7 8 f 0x2200",
  "# thread-exit 8 seq=7",
  "# thread-start 9 parent=7 seq=7",
  "8 9 m 24 0x3000",
  "9 9 m 24 0x3100",
  "10 9 m 200 0x3200",
  "11 7 f 0x1000",
  "# thread-exit 9 seq=11",
  "",
].join("\n");

const withoutExits = (text: string) => text.replace(/^# thread-exit .*\n/gm, "");

describe("thread lifecycle lines", () => {
  it("are read as events and written back as they were", () => {
    const start = threadEventOf("# thread-start 12 parent=7 seq=30");
    expect(start).toEqual({ kind: "start", tid: 12, parent: 7, seq: 30 });
    expect(threadEventOf("# thread-exit 12 seq=44")).toEqual({ kind: "exit", tid: 12, seq: 44 });
    expect(threadEventLine(start!)).toBe("# thread-start 12 parent=7 seq=30");
    for (const other of ["# exit seq=4", "# thread-exit x seq=1", "# thread-exit 3", "# thread-start 3 seq=1", "1 7 m 1 0x0"]) {
      expect(threadEventOf(other)).toBeNull();
    }
  });

  it("stand before the op that follows them in a batch, and survive alloc-trace → binary → alloc-trace", async () => {
    const source = await openTrace(enc(POOL));
    const exits = [];
    for await (const batch of source.batches()) exits.push(...threadExitsOf(batch));
    expect(exits).toEqual([{ before: 7, tid: 8, seq: 7 }, { before: 11, tid: 9, seq: 11 }]);
    const binary = await encodeToBytes(await openTrace(enc(POOL)), "binary");
    const back = await encodeToBytes(await openTrace(binary), "alloc-trace");
    expect(dec(back)).toBe(POOL);
  });

  it("on ptmalloc: the next thread reuses the exited thread's arena and the chunks its tcache gave back", async () => {
    const lines = await addressLines(enc(POOL), { model: "ptmalloc" });
    const where = new Map(lines.map((l) => [l.split(" ")[0], l.split(" ")[3]]));
    expect(where.get("2")).toMatch(/^arena1\+/);
    expect(where.get("8")).toBe(where.get("2")); // the fastbin's head: thread 8's first block, freed last
    const kept = await addressLines(enc(withoutExits(POOL)), { model: "ptmalloc" });
    expect(kept.find((l) => l.startsWith("8 "))).toMatch(/ arena2\+/);
  });

  it.skipIf(oracleUnavailable())("on ptmalloc: every line as on the real glibc, whose threads end at their exit lines", async () => {
    for (const text of [POOL, withoutExits(POOL)]) {
      const native = await runNativeText(text, { threads: "real" });
      expect(await addressLines(enc(text), { model: "ptmalloc" })).toEqual(native.lines);
    }
  });

  it("are not replayed when every thread is merged onto the main one", async () => {
    const merged = await addressLines(enc(POOL), { model: "ptmalloc", threads: "merge" });
    expect(merged).toEqual(await addressLines(enc(withoutExits(POOL)), { model: "ptmalloc", threads: "merge" }));
  });

  it("are counted, and a replay stopped before an exit does not run it", async () => {
    const whole = await (await createLab({ model: "ptmalloc" })).replay(enc(POOL));
    expect(whole.threadExits).toBe(2);
    expect(whole.threads).toBe(3);
    const stopped = await (await createLab({ model: "ptmalloc" })).replay(enc(POOL), { until: 7 });
    expect(stopped.threadExits).toBe(0);
    const past = await (await createLab({ model: "ptmalloc" })).replay(enc(POOL), { until: 8 });
    expect(past.threadExits).toBe(1);
    const merged = await (await createLab({ model: "ptmalloc" })).replay(enc(POOL), { threads: "merge" });
    expect(merged.threadExits).toBe(0);
  });

  it("are accepted by every model", async () => {
    for (const model of Object.keys(MODELS) as (keyof typeof MODELS)[]) {
      const lines = await addressLines(enc(POOL), { model });
      expect(lines.length, model).toBe(7);
    }
  });
});
