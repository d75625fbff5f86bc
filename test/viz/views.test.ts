import { describe, expect, it } from "vitest";
import {
  JUPYTER_DISPLAY, type PackedFrames, type TimelineRow, scrubberFrames, unpackFrame, binsSVG, chunkChanges, displayable, freeListsFromChunks, heapDiffSVG, hex,
  peakOf, reportHTML, scriptJSON, sideBySideSVG, sizeClassColor, spansSVG, thin, timelineDiffSVG, timelineSVG, view,
} from "../../src/viz/index.js";
import { parseXml, select } from "./xml.js";
import { HEAP_BASE, syntheticHeap, syntheticSpans, syntheticTimeline } from "./synthetic.js";

describe("xml checker", () => {
  it("rejects what is not well-formed", () => {
    for (const bad of ["<a><b></a>", "<a x=1/>", "<a>&foo;</a>", "<a>1 < 2</a>", "<a/><b/>", "<a", "<a x=\"1\" x=\"2\"/>"]) {
      expect(() => parseXml(bad), bad).toThrow();
    }
    expect(parseXml("<a x='&lt;'><b>t&amp;t</b></a>").children[0].text).toBe("t&t");
  });
});

describe("bins view", () => {
  it("lists every free chunk once, grouped by state and bin, in search order", () => {
    const heap = syntheticHeap(60);
    const lists = freeListsFromChunks(heap);
    const free = heap.filter((c) => !["allocated", "mmapped", "top"].includes(c.state));
    expect(lists.reduce((n, l) => n + l.members.length, 0)).toBe(free.length);
    for (const list of lists) {
      for (const address of list.members) {
        const chunk = heap.find((c) => c.address === address)!;
        expect(chunk.state).toBe(list.kind);
        expect(chunk.bin).toBe(list.index);
      }
    }
    const kinds = lists.map((l) => l.kind);
    expect(kinds.indexOf("tcache")).toBeLessThan(kinds.indexOf("largebin"));
    const root = parseXml(binsSVG(lists, { chunks: heap }));
    const boxes = select(root, "rect", "member");
    expect(boxes.length).toBe(free.length);
    expect(select(root, "g", "list").length).toBe(lists.length);
    const first = boxes[0];
    expect(first.children[0].text).toContain(first.attrs["data-address"]);
  });

  it("shows a count for members that do not fit a row", () => {
    const members = Array.from({ length: 500 }, (_, i) => 0x1000 + i * 32);
    const root = parseXml(binsSVG([{ kind: "tcache", index: 0, size: 32, members }], { width: 600 }));
    const shown = select(root, "rect", "member").length;
    expect(shown).toBeLessThan(500);
    expect(select(root, "text", "more")[0].text).toBe(`+${500 - shown}`);
  });

  it("labels thread-cache lists with their thread", () => {
    const root = parseXml(binsSVG([
      { kind: "threadcache", index: 3, size: 48, members: [0x10, 0x40], thread: 2 },
      { kind: "central", index: 3, size: 48, members: [0x70] },
    ]));
    const sections = select(root, "text", "section").map((t) => t.text);
    expect(sections).toEqual(["threadcache", "central"]);
    expect(select(root, "g", "list")[0].children[0].text).toContain("t2 threadcache[3]");
  });
});

describe("spans view", () => {
  it("draws one rect.span per span, coloured by size class", () => {
    const spans = syntheticSpans();
    const root = parseXml(spansSVG(spans));
    const rects = select(root, "rect", "span");
    expect(rects.length).toBe(spans.length);
    const fillOf = (start: number) => rects.find((r) => r.attrs["data-start"] === hex(start))!.attrs.fill;
    const class2 = spans.filter((s) => s.sizeClass === 2);
    expect(fillOf(class2[0].start)).toBe(fillOf(class2[1].start));
    expect(fillOf(class2[0].start)).toBe(sizeClassColor(2));
    expect(fillOf(spans[1].start)).not.toBe(fillOf(spans[0].start));
    const occupancy = select(root, "rect", "occupancy");
    expect(new Set(occupancy.map((r) => r.attrs["data-start"])).size).toBe(spans.filter((s) => s.allocated > 0).length);
  });
});

describe("timeline", () => {
  it("stacks one area per part and marks both peaks where they are", () => {
    const rows = syntheticTimeline();
    const root = parseXml(timelineSVG(rows));
    expect(select(root, "path", "area").map((p) => p.attrs["data-part"])).toEqual(["live", "overhead", "free"]);
    const peaks = select(root, "g", "peak");
    const at = (kind: string) => peaks.find((p) => p.attrs["data-peak"] === kind)!;
    let footprint = rows[0];
    let live = rows[0];
    for (const r of rows) {
      if (r.footprint > footprint.footprint) footprint = r;
      if (r.live > live.live) live = r;
    }
    expect(Number(at("footprint").attrs["data-op"])).toBe(footprint.op);
    expect(Number(at("footprint").attrs["data-value"])).toBe(footprint.footprint);
    expect(Number(at("live").attrs["data-op"])).toBe(live.op);
  });

  it("thins long series without losing the peaks", () => {
    const rows: TimelineRow[] = Array.from({ length: 100_000 }, (_, op) => ({
      op, live: (op * 7919) % 10007, footprint: 20000 + ((op * 104729) % 30011), parts: {},
    }));
    const kept = thin(rows, 2000);
    expect(kept.length).toBeLessThanOrEqual(2002);
    expect(peakOf(kept, (r) => r.footprint).op).toBe(peakOf(rows, (r) => r.footprint).op);
    expect(peakOf(kept, (r) => r.live).value).toBe(peakOf(rows, (r) => r.live).value);
    const svg = timelineSVG(rows);
    expect(svg.length).toBeLessThan(400_000);
    parseXml(svg);
  });
});

describe("diff", () => {
  it("outlines chunks that appear, vanish or change", () => {
    const before = syntheticHeap(10);
    const after = before.slice(2).map((c, i) => (i === 0 ? { ...c, state: "tcache" as const, requested: 0 } : c));
    after.push({ ...before[0], chunk: HEAP_BASE + 0x21000, address: HEAP_BASE + 0x21010 });
    const changes = chunkChanges(before, after);
    expect([...changes.before.values()].sort()).toEqual(["changed", "removed", "removed"]);
    expect([...changes.after.values()].sort()).toEqual(["added", "changed"]);
    const root = parseXml(heapDiffSVG(before, after, { labels: ["t0", "t1"] }));
    const marked = select(root, "rect", "chunk").filter((r) => r.attrs["data-mark"]);
    expect(marked.length).toBe(5);
    expect(select(root, "svg").length).toBe(3);
  });

  it("puts two drawings side by side at their sizes", () => {
    const a = timelineSVG(syntheticTimeline(), { width: 400 });
    const root = parseXml(sideBySideSVG(a, a));
    expect(Number(root.attrs.width)).toBe(816);
    parseXml(timelineDiffSVG(syntheticTimeline(), syntheticTimeline().slice(0, 50)));
  });
});

describe("report", () => {
  const heap = syntheticHeap();
  const input = {
    title: "sort <S1M>",
    timeline: syntheticTimeline(),
    snapshots: [{ op: 100, chunks: heap.slice(0, 8) }, { op: 500, chunks: heap.slice(0, 20) }, { op: 900, chunks: heap }],
    summary: { trace: "x & y" },
  };
  const html = reportHTML(input);

  it("is self-contained: no external scripts, styles, images or fetches", () => {
    expect(html).not.toMatch(/\s(src|href)=/);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).not.toContain("fetch(");
    expect(html).toContain("<title>sort &lt;S1M&gt;</title>");
    expect(html).toContain("x &amp; y");
  });

  it("embeds one prerendered, well-formed heap map per snapshot, sharing unchanged pieces", () => {
    const json = /<script type="application\/json" id="heaplab-frames">([\s\S]*?)<\/script>/.exec(html)![1];
    expect(json).not.toContain("</");
    expect(json).not.toContain("<!--");
    const packed = JSON.parse(json) as PackedFrames;
    expect(packed.frames.map((f) => f.op)).toEqual([100, 500, 900]);
    const svgs = packed.frames.map((_, i) => unpackFrame(packed, i));
    expect(svgs).toEqual(scrubberFrames(input).map((f) => f.svg));
    expect(svgs.map((svg) => select(parseXml(svg), "rect", "chunk").length)).toEqual([8, 20, heap.length]);
    expect(packed.frames[0].cursor).toBeLessThan(packed.frames[2].cursor!);
    const pieces = packed.frames.reduce((n, f) => n + f.pieces.length, 0);
    expect(packed.pool.length).toBeLessThan(pieces);
  });

  it("keeps script-breaking text out of embedded JSON", () => {
    expect(scriptJSON({ s: "</script><!--\u2028" })).toBe('{"s":"<\\/script>\\u003c!--\\u2028"}');
    expect(JSON.parse(scriptJSON({ s: "</script><!--<a>\u2028" })).s).toBe("</script><!--<a>\u2028");
  });
});

describe("notebook display", () => {
  it("adds a Jupyter MIME bundle and toSVG/toHTML without changing the data", () => {
    const result = displayable({ ops: 3 }, { svg: () => "<svg/>" });
    expect(JSON.stringify(result)).toBe('{"ops":3}');
    expect(result.toSVG()).toBe("<svg/>");
    const bundle = result[Symbol.for("Jupyter.display") as typeof JUPYTER_DISPLAY]();
    expect(bundle["image/svg+xml"]).toBe("<svg/>");
    expect(bundle["text/html"]).toContain("<svg/>");
    expect(view("<svg/>", "<p>hi</p>").toHTML()).toBe("<p>hi</p>");
  });
});
