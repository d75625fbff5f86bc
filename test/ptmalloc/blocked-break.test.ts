// A program whose break runs into a mapping above its heap, recorded live: the recorder writes that mapping as
// `# brk-blocked-at`, and `heaplab replay` gives it to the model, whose main arena then maps its space where the
// real glibc did. Every block must land at its recorded address: heap blocks at their offset from the recorded
// break, mapped main-arena blocks at their offset from the first of them.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordProcess } from "../../src/cli/record.js";
import { recordedHeapBase, recordingUnavailable } from "./realprog.js";

const cli = join(__dirname, "..", "..", "dist", "cli", "main.js");

/** Maps a page 256 KiB above the break before main (and before the first malloc), then allocates past it. */
const PROGRAM = `
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
__attribute__((constructor(101))) static void block_the_break(void) {
  char *brk = sbrk(0);
  mmap(brk + 0x40000, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
}
int main(void) {
  void *p[600];
  for (int i = 0; i < 600; i++) { p[i] = malloc(40 + (i * 7919) % 9000); memset(p[i], 1, 8); }
  for (int i = 0; i < 600; i += 3) free(p[i]);
  for (int i = 0; i < 300; i++) p[i] = realloc(i % 3 ? p[i] : NULL, 24 + (i * 31) % 20000);
  void *big = malloc(300000);
  free(big);
  for (int i = 300; i < 600; i++) if (i % 3) free(p[i]);
  return 0;
}
`;

function replay(path: string, ...args: string[]): string[] {
  return execFileSync(process.execPath, [cli, "replay", path, "--addresses", ...args], { maxBuffer: 1 << 26 })
    .toString().split("\n").filter(Boolean);
}

/** The recorded result of each line that returns a pointer, by sequence number. */
function recordedResults(path: string): Map<string, bigint> {
  const results = new Map<string, bigint>();
  for (const line of readFileSync(path, "latin1").split("\n")) {
    if (line === "" || line[0] === "#") continue;
    const f = line.split(" ");
    if (f[2] === "f" || f[2] === "t") continue;
    results.set(f[0], BigInt(f[f.length - 1]));
  }
  return results;
}

/**
 * Where each replayed line put its block against where the program had it: the number of lines whose offset
 * disagrees (heap from the recorded break, main from the first mapped main-arena block) and how many main-arena
 * lines there were. The kernel places mappings: mmapped chunks are not compared, and main-arena blocks beyond the
 * first mapping (1 MiB) only by their offset in the page, since a later mapping may land in a hole that address
 * randomisation left.
 */
function disagreements(
  lines: readonly string[], recorded: Map<string, bigint>, base: bigint,
): { wrong: number; main: number; exact: number } {
  let firstMain: bigint | undefined;
  let wrong = 0;
  let main = 0;
  let exact = 0;
  for (const line of lines) {
    const [seq, , , where] = line.split(" ");
    const real = recorded.get(seq);
    const m = /^(heap|main)([+-])0x([0-9a-f]+)$/.exec(where);
    if (real === undefined || !m) continue;
    const offset = BigInt(`0x${m[3]}`) * (m[2] === "-" ? -1n : 1n);
    if (m[1] === "main") {
      main++;
      firstMain ??= real - offset;
      const inFirst = offset >= 0n && offset < 1n << 20n;
      if (inFirst) exact++;
      if (inFirst ? real !== firstMain + offset : (real - firstMain - offset) % 4096n !== 0n) wrong++;
    } else if (real !== base + offset) {
      wrong++;
    }
  }
  return { wrong, main, exact };
}

const skip = recordingUnavailable();
const dir = skip ? "" : mkdtempSync(join(tmpdir(), "heaplab-blocked-"));
const trace = join(dir, "blocked.trace");

describe.skipIf(skip)("a break blocked by a mapping, recorded live", () => {
  beforeAll(async () => {
    writeFileSync(join(dir, "blocked.c"), PROGRAM);
    const cc = spawnSync("cc", ["-O1", "-o", join(dir, "blocked"), join(dir, "blocked.c")], { encoding: "utf8" });
    if (cc.status !== 0) throw new Error(`cc: ${cc.stderr}`);
    expect(await recordProcess([join(dir, "blocked")], trace)).toBe(0);
  }, 60_000);
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it("the header names the mapping; every block replays to its recorded address", () => {
    const base = recordedHeapBase(trace);
    const header = /^# brk-blocked-at (0x[0-9a-f]+)$/m.exec(readFileSync(trace, "latin1").slice(0, 4096));
    expect(header && Number(header[1])).toBe(base + 0x40000);
    const recorded = recordedResults(trace);
    const replayed = replay(trace);
    expect(replayed.length).toBeGreaterThan(800);
    const { wrong, main, exact } = disagreements(replayed, recorded, BigInt(base));
    expect(main).toBeGreaterThan(100);
    expect(exact).toBeGreaterThan(100);
    expect(wrong).toBe(0);
    // With the break free (brk_blocked_at=0), the model grows the heap in place: not where the program had it.
    const unblocked = disagreements(replay(trace, "--option", "brk_blocked_at=0"), recorded, BigInt(base));
    expect(unblocked.main).toBe(0);
    expect(unblocked.wrong).toBeGreaterThan(100);
  });
});
