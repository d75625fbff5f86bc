// `heaplab replay --addresses` (the compiled CLI, dist/): the bytes it prints are the lines `addressLines()` gives,
// written through the reused line buffer; and a reader that closes the pipe early ends it quietly.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { addressLines } from "../../src/lab/addresses.js";
import { sharedTraceFiles } from "../trace/helpers.js";
import { MODEL_NAMES } from "../../src/models/index.js";

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

  it.each(MODEL_NAMES)("replays a recording (its # heap-base, mem-total …) on %s, report and address lines", (model) => {
    for (const extra of [["--addresses"], ["--json"]]) {
      const r = spawnSync(process.execPath, [cli, "replay", example, "--model", model, ...extra], { maxBuffer: 1 << 26 });
      expect(r.stderr.toString()).toBe("");
      expect(r.status).toBe(0);
    }
  });

  it("counts heap offsets from the recorded `# heap-base` (memalign beyond a page depends on it)", () => {
    const dir = mkdtempSync(join(tmpdir(), "heaplab-heap-base-"));
    const trace = join(dir, "t.trace");
    const base = 0x5555555a3000; // page-aligned, 12 KiB past a 64 KiB boundary
    writeFileSync(trace, [
      "# alloc-trace v1 pid=7 ppid=1 exe=t", `# heap-base 0x${base.toString(16)}`,
      "1 7 m 24 0x5555555a32a0", "2 7 a 65536 100 0x5555555b0000", "",
    ].join("\n"));
    const where = (...extra: string[]) => execFileSync(process.execPath, [cli, "replay", trace, "--addresses", ...extra])
      .toString().split("\n")[1];
    // As recorded: the 64 KiB-aligned block sits at the recorded address − the recorded base.
    expect(where()).toBe(`2 a 100 heap+0x${(0x5555555b0000 - base).toString(16)}`);
    // Another base puts the next 64 KiB boundary elsewhere.
    expect(where("--option", "heap_base=0x555555559000")).toBe("2 a 100 heap+0x7000");
  });

  it("ends quietly when the reader closes the pipe after a few lines", () => {
    const trace = traces[traces.length - 1];
    const r = spawnSync("sh", ["-c", `'${process.execPath}' '${cli}' replay '${trace}' --addresses | head -n 3`], { encoding: "utf8" });
    expect(r.stdout.split("\n").filter(Boolean)).toHaveLength(3);
    expect(r.stderr).toBe("");
  });
});
