// `heaplab replay --addresses` (the compiled CLI, dist/): the bytes it prints are the lines `addressLines()` gives,
// written through the reused line buffer; and a reader that closes the pipe early ends it quietly.

import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { addressLines } from "../../src/lab/addresses.js";
import { sharedTraceFiles } from "../trace/helpers.js";

const cli = join(__dirname, "..", "..", "dist", "cli", "main.js");
const example = join(__dirname, "..", "..", "examples", "ls-la.trace");
const traces = [example, ...sharedTraceFiles().filter((f) => /sqlite3|git-log/.test(f))];

describe("heaplab replay --addresses", () => {
  for (const trace of traces) {
    it(`prints exactly the address lines of ${trace.split("/").pop()}`, async () => {
      const printed = execFileSync(process.execPath, [cli, "replay", trace, "--addresses"], { maxBuffer: 1 << 28 });
      const lines = await addressLines(trace);
      expect(lines.length).toBeGreaterThan(100);
      expect(printed.toString()).toBe(lines.join("\n") + "\n");
    });
  }

  it("ends quietly when the reader closes the pipe after a few lines", () => {
    const trace = traces[traces.length - 1];
    const r = spawnSync("sh", ["-c", `'${process.execPath}' '${cli}' replay '${trace}' --addresses | head -n 3`], { encoding: "utf8" });
    expect(r.stdout.split("\n").filter(Boolean)).toHaveLength(3);
    expect(r.stderr).toBe("");
  });
});
