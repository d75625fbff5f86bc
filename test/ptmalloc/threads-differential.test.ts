// Arenas against the real glibc 2.36: seeded multi-threaded traces (threads appear one by one, free each
// other's blocks, grow arenas past their first 64 MiB heap) replayed with one pthread per trace thread by the
// native oracle, and with an arena per thread by the model. Every line must match; mmapped blocks and later
// arena heaps are compared by region (the kernel places them).

import { describe, expect, it } from "vitest";
import { oracleUnavailable, runNativeText } from "../oracle/native.js";
import { firstDifference, glibcTunables, kernelPlacedByRegion, modelAddressLines, modelUnavailable } from "../differential/compare.js";

/** mulberry32: a small seeded generator, so every run replays the same traces. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Shape {
  seed: number;
  ops: number;
  threads: number;
  /** Upper bound of the biggest requests. */
  big: number;
  /** Share of ops that allocate with malloc (the rest frees, reallocs, …); 0.45 unless set. */
  mallocs?: number;
  /** Share of requests above 300 000 bytes; 0.01 unless set. */
  bigShare?: number;
}

/** A trace where thread k starts after op 20k; blocks are freed and realloc'd by any thread. */
function traceText({ seed, ops, threads, big, mallocs = 0.45, bigShare = 0.01 }: Shape): string {
  const r = random(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const size = () => {
    const x = r();
    if (x < 0.5) return int(0, 128);
    if (x < 0.8) return int(129, 1100);
    if (x < 0.95) return int(1101, 70_000);
    if (x < 1 - bigShare) return int(70_001, 300_000);
    return int(300_001, big);
  };
  const lines = ["# alloc-trace v1 pid=100 ppid=1 exe=threads"];
  const live: number[] = [];
  let next = 0x1000;
  for (let seq = 1; seq <= ops; seq++) {
    const tid = 100 + int(0, Math.min(threads - 1, Math.floor(seq / 20)));
    const x = r();
    if (x < mallocs || live.length === 0) {
      next += 0x100;
      lines.push(`${seq} ${tid} m ${size()} 0x${next.toString(16)}`);
      live.push(next);
    } else if (x < mallocs + 0.4 * (1 - mallocs) / 0.55) {
      const a = live.splice(int(0, live.length - 1), 1)[0];
      lines.push(`${seq} ${tid} f 0x${a.toString(16)}`);
    } else if (x < 0.93) {
      const i = int(0, live.length - 1);
      next += 0x100;
      lines.push(`${seq} ${tid} r 0x${live[i].toString(16)} ${int(1, 3000)} 0x${next.toString(16)}`);
      live[i] = next;
    } else if (x < 0.97) {
      next += 0x100;
      lines.push(`${seq} ${tid} c ${int(0, 16)} ${int(0, 512)} 0x${next.toString(16)}`);
      live.push(next);
    } else if (x < 0.99) {
      next += 0x100;
      lines.push(`${seq} ${tid} a ${[32, 64, 256, 4096][int(0, 3)]} ${size()} 0x${next.toString(16)}`);
      live.push(next);
    } else {
      lines.push(`${seq} ${tid} t ${[0, 4096, 131072][int(0, 2)]} 1`);
    }
  }
  return lines.join("\n") + "\n";
}

const CASES: Array<{ name: string; shape: Shape; tunables: string; arenas?: number; laterHeaps?: boolean }> = [
  { name: "4 threads", shape: { seed: 1, ops: 3000, threads: 4, big: 3 << 20 }, tunables: "" },
  {
    name: "20 threads (arenas reused past 8 × cores)", shape: { seed: 6, ops: 6000, threads: 20, big: 3 << 20 },
    tunables: "", arenas: 15,
  },
  { name: "arena_max=2", shape: { seed: 7, ops: 4000, threads: 6, big: 3 << 20 }, tunables: "arena_max=2" },
  { name: "no tcache, no fastbins", shape: { seed: 8, ops: 4000, threads: 6, big: 3 << 20 }, tunables: "tcache_count=0:mxfast=0" },
  { name: "arena_test=2", shape: { seed: 9, ops: 4000, threads: 10, big: 3 << 20 }, tunables: "arena_test=2" },
  {
    name: "mmap_max=0 (arenas grow past 64 MiB)", shape: { seed: 11, ops: 3000, threads: 3, big: 40 << 20, mallocs: 0.7, bigShare: 0.05 },
    tunables: "mmap_max=0", laterHeaps: true,
  },
  { name: "top_pad=0, trim_threshold=8192", shape: { seed: 10, ops: 4000, threads: 5, big: 3 << 20 }, tunables: "top_pad=0:trim_threshold=8192" },
];

const skip = oracleUnavailable() ?? modelUnavailable("ptmalloc");
if (skip) console.warn(`skipping ptmalloc arena differential tests: ${skip}`);

describe.skipIf(skip)("ptmalloc arenas vs glibc 2.36 on generated multi-threaded traces", () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const text = traceText(c.shape);
      const tunables = glibcTunables(c.tunables);
      const native = await runNativeText(text, { tunables, threads: "real" });
      const model = await modelAddressLines(new TextEncoder().encode(text), {
        model: "ptmalloc", tunables, threads: "arena", heapBase: native.heapBase,
      });
      const arenas = new Set(native.lines.map((l) => / (arena\d+)[+-]/.exec(l)?.[1]).filter(Boolean));
      expect(arenas.size).toBeGreaterThanOrEqual(c.arenas ?? 1);
      if (c.laterHeaps) expect(kernelPlacedByRegion(native.lines).some((l) => l.endsWith("later-heap"))).toBe(true);
      expect(firstDifference(kernelPlacedByRegion(native.lines), kernelPlacedByRegion(model))).toBeNull();
    });
  }
});
