import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "../../src/cli/render.js";
import { createLab } from "../../src/lab/lab.js";

const example = join(__dirname, "..", "..", "examples", "ls-la.trace");
const dir = mkdtempSync(join(tmpdir(), "heaplab-render-"));

function chunkRects(svg: string): string[] {
  return [...svg.matchAll(/<rect[^>]*class="chunk"[^>]*data-address="0x([0-9a-f]+)"/g)].map((m) => String(parseInt(m[1], 16)));
}

describe("heaplab render", () => {
  it("draws the heap as it stands after --at N operations: one shape per chunk of the walk", async () => {
    const out = join(dir, "heap.svg");
    expect(await run([example, "--at", "150", "-o", out])).toBe(0);
    // At the recorded program's own addresses: the recording's `# heap-base` is the model's heap base.
    const heapBase = Number(/^# heap-base (0x[0-9a-f]+)$/m.exec(readFileSync(example, "utf8"))![1]);
    const lab = await createLab({ options: { heap_base: heapBase } });
    await lab.replay(example, { until: 150 });
    expect(lab.heapBase()).toBe(heapBase);
    const expected = lab.chunks().map((c) => String(c.address));
    expect(new Set(chunkRects(readFileSync(out, "utf8")))).toEqual(new Set(expected));
    const end = await createLab();
    await end.replay(example);
    expect(end.chunks().length).not.toBe(expected.length);
  });

  it("writes one self-contained HTML report with a scrubber", async () => {
    const out = join(dir, "report.html");
    expect(await run([example, "--html", "--snapshots", "5", "-o", out])).toBe(0);
    const html = readFileSync(out, "utf8");
    expect(html).toMatch(/^<!DOCTYPE html>/i);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org)/);
    expect(html).toContain("<svg");
  });

  it("rejects spans for a model without spans", async () => {
    await expect(run([example, "--view", "spans", "-o", join(dir, "s.svg")])).rejects.toThrow(/tcmalloc/);
  });
});
