// The timeline's peaks are where the report puts them (the end of a plateau, the most live bytes among equal
// footprints), its axis ticks are round 1-2-5 numbers in the unit of their labels, and its peak labels stay apart
// and inside the plot.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { replayReport } from "../../src/report/report.js";
import { MODEL_NAMES } from "../../src/models/index.js";
import {
  type TimelineRow, byteStep, footprintPeak, livePeak, opTicks, peakLabels, timelineSVG, timelineScale,
} from "../../src/viz/index.js";
import { repoRoot } from "../oracle/native.js";
import { parseXml, select } from "./xml.js";

/** A trace whose footprint stays level while live bytes fall and climb back to their peak twice. */
function plateauTrace(): Uint8Array {
  const lines = ["# alloc-trace v1 pid=7 ppid=1 exe=t"];
  let seq = 0;
  const m = (size: number, at: number) => lines.push(`${++seq} 7 m ${size} 0x${at.toString(16)}`);
  const f = (at: number) => lines.push(`${++seq} 7 f 0x${at.toString(16)}`);
  for (let i = 0; i < 8; i++) m(1000, 0x10000 + i * 0x1000);
  for (let round = 0; round < 3; round++) {
    f(0x10000);
    f(0x11000);
    m(1000, 0x10000);
    m(1000, 0x11000);
  }
  return new TextEncoder().encode(lines.join("\n") + "\n");
}

describe("the timeline's peaks are the report's", () => {
  for (const model of MODEL_NAMES) {
    it(`${model}: on a plateau and on the bundled example`, async () => {
      for (const trace of [plateauTrace(), readFileSync(join(repoRoot, "examples", "ls-la.trace"))]) {
        const report = await replayReport(trace, { model, timeline: true, every: 0 });
        const rows = report.timeline!;
        expect(footprintPeak(rows).op).toBe(report.footprint.peakOp);
        expect(livePeak(rows).op).toBe(report.live.peakOp);
        const root = parseXml(timelineSVG(rows));
        const drawn = Object.fromEntries(select(root, "g", "peak").map((g) => [g.attrs["data-peak"], Number(g.attrs["data-op"])]));
        expect(drawn).toEqual({ footprint: report.footprint.peakOp, live: report.live.peakOp });
      }
    });
  }

  it("a live plateau's peak is at its end, not its first operation", async () => {
    const report = await replayReport(plateauTrace(), { model: "ptmalloc", timeline: true, every: 0 });
    // 8 mallocs, then three rounds of two frees and two mallocs: the last return to the peak is the last op.
    expect(report.live.peakOp).toBe(20);
    expect(livePeak(report.timeline!).op).toBe(20);
  });
});

/** Whether `n` is 1, 2 or 5 times a power of ten. */
const isRound = (n: number): boolean => {
  const power = 10 ** Math.floor(Math.log10(n));
  return [1, 2, 5].some((m) => Math.abs(n / power - m) < 1e-9);
};

describe("axis ticks", () => {
  it("byte steps are 1-2-5 multiples of B, KiB, MiB or GiB", () => {
    for (const max of [7, 100, 999, 1500, 47_000, 135_168, 1 << 20, 5.3e6, 33_554_432, 7e9]) {
      const step = byteStep(max, 5);
      const unit = 1024 ** Math.floor(Math.log(step) / Math.log(1024) + 1e-9);
      expect(isRound(step / unit), `${max}: ${step}`).toBe(true);
      expect(max / step).toBeGreaterThan(1.5);
      expect(max / step).toBeLessThanOrEqual(10.5);
    }
  });

  it("operation ticks are multiples of a 1-2-5 step", () => {
    for (const [first, last] of [[0, 692], [1, 3999], [0, 103_083], [500, 520]]) {
      const ticks = opTicks(first, last, 5);
      expect(ticks.length).toBeGreaterThanOrEqual(2);
      const step = ticks[1] - ticks[0];
      expect(isRound(step)).toBe(true);
      for (const t of ticks) expect(t % step).toBe(0);
    }
  });

  it("the drawn labels read as round numbers", () => {
    const rows: TimelineRow[] = Array.from({ length: 101 }, (_, i) => ({ op: i * 37, live: i * 900, footprint: i * 1337 + 5000, parts: {} }));
    const root = parseXml(timelineSVG(rows));
    const ticks = select(root, "text", "tick");
    const y = ticks.filter((t) => t.attrs["data-axis"] === "y").map((t) => t.text);
    expect(y.length).toBeGreaterThanOrEqual(3);
    for (const label of y) expect(label).toMatch(/^(0 B|\d+(\.0)? (B|KiB|MiB)|[\d.]+ KiB)$/);
    const steps = y.slice(1).map((l) => parseFloat(l));
    expect(steps.every((v, i) => i === 0 || Math.abs(v - steps[i - 1] - (steps[1] - steps[0])) < 1e-9)).toBe(true);
    for (const t of ticks.filter((t) => t.attrs["data-axis"] === "x")) expect(Number(t.text) % 500).toBe(0);
  });
});

describe("peak labels", () => {
  const rows = (live: (op: number) => number, footprint: (op: number) => number): TimelineRow[] =>
    Array.from({ length: 200 }, (_, op) => ({ op, live: live(op), footprint: footprint(op), parts: {} }));
  const cases: [string, TimelineRow[]][] = [
    ["live nearly the footprint", rows((op) => op * 1000, (op) => op * 1000 + 10)],
    ["little live memory", rows((op) => (op === 50 ? 100 : 10), (op) => 1e6 + op)],
    ["both at the right edge", rows((op) => op * 10, (op) => op * 11)],
    ["apart", rows((op) => (op < 50 ? op * 100 : 0), (op) => op * 1000)],
  ];
  for (const [name, timeline] of cases) {
    it(`${name}: the two labels do not overlap and stay in the plot`, () => {
      const scale = timelineScale(timeline);
      const [top, below] = peakLabels(footprintPeak(timeline), livePeak(timeline), scale);
      const apartX = top.to <= below.from || below.to <= top.from;
      expect(apartX || Math.abs(top.y - below.y) >= 14).toBe(true);
      for (const label of [top, below]) {
        expect(label.y).toBeGreaterThanOrEqual(scale.top);
        expect(label.y).toBeLessThanOrEqual(scale.top + scale.plotHeight);
      }
    });
  }
});
