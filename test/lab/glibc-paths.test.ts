// glibc 2.36 paths reached through forged chunk headers, on the model (debian12 layout) and on the real glibc
// under setarch -R (test/lab/glibc-paths.c), compared line for line: sysmalloc's fenceposts and free of the old
// top when the break is not where the top ends, munmap of a forged range, free into an arena forged in the heap.

import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { createLab, type Lab } from "../../src/index.js";
import { compileNative, oracleUnavailable } from "../oracle/native.js";

const source = join(dirname(fileURLToPath(import.meta.url)), "glibc-paths.c");
const unavailable = oracleUnavailable()
  ?? (spawnSync("setarch", ["-R", "true"], { stdio: "ignore" }).status !== 0 ? "setarch -R is not permitted here" : null);

let binary = "";
beforeAll(async () => {
  if (!unavailable) binary = await compileNative(source);
});

function real(scenario: string): string[] {
  const run = spawnSync("setarch", ["-R", binary, scenario], { encoding: "utf8" });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout.trim().split("\n");
}

/** The lines the C program prints, from the model's values. */
function lines(lab: Lab, values: [string, number | bigint][]): string[] {
  const heap = BigInt(lab.heapBase());
  return values.map(([name, value]) => {
    const v = BigInt(value);
    return v >= heap && v < heap + 0x10000000n ? `${name} heap+0x${(v - heap).toString(16)}` : `${name} 0x${v.toString(16)}`;
  });
}

const debian12 = () => createLab({ model: "ptmalloc", layout: "debian12" });

describe.skipIf(unavailable !== null)("glibc paths through forged headers, model vs glibc 2.36", () => {
  it("house of tangerine: a top cut to its page is fenceposted and freed, the new top starts at the break", async () => {
    const lab = await debian12();
    const p = lab.malloc(0x18);
    const top = p + 0x10;
    lab.write64(top + 8, lab.read64(top + 8) & 0xfffn);
    const q = lab.malloc(0x1000);
    const cut = Number(lab.read64(top + 8) & ~7n);
    expect(lines(lab, [["q", q], ["top_size", lab.read64(q + 0x1008)], ["old_top_size", lab.read64(top + 8)],
      ["old_top_fd", lab.read64(top + 16)], ["fencepost1", lab.read64(top + cut + 8)],
      ["fencepost2", lab.read64(top + cut + 24)]])).toEqual(real("tangerine"));
  });

  it("munmap of a chunk forged to span its neighbour unmaps both; a new mapping overlaps them", async () => {
    const lab = await debian12();
    lab.free(lab.malloc(0x18));
    const a = lab.malloc(0x100000);
    const b = lab.malloc(0x100000);
    const c = lab.malloc(0x100000);
    lab.write64(c - 8, ((lab.read64(c - 8) & ~7n) + (lab.read64(b - 8) & ~7n)) | 2n);
    lab.free(c);
    expect(() => lab.read64(b)).toThrow(/Segmentation fault/); // b went with c
    const d = lab.malloc(0x300000);
    expect(lines(lab, [["a", a], ["b", b], ["c", c], ["d", d], ["d_size", lab.read64(d - 8)]])).toEqual(real("munmap"));
  });

  it("house of mind (fastbin): free into an arena forged in the heap, named by a forged heap_info", async () => {
    const lab = await debian12();
    const HEAP_MAX = 0x4000000;
    const arena = lab.malloc(0x1000);
    lab.write(arena + 0x888, [0xff, 0xff, 0xff]);
    const info = Math.floor((arena - 0x10 + HEAP_MAX) / HEAP_MAX) * HEAP_MAX;
    let mem = lab.malloc(0x1ff00);
    while (mem < info) mem = lab.malloc(0x1ff00);
    const victim = lab.malloc(0x50);
    const cached = Array.from({ length: 7 }, () => lab.malloc(0x50));
    for (const c of cached) lab.free(c);
    lab.write64(info, BigInt(arena));
    lab.write64(victim - 8, 0x60n | 4n);
    lab.free(victim);
    expect(lines(lab, [["arena", arena], ["victim", victim], ["fastbin4", lab.read64(arena + 0x30)],
      ["have_fastchunks", lab.read64(arena + 8) & 0xffffffffn]])).toEqual(real("mind"));
  });
});
