// The page heap's slow machinery against the real library: release to the OS paced by Delete volume (after
// the 2^18-page start-up delay), returned spans reused and merged, the forced coalescing when the heap grows
// past a 128 MiB boundary, aggressive decommit, and the heap limit. HEAPLAB_LONG=1 runs longer campaigns.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { tcmallocUnavailable } from "../oracle/native.js";
import { modelUnavailable } from "../differential/compare.js";
import { traces } from "./gen.js";
import { firstDifference, runModel, runReal, statDifferences, traceFile } from "./real.js";

const skip = tcmallocUnavailable() ?? modelUnavailable("tcmalloc");
const LONG = process.env.HEAPLAB_LONG === "1";
const seed = process.env.HEAPLAB_SEED ? Number(process.env.HEAPLAB_SEED) : Date.now() % 2 ** 31;
const PID = 777;

/** A trace that churns 1 MiB blocks long enough to start releasing, then fragments and grows the heap. */
function churnTrace(rounds: number): string {
  const lines = [`# alloc-trace v1 pid=${PID} ppid=1 exe=churn`];
  let seq = 0;
  let key = 0x10000;
  const op = (text: string) => lines.push(`${++seq} ${PID} ${text}`);
  for (let i = 0; i < rounds; i++) {
    const a = `0x${(key += 16).toString(16)}`;
    op(`m ${1 << 20} ${a}`);
    if (i % 7 === 3) op(`m ${3000 + i} 0x${(key += 16).toString(16)}`);
    op(`f ${a}`);
  }
  const kept: string[] = [];
  for (let i = 0; i < 40; i++) {
    const a = `0x${(key += 16).toString(16)}`;
    op(`m ${(i % 5 + 1) * 1_200_000} ${a}`);
    kept.push(a);
  }
  for (let i = 0; i < kept.length; i += 2) op(`f ${kept[i]}`);
  for (let i = 0; i < 30; i++) op(`m ${(i % 3 + 2) * 2_500_000} 0x${(key += 16).toString(16)}`);
  for (let i = 0; i < 200; i++) op(`m ${(i * 37) % 70_000} 0x${(key += 16).toString(16)}`);
  return `${lines.join("\n")}\n`;
}

/** A trace whose heap spans more than 2 GiB, so it passes the end of a pagemap leaf and a second leaf is made. */
function farTrace(): string {
  const lines = [`# alloc-trace v1 pid=${PID} ppid=1 exe=far`];
  let seq = 0;
  let key = 0x10000;
  const op = (text: string) => lines.push(`${++seq} ${PID} ${text}`);
  const big: string[] = [];
  for (let i = 0; i < 40; i++) {
    const a = `0x${(key += 16).toString(16)}`;
    big.push(a);
    op(`m ${60 << 20} ${a}`);
    for (let j = 0; j < 20; j++) op(`m ${(j * 97) % 3000} 0x${(key += 16).toString(16)}`);
  }
  for (let i = 0; i < big.length; i += 3) op(`f ${big[i]}`);
  for (let i = 0; i < 20; i++) op(`m ${(i + 1) * 3_000_000} 0x${(key += 16).toString(16)}`);
  return `${lines.join("\n")}\n`;
}

async function compare(path: string, env: Record<string, string>, options: Record<string, number>) {
  const real = await runReal(path, env);
  const model = await runModel(path, real.heapBase, options);
  return { real, model, lines: firstDifference(real.lines, model.lines), stats: statDifferences(real.stats, model.stats) };
}

describe.skipIf(skip)("TCMalloc page heap against the real library", () => {
  const churn = churnTrace(2300);
  for (const rate of [1, 10, 0]) {
    it(`releases memory like the library with TCMALLOC_RELEASE_RATE=${rate}`, async () => {
      const r = await compare(traceFile(churn), { TCMALLOC_RELEASE_RATE: String(rate) }, { TCMALLOC_RELEASE_RATE: rate });
      expect(r.lines).toBeNull();
      expect(r.stats).toEqual([]);
      if (rate > 0) expect(r.real.stats["tcmalloc.pageheap_scavenge_count"]).toBeGreaterThan(0);
      else expect(r.real.stats["tcmalloc.pageheap_scavenge_count"]).toBe(0);
    }, 60_000);
  }

  it("grows past the first pagemap leaf", async () => {
    const r = await compare(traceFile(farTrace()), {}, {});
    expect(r.lines).toBeNull();
    expect(r.stats).toEqual([]);
    expect(r.real.stats["generic.heap_size"]).toBeGreaterThan(2 ** 31);
  }, 60_000);

  it("decommits every free span with TCMALLOC_AGGRESSIVE_DECOMMIT", async () => {
    const r = await compare(traceFile(churnTrace(300)), { TCMALLOC_AGGRESSIVE_DECOMMIT: "true" }, { TCMALLOC_AGGRESSIVE_DECOMMIT: 1 });
    expect(r.lines).toBeNull();
    expect(r.stats).toEqual([]);
    expect(r.real.stats["tcmalloc.pageheap_decommit_count"]).toBeGreaterThan(0);
  }, 60_000);

  for (const [name, env, options] of [
    ["aggressive decommit", { TCMALLOC_AGGRESSIVE_DECOMMIT: "1" }, { TCMALLOC_AGGRESSIVE_DECOMMIT: 1 }],
    ["a 12 MiB heap limit", { TCMALLOC_HEAP_LIMIT_MB: "12" }, { TCMALLOC_HEAP_LIMIT_MB: 12 }],
  ] as const) {
    it(`matches on generated traces with ${name} (seed ${seed})`, async () => {
      const departure = async (text: string) => {
        const r = await compare(traceFile(text), env, options);
        return r.lines ?? (r.stats.length ? r.stats.join("; ") : null);
      };
      const result = await fc.check(
        fc.asyncProperty(traces(1, LONG ? 600 : 150), async (t) => (await departure(t)) === null),
        { numRuns: LONG ? 200 : 10, seed },
      );
      if (result.failed) {
        const shrunk = (result.counterexample?.[0] as string | undefined) ?? "";
        expect.fail(`seed ${seed}: ${await departure(shrunk)}\n${shrunk}`);
      }
    }, LONG ? 3_600_000 : 120_000);
  }
});
