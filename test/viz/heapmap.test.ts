import { describe, expect, it } from "vitest";
import { formatBytes } from "../../src/report/format.js";
import {
  type ChunkRow, autoRowBytes, bytes, heapMapSVG, hex, layoutHeap, segmentsOf, visibleChunks,
} from "../../src/viz/index.js";
import { parseXml, select } from "./xml.js";
import { HEAP_BASE, MMAP_BASE, syntheticHeap } from "./synthetic.js";

const titleOf = (e: { children: { name: string; text: string }[] }) => e.children.find((c) => c.name === "title")?.text ?? "";

describe("heap map", () => {
  it("draws one rect.chunk per chunk, with its address and state", () => {
    const heap = syntheticHeap();
    const root = parseXml(heapMapSVG(heap));
    expect(root.name).toBe("svg");
    const rects = select(root, "rect", "chunk");
    expect(rects.length).toBe(heap.length);
    const byAddress = new Map(rects.map((r) => [r.attrs["data-address"], r]));
    for (const chunk of heap) {
      const rect = byAddress.get(hex(chunk.address));
      expect(rect, hex(chunk.address)).toBeDefined();
      expect(rect!.attrs["data-state"]).toBe(chunk.state);
      expect(rect!.attrs.fill).toMatch(/^#/);
    }
  });

  it("titles say address, size, requested size and the allocating trace line", () => {
    const heap = syntheticHeap();
    const rects = select(parseXml(heapMapSVG(heap)), "rect", "chunk");
    const allocated = heap.find((c) => c.state === "allocated")!;
    const rect = rects.find((r) => r.attrs["data-address"] === hex(allocated.address))!;
    const title = titleOf(rect);
    expect(title).toContain(hex(allocated.chunk));
    expect(title).toContain(hex(allocated.address));
    expect(title).toContain(`size ${allocated.size} B`);
    expect(title).toContain(`requested ${allocated.requested} B`);
    expect(title).toContain(`trace line ${allocated.line}`);
    const free = heap.find((c) => c.state !== "allocated" && c.line === null)!;
    expect(titleOf(rects.find((r) => r.attrs["data-address"] === hex(free.address))!)).not.toContain("trace line");
  });

  it("prints sizes as the text report does: 5.1 MiB, not 5.09 MiB", () => {
    for (const n of [0, 48, 1023, 4096, 134_368, 5_337_088, 2 ** 40]) expect(bytes(n)).toBe(formatBytes(n));
    const rowBytes = 1303 * 4096;
    expect(heapMapSVG(syntheticHeap(), { rowBytes })).toContain(`, 5.1 MiB per row,`);
  });

  it("escapes markup in every string it draws", () => {
    const nasty = "<script>&\"'</script>";
    const heap: ChunkRow[] = syntheticHeap(4).map((c) => ({ ...c, region: nasty }));
    const svg = heapMapSVG(heap, { title: nasty });
    expect(svg).not.toContain("<script>");
    const root = parseXml(svg);
    const caption = select(root, "text", "caption")[0];
    expect(caption.text).toBe(nasty);
    expect(titleOf(select(root, "rect", "chunk")[0])).toContain(`region ${nasty}`);
  });

  it("collapses the gaps between regions and the insides of huge chunks in compact mode", () => {
    const heap = syntheticHeap();
    const layout = layoutHeap(visibleChunks(heap), {});
    const heapEnd = HEAP_BASE + 0x21000;
    expect(layout.gaps.find((g) => g.start === heapEnd)?.bytes).toBe(MMAP_BASE - heapEnd);
    expect(layout.segments[0].start).toBe(HEAP_BASE);
    expect(layout.rows.length).toBeLessThanOrEqual(48);
    const drawn = layout.rows.reduce((n, r) => n + r.bytes, 0);
    expect(drawn).toBeLessThan(0x21000);
    const labels = select(parseXml(heapMapSVG(heap)), "text", "gap").map((t) => t.text);
    expect(labels.length).toBe(layout.gaps.length);
    expect(labels.filter((l) => l.includes("of a top chunk")).length).toBe(1);
    expect(labels.filter((l) => l.includes("of a mmapped chunk")).length).toBe(2);
    const whole = layoutHeap(visibleChunks(heap), { collapseGap: Infinity });
    expect(whole.gaps.length).toBe(0);
  });

  it("draws a single row in linear mode", () => {
    const heap = syntheticHeap();
    const layout = layoutHeap(visibleChunks(heap), { mode: "linear" });
    expect(layout.rows.length).toBe(1);
    expect(layout.rowBytes).toBe(MMAP_BASE + 0x40000 + 0x21000 - HEAP_BASE);
  });

  it("picks the smallest power-of-two row size that fits the row budget", () => {
    const segments = [{ start: 0, end: 100 * 4096 }];
    const rowBytes = autoRowBytes(segments, 4096, 48);
    expect(Math.ceil(100 * 4096 / rowBytes)).toBeLessThanOrEqual(48);
    expect(Math.ceil(100 * 4096 / (rowBytes / 2))).toBeGreaterThan(48);
    const many = Array.from({ length: 60 }, (_, i) => ({ start: i * (1 << 24), end: i * (1 << 24) + 3 * 4096 }));
    expect(autoRowBytes(many, 4096, 48)).toBe(4 * 4096);
  });

  it("keeps one rect.chunk for a chunk that wraps over several rows", () => {
    const heap = syntheticHeap();
    const svg = parseXml(heapMapSVG(heap, { rowBytes: 4096, collapseGap: 1 << 30 }));
    expect(select(svg, "rect", "chunk").length).toBe(heap.length);
    const top = heap.find((c) => c.state === "top")!;
    const pieces = select(svg, "rect", "chunk-cont").filter((r) => r.attrs["data-address"] === hex(top.address));
    const rowsCrossed = Math.ceil((top.chunk + top.size) / 4096) - Math.floor(top.chunk / 4096);
    expect(pieces.length).toBe(rowsCrossed - 1);
  });

  it("draws a page line at every page boundary inside a row", () => {
    const heap = syntheticHeap();
    const rowBytes = 16384;
    const svg = parseXml(heapMapSVG(heap, { rowBytes }));
    const path = select(svg, "path", "pages")[0];
    const lines = (path.attrs.d.match(/M/g) ?? []).length;
    const segments = segmentsOf(visibleChunks(heap), 4096, 16 * 4096);
    let expected = 0;
    for (const s of segments) {
      const pages = (s.end - s.start) / 4096;
      const rows = Math.ceil((s.end - s.start) / rowBytes);
      expected += pages - rows;
    }
    expect(lines).toBe(expected);
  });

  it("shows headers and rounding at zoom, in proportion", () => {
    const heap = syntheticHeap();
    const chosen = heap.slice(0, 6);
    const range: [number, number] = [chosen[0].chunk, chosen[5].chunk + chosen[5].size];
    const width = 960;
    const svg = parseXml(heapMapSVG(heap, { range, mode: "linear", width }));
    expect(select(svg, "rect", "chunk").length).toBe(6);
    const headers = select(svg, "rect", "header");
    expect(headers.length).toBe(6);
    const scale = (width - 112) / (range[1] - range[0]);
    for (const h of headers) expect(Number(h.attrs.width)).toBeCloseTo(16 * scale, 1);
    const roundings = select(svg, "rect", "rounding");
    const allocated = chosen.filter((c) => c.requested > 0);
    expect(roundings.length).toBe(allocated.filter((c) => c.chunk + c.size > c.address + c.requested).length);
    const widths = roundings.map((r) => Number(r.attrs.width)).sort((a, b) => a - b);
    const expected = allocated.map((c) => (c.chunk + c.size - c.address - c.requested) * scale).filter((w) => w > 0)
      .sort((a, b) => a - b);
    widths.forEach((w, i) => expect(w).toBeCloseTo(expected[i], 1));
    const far = parseXml(heapMapSVG(heap, { rowBytes: 1 << 20 }));
    expect(select(far, "rect", "header").length).toBe(0);
  });

  it("is well-formed with no chunks", () => {
    const root = parseXml(heapMapSVG([]));
    expect(select(root, "rect", "chunk").length).toBe(0);
  });
});
