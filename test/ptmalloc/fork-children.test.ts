// Forked children recorded live: a shell script and `make -j2`. A child's recording starts with the heap it
// inherited (it frees and reallocs its parent's blocks), so `heaplab replay child.trace` replays the ancestors named
// by its `# fork-of` line up to their fork first. Every child must then replay to its own recorded addresses.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordedFiles, recordProcess } from "../../src/cli/record.js";
import { kernelPlacedByRegion } from "../differential/compare.js";
import { recordedAddressLines, recordedHeapBase, recordingUnavailable } from "./realprog.js";

const cli = join(__dirname, "..", "..", "dist", "cli", "main.js");

function replay(path: string, ...args: string[]): string[] {
  return execFileSync(process.execPath, [cli, "replay", path, "--addresses", ...args], { maxBuffer: 1 << 26 })
    .toString().split("\n").filter(Boolean);
}

const SCRIPT = `
words=""
for i in 1 2 3 4 5 6; do
  words="$words $(echo word$i)"
  ( x=$(printf '%s' "$words"); y="$x$x"; : "$y" )
done
echo "$words" | while read a b c; do z="$a$b$c"; done
f() { local v="$1$1$1"; echo "$v"; }
out=$(f abc)
`;

const MAKEFILE = `
all: a b c d
a b c d:
\t@x=$$(echo $@); (y="$$x$$x"; : "$$y")
\t@for i in 1 2 3; do (echo $@$$i) > /dev/null; done
`;

interface Child {
  path: string;
  forkOf: { file: string; seq: number };
}

function forkOf(path: string): Child["forkOf"] | undefined {
  const m = /^# fork-of (\S+) (\d+)$/m.exec(readFileSync(path, "latin1").slice(0, 8192));
  return m ? { file: m[1], seq: Number(m[2]) } : undefined;
}

/** The child's recorded lines, its inherited blocks taken from its ancestors up to their forks. */
function expectedLines(child: Child): string[] {
  const chain: Array<{ path: string; seq: number }> = [];
  let at: { path: string; seq: number } | undefined = { path: resolve(dirname(child.path), child.forkOf.file), seq: child.forkOf.seq };
  while (at) {
    chain.unshift(at);
    const up = forkOf(at.path);
    at = up && { path: resolve(dirname(at.path), up.file), seq: up.seq };
  }
  const base = recordedHeapBase(chain[0].path);
  const live = new Set<string>();
  for (const a of chain) recordedAddressLines(a.path, { base, live, untilSeq: a.seq, quiet: true });
  return recordedAddressLines(child.path, { base, live });
}

const skip = recordingUnavailable();
const dir = skip ? "" : mkdtempSync(join(tmpdir(), "heaplab-fork-"));
const children = new Map<string, Child[]>();

describe.skipIf(skip)("forked children replay to their own recorded addresses", () => {
  beforeAll(async () => {
    writeFileSync(join(dir, "script.sh"), SCRIPT);
    writeFileSync(join(dir, "Makefile"), MAKEFILE);
    for (const [name, command] of [
      ["sh", ["dash", join(dir, "script.sh")]],
      ["make", ["make", "-s", "-j2", "-C", dir, "-f", join(dir, "Makefile")]],
    ] as const) {
      const output = join(dir, `${name}.trace`);
      const started = Date.now();
      // Every record written through: children end with _exit, which does not flush the recorder's buffer.
      expect(await recordProcess([...command], output, { flush: 1 })).toBe(0);
      const found: Child[] = [];
      for (const f of recordedFiles(output, started)) {
        const parent = forkOf(f.path);
        if (parent) found.push({ path: f.path, forkOf: parent });
      }
      children.set(name, found);
    }
  }, 120_000);
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  for (const name of ["sh", "make"]) {
    it(`${name}: every forked child`, () => {
      const list = children.get(name) ?? [];
      expect(list.length).toBeGreaterThanOrEqual(name === "sh" ? 6 : 4);
      let aloneDiffers = 0;
      for (const [i, child] of list.entries()) {
        const expected = expectedLines(child);
        const printed = replay(child.path);
        expect(kernelPlacedByRegion(printed), child.path).toEqual(expected);
        if (i >= 3) continue;
        // Without its ancestors (the fork-of line taken out), the child replays from an empty heap.
        const orphan = `${child.path}.orphan`;
        writeFileSync(orphan, readFileSync(child.path, "latin1").replace(/^# fork-of .*\n/m, ""), "latin1");
        const alone = kernelPlacedByRegion(replay(orphan));
        if (JSON.stringify(alone) !== JSON.stringify(recordedAddressLines(child.path))) aloneDiffers++;
        // --after names the parent explicitly, to the same effect.
        const parent = resolve(dirname(child.path), child.forkOf.file);
        expect(replay(orphan, "--after", `${parent}@${child.forkOf.seq}`)).toEqual(printed);
      }
      // The children do depend on what they inherited: replayed alone, they part from their recorded addresses.
      expect(aloneDiffers).toBeGreaterThan(0);
    }, 300_000);
  }
});
