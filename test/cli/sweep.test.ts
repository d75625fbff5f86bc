// `heaplab sweep` on a terminal: a progress line counts the finished combinations on stderr and is cleared at the
// end, so the ranked table on stdout stays clean.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { run } from "../../src/cli/sweep.js";
import { allocTrace } from "./run.js";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("heaplab sweep", () => {
  it("shows its progress in runs on a terminal's stderr, and clears it", async () => {
    const trace = join(mkdtempSync(join(tmpdir(), "heaplab-sweep-")), "t.trace");
    writeFileSync(trace, allocTrace(100));
    const drawn: string[] = [];
    const tty = process.stderr.isTTY;
    process.stderr.isTTY = true;
    vi.spyOn(process.stderr, "write").mockImplementation((text: string | Uint8Array) => drawn.push(String(text)) > 0);
    const table: string[] = [];
    vi.spyOn(console, "log").mockImplementation((text: string) => { table.push(text); });
    try {
      expect(await run([trace, "--vary", "glibc.malloc.mxfast=0,64,128", "--jobs", "0"])).toBe(0);
    } finally {
      process.stderr.isTTY = tty;
    }
    expect(drawn[0]).toMatch(/^\rsweep \[ +\]   0% 0 runs /);
    expect(drawn.at(-1)).toMatch(/^\r +\r$/);
    expect(table.join("\n").split("\n")).toHaveLength(7);
  });
});
