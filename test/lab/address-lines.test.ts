// The address lines the model's instance writes (assembly/common/address-lines.ts, with the lines it leaves to JS)
// against a plain reference written here from the same replay's results, on random traces whose sizes, sequence
// numbers, threads and regions reach every kind of line: heap, mmap, arena, null, trim, sizes beyond 2^32 and 2^53,
// calloc products beyond 2^64.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createLab } from "../../src/lab/lab.js";
import { AddressFormatter } from "../../src/lab/addresses.js";
import { type Model, REGION_ARENA, REGION_HEAP, REGION_MMAP, REGION_SKIPPED, RESULT_SLOTS } from "../../src/lab/model.js";
import { LETTER_OF_CODE, OpCode, type TraceBatch, sizeAt } from "../../src/trace/types.js";

const offset = (delta: number): string => (delta < 0 ? `-0x${(-delta).toString(16)}` : `+0x${delta.toString(16)}`);
const digits = (v: number | bigint): string => BigInt(v).toString();

/** A reference formatter: the line format of src/lab/addresses.ts, written the plain way. */
function reference(model: Model): (batch: TraceBatch, from: number, to: number, results: Float64Array) => string[] {
  let firstMmap: number | undefined;
  const arenas = new Map<number, number>();
  return (batch, from, to, results) => {
    const lines: string[] = [];
    for (let i = from; i < to; i++) {
      const code = batch.code[i];
      const [address, region] = [results[(i - from) * RESULT_SLOTS], results[(i - from) * RESULT_SLOTS + 1]];
      if (code === OpCode.free || region === REGION_SKIPPED) continue;
      const head = `${digits(batch.seq[i])} ${LETTER_OF_CODE[code]}`;
      if (code === OpCode.trim) {
        lines.push(`${head} ${digits(sizeAt(batch, i, "a"))} ${address}`);
        continue;
      }
      const size = code === OpCode.calloc ? BigInt(sizeAt(batch, i, "a")) * BigInt(sizeAt(batch, i, "b"))
        : code === OpCode.alignedAlloc ? sizeAt(batch, i, "b") : sizeAt(batch, i, "a");
      let where: string;
      if (address === 0) where = "null";
      else if (region === REGION_HEAP) where = `heap${offset(address - model.wasm.heapBase())}`;
      else if (region === REGION_MMAP) where = `mmap${offset(address - (firstMmap ??= address))}`;
      else if (region >= REGION_ARENA) {
        const k = region - REGION_ARENA;
        if (!arenas.has(k)) arenas.set(k, arenas.size + 1);
        where = `arena${arenas.get(k)}${offset(address - model.wasm.arenaBase(k))}`;
      } else where = `region${region}+0x${address.toString(16)}`;
      lines.push(`${head} ${digits(size)} ${where}`);
    }
    return lines;
  };
}

const size = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 5000 }).map(BigInt) },
  { weight: 2, arbitrary: fc.integer({ min: 100_000, max: 3_000_000 }).map(BigInt) },
  { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 32n - 2n, max: 2n ** 32n + 2n }) },
  { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 53n - 2n, max: 2n ** 53n + 2n }) },
  { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 63n, max: 2n ** 64n - 1n }) },
);
const step = fc.record({
  kind: fc.constantFrom("m", "m", "m", "c", "A", "r", "f", "f", "t"),
  thread: fc.constantFrom(100, 100, 101, 102),
  a: size,
  b: size,
  pick: fc.nat(),
});

type Step = { kind: string; thread: number; a: bigint; b: bigint; pick: number };

/** An alloc-trace of `steps`: frees and reallocs name live blocks; the first sequence number is `first`. */
function traceText(steps: Step[], first: bigint): string {
  const lines = ["# alloc-trace v1 pid=100 ppid=1 exe=gen"];
  const live: string[] = [];
  let next = 0x5555_0000_0010;
  const fresh = (): string => `0x${(next += 0x40).toString(16)}`;
  let seq = first;
  for (const s of steps) {
    const at = `${seq++} ${s.thread}`;
    if ((s.kind === "f" || s.kind === "r") && live.length) {
      const [ptr] = live.splice(s.pick % live.length, 1);
      if (s.kind === "f") lines.push(`${at} f ${ptr}`);
      else {
        const res = fresh();
        live.push(res);
        lines.push(`${at} r ${ptr} ${s.a} ${res}`);
      }
    } else if (s.kind === "t") {
      lines.push(`${at} t ${s.a} 1`);
    } else {
      const res = fresh();
      live.push(res);
      if (s.kind === "c") lines.push(`${at} c ${s.a} ${s.b} ${res}`);
      else if (s.kind === "A") lines.push(`${at} A ${1n << BigInt(4 + s.pick % 10)} ${s.b} ${res}`);
      else lines.push(`${at} m ${s.a} ${res}`);
    }
  }
  return lines.join("\n") + "\n";
}

describe("address lines written in wasm", () => {
  it("are the reference's lines on random traces of every line kind, across windows and threads", async () => {
    const kinds = new Set<string>();
    const first = fc.constantFrom(1n, 2n ** 32n - 3n, 2n ** 53n - 7000n); // sequence numbers stop at 2^53
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6000, size: "max" }), first, async (steps, seq) => {
      const lab = await createLab({ model: "ptmalloc", metrics: false });
      const formatter = new AddressFormatter(lab.handle);
      const expected = reference(lab.handle);
      const got: string[] = [];
      const want: string[] = [];
      const bytes = new TextEncoder().encode(traceText(steps, seq));
      await lab.replay(bytes, {
        threads: "arena",
        observe: (batch, from, to, results) => {
          got.push(...formatter.lines(batch, from, to, results));
          want.push(...expected(batch, from, to, results));
        },
      });
      expect(got).toEqual(want);
      for (const line of want) kinds.add(line.split(" ")[3].replace(/\d*[+-]0x.*/, "") + (line.split(" ")[2].length > 16 ? " wide" : ""));
    }), { numRuns: 20 });
    // the runs met every kind of line, and sizes JS writes
    expect([...kinds].sort()).toEqual(expect.arrayContaining(["arena", "heap", "mmap", "null", "null wide"]));
  });
});
