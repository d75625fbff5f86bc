// The size map against the real library: nallocx for every request size 0 … 262144 and samples above, and the
// pages per span and batch sizes against the table measured on this machine (shared reference).

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { tcmallocNallocx, tcmallocUnavailable } from "../oracle/native.js";
import { modelUnavailable } from "../differential/compare.js";

const skip = tcmallocUnavailable() ?? modelUnavailable("tcmalloc");
const REFERENCE = "../shared/reference/tcmalloc.md";

async function model() {
  const { createLab } = await import("../../src/lab/lab.js");
  const lab = await createLab({ model: "tcmalloc" });
  return lab.handle.wasm as unknown as {
    nallocx(size: number): number;
    classCount(): number;
    classSize(cl: number): number;
    classPages(cl: number): number;
    classBatch(cl: number): number;
  };
}

describe.skipIf(skip)("TCMalloc size map", () => {
  it("allocates what nallocx of the real library says, for every size", async () => {
    const real = await tcmallocNallocx();
    const wasm = await model();
    const wrong: string[] = [];
    for (const [size, allocated] of real) {
      const ours = wasm.nallocx(size);
      if (ours !== allocated) wrong.push(`nallocx(${size}): real ${allocated}, model ${ours}`);
    }
    expect(real.size).toBeGreaterThan(262_145);
    expect(wrong.slice(0, 10)).toEqual([]);
  });

  it("has the measured 85 classes with their pages per span and batch sizes", async () => {
    const wasm = await model();
    const text = readFileSync(REFERENCE, "utf8");
    const table = text.slice(text.indexOf("### 1.3.2"), text.indexOf("**Large requests"));
    const rows = table.split("\n")
      .map((l) => /^\| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => m.slice(1, 8).map(Number));
    expect(rows.length).toBe(85);
    expect(wasm.classCount()).toBe(86);
    for (const [cl, size, , pages, , , batch] of rows) {
      expect([cl, wasm.classSize(cl), wasm.classPages(cl), wasm.classBatch(cl)]).toEqual([cl, size, pages, batch]);
    }
  });
});
