// lab.lists(): the free lists as glibc links them, poisoned links followed and flagged, and their SVG view.

import { describe, expect, it } from "vitest";
import { createLab } from "../../src/index.js";
import { listsSVG } from "../../src/viz/index.js";

describe("lab.lists", () => {
  it("lists tcache, fastbins and the unsorted bin in glibc's link order", async () => {
    const lab = await createLab({ model: "ptmalloc", layout: "debian12" });
    const small = Array.from({ length: 9 }, () => lab.malloc(0x28));
    const big = lab.malloc(0x500);
    lab.malloc(0x18);
    for (const p of small) lab.free(p);
    lab.free(big);
    const lists = lab.lists();
    const tcache = lists.tcache.find((l) => l.index === 1)!;
    expect(tcache.count).toBe(7);
    // tcache and fastbins are LIFO: the last freed first.
    expect(tcache.nodes.map((n) => n.chunk)).toEqual(small.slice(0, 7).reverse().map((p) => p - 16));
    expect(lists.fastbins[0].nodes.map((n) => n.chunk)).toEqual([small[8] - 16, small[7] - 16]);
    expect(lists.fastbins[0].nodes.every((n) => n.size === 0x30 && n.where === "heap" && !n.foreign)).toBe(true);
    expect(lists.unsorted[0].nodes.map((n) => [n.chunk, n.size])).toEqual([[big - 16, 0x510]]);
    expect(lists.small).toEqual([]);
  });

  it("follows a poisoned tcache link out of the heap and flags the nodes it reaches", async () => {
    const lab = await createLab({ model: "ptmalloc", layout: "debian12" });
    const a = lab.malloc(0x28);
    const b = lab.malloc(0x28);
    lab.free(a);
    lab.free(b);
    const fake = lab.stackAlloc(0x30); // a fake chunk on the stack, its own next NULL
    lab.write64(fake + 8, 0x31n);
    lab.write64(fake + 16, BigInt(Math.floor((fake + 16) / 4096)));
    lab.write64(b, BigInt(fake + 16) ^ BigInt(Math.floor(b / 4096)));
    const list = lab.lists().tcache[0];
    expect(list.nodes.map((n) => [n.chunk, n.where, n.foreign])).toEqual([[b - 16, "heap", false], [fake, "stack", true]]);
    expect(list.broken).toBe(false);
    // The fake chunk's next now leads into unmapped memory: the list ends there, broken.
    lab.write64(fake + 16, 0x4141414141410n);
    const broken = lab.lists().tcache[0];
    expect(broken.broken).toBe(true);
    expect(broken.nodes.at(-1)!.where).toBe("unmapped");
    const svg = listsSVG(lab.lists());
    expect(svg).toContain('data-where="stack"');
    expect(svg).toContain("broken link");
  });

  it("flags a loop (a double free into a fastbin)", async () => {
    const lab = await createLab({ model: "ptmalloc", layout: "debian12" });
    const ps = Array.from({ length: 9 }, () => lab.malloc(0x18));
    for (const p of ps.slice(0, 7)) lab.free(p);
    lab.free(ps[7]);
    lab.free(ps[8]);
    lab.free(ps[7]); // fastbin dup: a → b → a
    const fast = lab.lists().fastbins[0];
    expect(fast.loop).toBe(true);
    expect(fast.nodes.map((n) => n.chunk)).toEqual([ps[7] - 16, ps[8] - 16]);
    expect(listsSVG(lab.lists())).toContain("loop");
  });

  it("gives bigint chunks with pointers: bigint, and lists of every arena", async () => {
    const lab = await createLab({ model: "ptmalloc", pointers: "bigint" });
    const a = lab.malloc(0x18);
    lab.malloc(0x18, { thread: 1 });
    const t = lab.malloc(0x500, { thread: 1 });
    lab.malloc(0x18, { thread: 1 });
    lab.free(t, { thread: 1 });
    lab.free(a);
    const lists = lab.lists();
    expect(lists.tcache[0].nodes[0].chunk).toBe(a - 16n);
    expect(lists.unsorted.map((l) => l.arena)).toEqual([1]);
    expect(lists.unsorted[0].nodes[0].chunk).toBe(t - 16n);
  });
});
