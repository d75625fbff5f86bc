// What the pictures promise beyond drawing: every scrubber frame at one heap-map scale, enough stops, the report's
// numbers in the HTML page as the text has them, a legend without parts that are zero all along, size classes
// coloured by size band, and `render --view spans` counting spans.

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type TimelineRow, heapMapSVG, packFrames, scrubberFrames, sizeBand, sizeClassColor, spansSVG,
  timelineSVG, unpackFrame,
} from "../../src/viz/index.js";
import { formatBytes, formatPercent } from "../../src/report/format.js";
import { repoRoot } from "../oracle/native.js";
import { heaplab } from "../cli/run.js";
import { HEAP_BASE, syntheticHeap, syntheticSpans, syntheticTimeline } from "./synthetic.js";
import { parseXml, select } from "./xml.js";

const example = join(repoRoot, "examples", "ls-la.trace");
const dir = mkdtempSync(join(tmpdir(), "heaplab-pictures-"));

/** The bytes per row a heap-map SVG is drawn at. */
const rowBytesOf = (svg: string): number => Number(select(parseXml(svg), "g", "map")[0].attrs["data-row-bytes"]);

describe("scrubber frames", () => {
  it("share one heap-map scale, though each heap alone would be drawn at its own", () => {
    const small = syntheticHeap(8).filter((c) => c.region === "heap" && c.state !== "top");
    // A megabyte of chunks end to end: more than 48 rows of a page each.
    const big = Array.from({ length: 256 }, (_, i) => ({ ...small[0], chunk: HEAP_BASE + i * 4096, address: HEAP_BASE + i * 4096 + 16, size: 4096 }));
    expect(rowBytesOf(heapMapSVG(small))).not.toBe(rowBytesOf(heapMapSVG(big)));
    const frames = scrubberFrames({ snapshots: [small, big, small].map((chunks, i) => ({ op: i * 100, chunks })) });
    const packed = packFrames(frames);
    const scales = frames.map((_, i) => rowBytesOf(unpackFrame(packed, i)));
    expect(new Set(scales).size).toBe(1);
    expect(scales[0]).toBe(Math.max(rowBytesOf(heapMapSVG(small)), rowBytesOf(heapMapSVG(big))));
  });

  it("render --html keeps at least 40 stops by default", () => {
    const out = join(dir, "r.html");
    const r = heaplab(["render", example, "--html", "-o", out]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    const stops = Number(/^.*r\.html: 692 operations, (\d+) snapshots\n$/.exec(r.stdout)?.[1]);
    expect(stops).toBeGreaterThanOrEqual(40);
    const html = readFileSync(out, "utf8");
    const { frames } = JSON.parse(/<script type="application\/json" id="heaplab-frames">(.*?)<\/script>/s.exec(html)![1]);
    expect(frames).toHaveLength(stops);
  });
});

describe("the report's numbers in the HTML page", () => {
  it("render --html shows the memory, fragmentation and system-call tables with replay --json's numbers", () => {
    const out = join(dir, "numbers.html");
    expect(heaplab(["render", example, "--html", "-o", out]).status).toBe(0);
    const json = JSON.parse(heaplab(["replay", example, "--json"]).stdout);
    const html = readFileSync(out, "utf8");
    const table = (id: string): string[][] => {
      const body = new RegExp(`<table class="report" data-table="${id}">(.*?)</table>`, "s").exec(html)![1];
      return [...body.matchAll(/<tr>(.*?)<\/tr>/gs)].map((row) =>
        [...row[1].matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/gs)].map((c) => c[1].replace(/&amp;/g, "&")));
    };
    const memory = table("memory");
    expect(memory[1].slice(0, 3)).toEqual(["live (requested)", formatBytes(json.live.peak), formatBytes(json.live.final)]);
    expect(memory[2].slice(0, 3)).toEqual(["footprint", formatBytes(json.footprint.peak), formatBytes(json.footprint.final)]);
    expect(memory[2][3]).toContain(`op ${json.footprint.peakOp}`);
    const fragmentation = table("fragmentation");
    json.fragmentation.johnstoneWilson.forEach((f: number, i: number) => {
      expect(fragmentation[i + 1].slice(0, 2)).toEqual([`J&W #${i + 1}`, formatPercent(f)]);
    });
    expect(table("syscalls").find((r) => r[0] === "brk")![1]).toBe(String(json.syscalls.brk));
  });
});

describe("legends and colours", () => {
  it("the timeline's legend leaves out a part that is zero all along", () => {
    const rows: TimelineRow[] = syntheticTimeline().map((r) => ({ ...r, parts: { ...r.parts, fastbins: 0 } }));
    const labels = select(parseXml(timelineSVG(rows)), "g", "legend")[0];
    const text = JSON.stringify(labels);
    expect(text).not.toContain("fastbins");
    expect(text).toContain("overhead");
  });

  it("size classes of one size band share a hue; bands differ", () => {
    const hue = (c: string): number => Number(/^hsl\((\d+),/.exec(c)![1]);
    expect(hue(sizeClassColor(3, 48))).toBe(hue(sizeClassColor(4, 64)));
    expect(sizeClassColor(3, 48)).not.toBe(sizeClassColor(4, 64));
    const bands = [8, 48, 200, 900, 3000, 10000, 50000, 200000, 1e6].map((size, i) => hue(sizeClassColor(i + 1, size)));
    expect(new Set(bands).size).toBe(9);
    expect([8, 16, 17, 64, 65, 262144, 262145].map(sizeBand)).toEqual([0, 0, 1, 1, 2, 7, 8]);
  });

  it("the spans legend names the size bands drawn", () => {
    const spans = syntheticSpans();
    const sizes = Array.from({ length: 90 }, (_, c) => c * 16);
    const legend = select(parseXml(spansSVG(spans, { classSizes: sizes })), "g", "legend")[0];
    expect(JSON.stringify(legend)).toMatch(/≤ \d/);
    expect(JSON.stringify(legend)).not.toMatch(/class \d/);
  });

  it("render --view spans says how many spans it drew", () => {
    const out = join(dir, "spans.svg");
    const r = heaplab(["render", example, "--model", "tcmalloc", "--view", "spans", "-o", out]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    const drawn = select(parseXml(readFileSync(out, "utf8")), "rect", "span").length;
    expect(drawn).toBeGreaterThan(0);
    expect(r.stdout).toBe(`${out}: ${drawn} spans after 692 operations\n`);
  });
});
