// examples/heap-tour.ipynb executed headlessly on Deno's Jupyter kernel (the `deno` dev dependency) against the
// built package, by notebook/execute.py (jupyter_client); its outputs must hold the drawings, well-formed.

import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { parseXml, select } from "./xml.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const OUTPUT = join(ROOT, "test-output");
const PYTHON = "/usr/bin/python3";
const EXECUTE = join(ROOT, "test/viz/notebook/execute.py");
const DENO = [join(ROOT, "node_modules/@deno/linux-x64-glibc/deno"), join(ROOT, "node_modules/deno/deno")]
  .find((p) => existsSync(p));
const CI = !!process.env.CI;
const hasJupyterClient = existsSync(PYTHON) &&
  spawnSync(PYTHON, ["-c", "import jupyter_client, nbformat"], { stdio: "ignore" }).status === 0;
const missing = [!hasJupyterClient && "Debian's jupyter_client (apt-get install -y python3-jupyter-client python3-nbformat)",
  !DENO && "the deno binary (npm install)", !existsSync(join(ROOT, "build/ptmalloc.wasm")) && "build/ (npm run build)"]
  .filter(Boolean);

if (missing.length) {
  if (CI) throw new Error(`notebook test: missing ${missing.join(", ")}`);
  console.warn(`notebook test skipped: missing ${missing.join(", ")}`);
}

interface Output {
  output_type: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
}

const joined = (text: string | string[] | undefined) => (Array.isArray(text) ? text.join("") : text ?? "");

describe.skipIf(missing.length > 0)("examples/heap-tour.ipynb", () => {
  const kernels = mkdtempSync(join(tmpdir(), "heaplab-kernels-"));
  afterAll(() => rmSync(kernels, { recursive: true, force: true }));

  it("runs on Deno's kernel and shows the heap map, free lists and timelines as SVG", { timeout: 360_000 }, async () => {
    mkdirSync(join(kernels, "kernels/deno"), { recursive: true });
    writeFileSync(join(kernels, "kernels/deno/kernel.json"), JSON.stringify({
      argv: [DENO, "jupyter", "--kernel", "--conn", "{connection_file}"], display_name: "Deno", language: "typescript",
    }));
    mkdirSync(OUTPUT, { recursive: true });
    await promisify(execFile)(PYTHON, [EXECUTE, "deno", join(ROOT, "examples/heap-tour.ipynb"),
      join(OUTPUT, "heap-tour.ipynb"), "300"], {
      env: { ...process.env, JUPYTER_PATH: kernels, DENO_NO_UPDATE_CHECK: "1" },
      maxBuffer: 1 << 26,
    });
    const notebook = JSON.parse(readFileSync(join(OUTPUT, "heap-tour.ipynb"), "utf8"));
    const outputs: Output[] = notebook.cells.filter((c: { cell_type: string }) => c.cell_type === "code")
      .flatMap((c: { outputs: Output[] }) => c.outputs);
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
