// The model called one function at a time: gperftools' realloc hysteresis and alignment rules as measured on
// the real library (shared reference §1.4), heap misuse refused without changing anything, and walks that
// account for every byte the statistics report.

import { describe, expect, it } from "vitest";
import { modelUnavailable } from "../differential/compare.js";

const skip = modelUnavailable("tcmalloc");

async function lab() {
  const { createLab } = await import("../../src/lab/lab.js");
  return createLab({ model: "tcmalloc" });
}

describe.skipIf(skip)("TCMalloc model, call by call", () => {
  it("grows realloc to 1.25 × and shrinks only below half (measured on gperftools 2.10)", async () => {
    const l = await lab();
    const p = l.malloc(1000);
    expect(l.usableSize(p)).toBe(1024);
    const q = l.realloc(p, 1100);
    expect(q).not.toBe(p);
    expect(l.usableSize(q)).toBe(1280);
    expect(l.realloc(q, 700)).toBe(q);
    const r = l.realloc(q, 600);
    expect(r).not.toBe(q);
    expect(l.usableSize(r)).toBe(640);
  });

  it("serves large and over-aligned requests with whole pages", async () => {
    const l = await lab();
    const big = l.malloc(300_000);
    expect(big % 8192).toBe(0);
    expect(l.usableSize(big)).toBe(303_104);
    const aligned = l.memalign(65_536, 100);
    expect(aligned % 65_536).toBe(0);
    expect(l.usableSize(aligned)).toBe(8192);
    const small = l.memalign(256, 100);
    expect(small % 256).toBe(0);
    expect(l.usableSize(small)).toBe(256);
    expect(l.posixMemalign(12, 100)).toBe(0);
    expect(l.calloc(2 ** 40, 2 ** 40)).toBe(0);
  });

  it("refuses a free of an address it never handed out, and changes nothing", async () => {
    const l = await lab();
    const p = l.malloc(48);
    const before = l.stats();
    expect(() => l.free(0x1000)).toThrow(/Attempt to free invalid pointer/);
    expect(() => l.free(p + 16)).toThrow(/not an allocated object/);
    l.free(p);
    expect(() => l.free(p)).toThrow(/not an allocated object/);
    const after = l.stats();
    expect(after["tcmalloc.thread_cache_free_bytes"]).toBe(before["tcmalloc.thread_cache_free_bytes"] + 48);
    expect(l.malloc(48)).toBe(p);
  });

  it("walks every byte the statistics count", async () => {
    const l = await lab();
    const kept: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const p = l.malloc((i * 7919) % 5000, { thread: i % 3 });
      if (i % 3 === 0) l.free(p, { thread: (i + 1) % 3 });
      else kept.push(p);
    }
    for (let i = 0; i < 10; i++) kept.push(l.malloc(400_000 + i * 10_000));
    const s = l.stats();
    const rows = l.chunks();
    const sum = (state: string) => rows.filter((r) => r.state === state).reduce((a, r) => a + r.size, 0);
    expect(sum("allocated")).toBe(s["generic.current_allocated_bytes"]);
    expect(sum("threadcache")).toBe(s["tcmalloc.thread_cache_free_bytes"]);
    expect(sum("transfer")).toBe(s["tcmalloc.transfer_cache_free_bytes"]);
    expect(sum("central") + sum("span")).toBe(s["tcmalloc.central_cache_free_bytes"]);
    expect(sum("pageheap")).toBe(s["tcmalloc.pageheap_free_bytes"]);
    expect(sum("released")).toBe(s["tcmalloc.pageheap_unmapped_bytes"]);
    for (const p of kept) expect(rows.some((r) => r.address === p && r.state === "allocated")).toBe(true);
    for (let i = 1; i < rows.length; i++) expect(rows[i].address).toBeGreaterThanOrEqual(rows[i - 1].address + rows[i - 1].size);
  });
});
