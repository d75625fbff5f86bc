// The readable report and the render summary say what their numbers are.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../oracle/native.js";
import { heaplab } from "./run.js";

const example = join(repoRoot, "examples", "ls-la.trace");

describe("the report explains itself", () => {
  it("each J&W measure's meaning names the − 1, and the value is the ratio less one", () => {
    const text = heaplab(["replay", example]);
    const json = heaplab(["replay", example, "--json"]);
    expect(text.status).toBe(0);
    const report = JSON.parse(json.stdout);
    const meanings = [
      "mean over time of footprint / live − 1",
      "footprint / live − 1 at the peak of live",
      "footprint / live − 1 at the peak of footprint",
      "peak footprint / peak live − 1",
    ];
    meanings.forEach((meaning, i) => {
      const row = new RegExp(`^J&W #${i + 1} +(\\d+\\.\\d) %  ${meaning.replaceAll("/", "\\/")}$`, "m").exec(text.stdout);
      expect(row, meaning).not.toBeNull();
      expect(Number(row![1])).toBeCloseTo(report.fragmentation.johnstoneWilson[i] * 100, 1);
    });
    expect(report.fragmentation.johnstoneWilson[3]).toBeCloseTo(report.footprint.peak / report.live.peak - 1, 12);
  });

  it("a peak held over a plateau is put where memory is most used, not at the plateau's first op", () => {
    const csv = heaplab(["replay", example, "--timeline", "-", "--every", "1"]).stdout.trimEnd().split("\n").slice(1);
    const rows = csv.map((line) => line.split(","))
      .map(([op, , , , live, footprint]) => ({ op: +op, live: +live, footprint: +footprint }));
    const max = Math.max(...rows.map((r) => r.footprint));
    const atMax = rows.filter((r) => r.footprint === max);
    // the example's heap grows once, at its first op, and then fills
    expect(atMax[0].op).toBe(1);
    const most = Math.max(...atMax.map((r) => r.live));
    const expected = atMax.filter((r) => r.live === most).at(-1)!;
    expect(expected.op).toBe(620);
    const report = JSON.parse(heaplab(["replay", example, "--json"]).stdout);
    expect(report.footprint).toMatchObject({ peak: max, peakOp: 620, peakLine: 623 });
    expect(report.live).toMatchObject({ peakOp: 620 });
    expect(heaplab(["replay", example]).stdout).toMatch(/^footprint +132\.0 KiB +132\.0 KiB  op 620 \(line 623\)$/m);
  });

  it("render --view spans counts the spans it draws", () => {
    const r = heaplab(["render", example, "--model", "tcmalloc", "--view", "spans", "-o", "-"]);
    expect(r.status).toBe(0);
    const spans = r.stdout.match(/<rect[^>]* class="span"/g)?.length ?? 0;
    expect(spans).toBeGreaterThan(0);
    expect(r.stderr).toBe(`-: ${spans} spans after 692 operations\n`);
    const heap = heaplab(["render", example, "--model", "tcmalloc", "-o", "-"]);
    expect(heap.stderr).toMatch(/^-: \d+ chunks after 692 operations\n$/);
    expect(heap.stderr).not.toBe(`-: ${spans} chunks after 692 operations\n`);
  });
});
