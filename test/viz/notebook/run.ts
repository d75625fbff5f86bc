// Runs a notebook headlessly on Deno's Jupyter kernel (the `deno` dev dependency) against the built package, with
// execute.py (jupyter_client), and reads its outputs back.

import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const PYTHON = "/usr/bin/python3";
const EXECUTE = join(ROOT, "test/viz/notebook/execute.py");
const DENO = [join(ROOT, "node_modules/@deno/linux-x64-glibc/deno"), join(ROOT, "node_modules/deno/deno")]
  .find((p) => existsSync(p));

/** What a notebook run needs and this machine lacks (empty when it can run). */
export function notebookMissing(): string[] {
  const hasJupyterClient = existsSync(PYTHON) &&
    spawnSync(PYTHON, ["-c", "import jupyter_client, nbformat"], { stdio: "ignore" }).status === 0;
  return [!hasJupyterClient && "Debian's jupyter_client (apt-get install -y python3-jupyter-client python3-nbformat)",
    !DENO && "the deno binary (npm install)", !existsSync(join(ROOT, "build/ptmalloc.wasm")) && "build/ (npm run build)"]
    .filter((m): m is string => typeof m === "string");
}

export interface NotebookOutput {
  output_type: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
}

/** A stream's or a display's text, joined. */
export const joined = (text: string | string[] | undefined) => (Array.isArray(text) ? text.join("") : text ?? "");

/** Executes `notebook` (a path under the repository) into `output`; returns the code cells' outputs. */
export async function executeNotebook(notebook: string, output: string, seconds = 300): Promise<NotebookOutput[]> {
  const kernels = mkdtempSync(join(tmpdir(), "heaplab-kernels-"));
  try {
    mkdirSync(join(kernels, "kernels/deno"), { recursive: true });
    writeFileSync(join(kernels, "kernels/deno/kernel.json"), JSON.stringify({
      argv: [DENO, "jupyter", "--kernel", "--conn", "{connection_file}"], display_name: "Deno", language: "typescript",
    }));
    mkdirSync(dirname(output), { recursive: true });
    await promisify(execFile)(PYTHON, [EXECUTE, "deno", join(ROOT, notebook), output, String(seconds)], {
      env: { ...process.env, JUPYTER_PATH: kernels, DENO_NO_UPDATE_CHECK: "1" },
      maxBuffer: 1 << 26,
    });
  } finally {
    rmSync(kernels, { recursive: true, force: true });
  }
  const executed = JSON.parse(readFileSync(output, "utf8"));
  return executed.cells.filter((c: { cell_type: string }) => c.cell_type === "code")
    .flatMap((c: { outputs: NotebookOutput[] }) => c.outputs);
}
