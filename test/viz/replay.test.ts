// The views on real replays of sort-S1M: the recording is checked against live bytes computed from the trace
// text alone, TCMalloc's span walk against its object walk, and the drawings against the rows.

import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createLab } from "../../src/lab/lab.js";
import {
  binsSVG, classSizes, freeListsFromChunks, heapMapSVG, hex, recordReplay, reportHTML, spanRows, spansSVG,
} from "../../src/viz/index.js";
import { parseXml, select } from "./xml.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const TRACE = resolve(ROOT, "../shared/traces/sort-S1M.trace.gz");
const built = (model: string) => existsSync(join(ROOT, `build/${model}.wasm`));

/** Live requested bytes after each op, from the trace text: malloc/calloc/realloc add, free/realloc remove. */
function liveFromText(path: string): number[] {
  const sizes = new Map<string, number>();
  const live: number[] = [0];
  let total = 0;
  for (const line of gunzipSync(readFileSync(path)).toString("utf8").split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const f = line.split(" ");
    const drop = (ptr: string) => {
      total -= sizes.get(ptr) ?? 0;
      sizes.delete(ptr);
    };
    const keep = (ptr: string, size: number) => {
      if (ptr === "0x0") return;
      sizes.set(ptr, size);
      total += size;
    };
    switch (f[2]) {
      case "m": keep(f[4], Number(f[3])); break;
      case "c": keep(f[5], Number(f[3]) * Number(f[4])); break;
      case "f": drop(f[3]); break;
      case "r": {
        if (f[6] === "0x0" && Number(f[4]) !== 0) break;
        drop(f[3]);
        keep(f[5], Number(f[4]));
        break;
      }
      default: throw new Error(`op ${f[2]} not expected in sort-S1M`);
    }
    live.push(total);
  }
  return live;
}

describe.skipIf(!existsSync(TRACE))("views of a real replay (sort-S1M)", () => {
  const expectedLive = liveFromText(TRACE);

  it.skipIf(!built("ptmalloc"))("ptmalloc: snapshots hold the trace's live bytes and draw every chunk", async () => {
    const lab = await createLab({ model: "ptmalloc" });
    const rec = await recordReplay(lab, TRACE, { samples: 50, snapshots: 6 });
    expect(rec.ops).toBe(expectedLive.length - 1);
    expect(rec.timelineSource).toBe("metrics");
    for (const row of rec.timeline) expect(row.live, `live after op ${row.op}`).toBe(expectedLive[row.op]);
    const peak = Math.max(...expectedLive);
    const peakOp = expectedLive.indexOf(peak);
    expect(rec.timeline.find((r) => r.live === peak)?.op, "the exact live peak is a timeline row").toBe(peakOp);
    for (const snapshot of rec.snapshots) {
      const requested = snapshot.chunks.filter((c) => c.state === "allocated" || c.state === "mmapped")
        .reduce((n, c) => n + c.requested, 0);
      expect(requested, `requested bytes in the heap walk after op ${snapshot.op}`).toBe(expectedLive[snapshot.op]);
    }
    for (const snapshot of rec.snapshots) {
      const root = parseXml(heapMapSVG(snapshot.chunks));
      const rects = select(root, "rect", "chunk");
      expect(rects.length).toBe(snapshot.chunks.length);
      expect(new Set(rects.map((r) => r.attrs["data-address"]))).toEqual(new Set(snapshot.chunks.map((c) => hex(c.address))));
    }
    const chunks = lab.chunks();
    const members = select(parseXml(binsSVG(freeListsFromChunks(chunks), { chunks })), "rect", "member");
    expect(members.length).toBe(chunks.filter((c) => ["tcache", "fastbin", "unsorted", "smallbin", "largebin"]
      .includes(c.state)).length);
    const html = reportHTML({ timeline: rec.timeline, snapshots: rec.snapshots });
    expect(html.length).toBeLessThan(2_000_000);
  });

  it.skipIf(!built("tcmalloc"))("tcmalloc: spans hold every object slot and count the allocated ones", async () => {
    const lab = await createLab({ model: "tcmalloc" });
    const rec = await recordReplay(lab, TRACE, { samples: 50, snapshots: 4 });
    for (const row of rec.timeline) expect(row.live, `live after op ${row.op}`).toBe(expectedLive[row.op]);
    // The model starts in the recorded process's start-up state: objects allocated before the trace began.
    const startUp = rec.snapshots[0].chunks.filter((c) => c.state === "allocated" && c.line === null)
      .reduce((n, c) => n + c.requested, 0);
    for (const snapshot of rec.snapshots) {
      const requested = snapshot.chunks.filter((c) => c.state === "allocated").reduce((n, c) => n + c.requested, 0);
      expect(requested - startUp, `requested bytes after op ${snapshot.op}`).toBe(expectedLive[snapshot.op]);
    }
    const spans = spanRows(lab);
    const chunks = lab.chunks();
    expect(spans.length).toBeGreaterThan(0);
    const inUse = spans.filter((s) => s.state === "in-use");
    const spanOf = (address: number) => inUse.find((s) => address >= s.start && address < s.start + s.pages * 8192);
    for (const chunk of chunks.filter((c) => c.state === "allocated")) {
      expect(spanOf(chunk.address), hex(chunk.address)).toBeDefined();
    }
    const allocatedBySpan = new Map<number, number>();
    for (const chunk of chunks.filter((c) => c.state === "allocated")) {
      const span = spanOf(chunk.address)!;
      allocatedBySpan.set(span.start, (allocatedBySpan.get(span.start) ?? 0) + 1);
    }
    for (const span of inUse) expect(span.allocated, hex(span.start)).toBe(allocatedBySpan.get(span.start) ?? 0);
    const sizes = classSizes(lab);
    for (const span of inUse.filter((s) => s.sizeClass > 0 && s.objects > 1)) {
      expect(span.objects).toBe(Math.floor((span.pages * 8192) / sizes[span.sizeClass]));
    }
    const root = parseXml(spansSVG(spans, { classSizes: sizes }));
    expect(select(root, "rect", "span").length).toBe(spans.length);
  });
});
