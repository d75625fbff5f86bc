// The package in a browser bundle: Vite, building for the browser, meets no Node built-in in the library's module
// graph (the "browser" condition of `#host`), so it neither warns nor ships stubs; in Node the same entry keeps them.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { build, createLogger } from "vite";
import { repoRoot } from "../oracle/native.js";

/** The code and the warnings of a browser build of every entry of the built package. */
async function bundle(): Promise<{ code: string; warnings: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), "heaplab-bundle-"));
  const entry = join(dir, "entry.js");
  const dist = join(repoRoot, "dist");
  writeFileSync(entry, [
    `export * from ${JSON.stringify(join(dist, "index.js"))};`,
    `export * as viz from ${JSON.stringify(join(dist, "viz", "index.js"))};`,
    `export * as fuzz from ${JSON.stringify(join(dist, "fuzz", "index.js"))};`,
    `export * as exploit from ${JSON.stringify(join(dist, "exploit", "index.js"))};`,
  ].join("\n"));
  const warnings: string[] = [];
  const logger = createLogger("warn", { allowClearScreen: false });
  logger.warn = (message) => { warnings.push(message); };
  logger.warnOnce = (message) => { warnings.push(message); };
  const output = await build({
    configFile: false, root: dir, logLevel: "warn", customLogger: logger,
    build: {
      write: false, minify: false,
      lib: { entry, formats: ["es"], fileName: "heaplab" },
      rollupOptions: { onwarn: (w) => { warnings.push(w.message); } },
    },
  });
  const outputs = (Array.isArray(output) ? output : [output]) as { output: { type: string; code?: string }[] }[];
  const code = outputs.flatMap((o) => o.output).map((c) => c.code ?? "").join("\n");
  return { code, warnings };
}

describe("browser bundle", () => {
  it("Vite builds the package for a browser without a Node built-in or a warning about one", async () => {
    const { code, warnings } = await bundle();
    expect(code).toContain("is not available in a browser");
    expect(code.match(/(?:from|import\(|require\()\s*["']node:[a-z_/]+["']/g) ?? []).toEqual([]);
    expect(code).not.toContain("__vite-browser-external");
    expect(warnings.filter((w) => /node:|externalized|built-in/i.test(w))).toEqual([]);
  });
});
