// examples/heap-tour.ipynb executed headlessly on Deno's Jupyter kernel (the `deno` dev dependency) against the
// built package, by notebook/execute.py (jupyter_client); its outputs must hold the drawings, well-formed.

import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseXml, select } from "./xml.js";
import { executeNotebook, joined, notebookMissing } from "./notebook/run.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const OUTPUT = join(ROOT, "test-output");
const CI = !!process.env.CI;
const missing = notebookMissing();

if (missing.length) {
  if (CI) throw new Error(`notebook test: missing ${missing.join(", ")}`);
  console.warn(`notebook test skipped: missing ${missing.join(", ")}`);
}

describe.skipIf(missing.length > 0)("examples/heap-tour.ipynb", () => {
  it("runs on Deno's kernel and shows the heap map, free lists and timelines as SVG", { timeout: 360_000 }, async () => {
    const outputs = await executeNotebook("examples/heap-tour.ipynb", join(OUTPUT, "heap-tour.ipynb"));
    expect(outputs.filter((o) => o.output_type === "error").map((o) => `${o.ename}: ${o.evalue}`)).toEqual([]);

    const svgs = outputs.filter((o) => o.data?.["image/svg+xml"]).map((o) => joined(o.data!["image/svg+xml"]));
    expect(svgs.length).toBe(9);
    for (const o of outputs.filter((o) => o.data?.["image/svg+xml"])) {
      expect(joined(o.data!["text/html"])).toContain("<svg");
    }
    const drawings = svgs.map((svg) => parseXml(svg));
    const printed = outputs.map((o) => joined(o.text)).join("");
    const chunks = Number(/ptmalloc: \d+ operations, (\d+) chunks/.exec(printed)?.[1]);
    expect(chunks).toBeGreaterThan(0);
    expect(select(drawings[0], "rect", "chunk").length).toBe(chunks);
    expect(drawings[0].attrs.class).toContain("heap-map");
    expect(select(drawings[2], "rect", "member").length).toBeGreaterThan(0);
    expect(select(drawings[3], "g", "peak").length).toBe(2);
    expect(printed).toContain('"model":"ptmalloc"');
    const recording = outputs.filter((o) => o.data?.["image/svg+xml"]).pop()!;
    expect(select(drawings[8], "rect", "chunk").length).toBe(chunks);
    expect(joined(recording.data!["text/html"])).toContain('id="heaplab-scrubber"');
  });
});
