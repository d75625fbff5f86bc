// A forked child replayed by the lab: `lab.replay(child)` replays the ancestors its `# fork-of` line names, each up
// to its fork, before the child, so the child's frees and reallocs of inherited blocks land on the heap it had.
// `after` names the parent instead; `forkOf: false` replays the child alone. `render --after` does the same.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run as render } from "../../src/cli/render.js";
import { createLab } from "../../src/lab/lab.js";
import type { ChunkRow } from "../../src/lab/types.js";

const dir = mkdtempSync(join(tmpdir(), "heaplab-fork-replay-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A parent that allocates, forks after seq 6 (and goes on), a child that frees, reallocs and allocates. */
const PARENT = ["# alloc-trace v1 pid=10 ppid=1 exe=parent", "1 10 m 100 0x1000", "2 10 m 2000 0x2000",
  "3 10 m 300 0x3000", "4 10 f 0x1000", "5 10 m 50000 0x4000", "6 10 m 40 0x5000", "7 10 m 700 0x6000",
  "8 10 f 0x2000", ""].join("\n");
const CHILD = ["# alloc-trace v1 pid=11 ppid=10 exe=child", "# fork-of parent.trace 6", "1 11 f 0x3000",
  "2 11 r 0x2000 5000 0x7000", "3 11 m 280 0x8000", "4 11 m 90 0x9000", "5 11 f 0x4000", "6 11 m 60000 0xa000", ""]
  .join("\n");
/** The child's own child, forked after its seq 3. */
const GRANDCHILD = ["# alloc-trace v1 pid=12 ppid=11 exe=grandchild", "# fork-of child.trace 3", "1 12 f 0x8000",
  "2 12 r 0x7000 9000 0xb000", "3 12 m 270 0xc000", ""].join("\n");

const path = (name: string): string => join(dir, name);
writeFileSync(path("parent.trace"), PARENT);
writeFileSync(path("child.trace"), CHILD);
writeFileSync(path("grandchild.trace"), GRANDCHILD);
writeFileSync(path("orphan.trace"), CHILD.replace(/^# fork-of .*\n/m, ""));

const layout = (chunks: ChunkRow[]): string[] => chunks.map((c) => `${c.address} ${c.size} ${c.state}`);

/** The heap after replaying each [trace, seq] in turn into one lab, ancestors by hand. */
async function byHand(steps: Array<[string, number?]>): Promise<string[]> {
  const lab = await createLab();
  for (const [name, seq] of steps) await lab.replay(path(name), { untilSeq: seq, forkOf: false });
  return layout(lab.chunks());
}

describe("lab.replay of a forked child", () => {
  it("replays the parent up to its fork first, as by hand, and differs from the child alone", async () => {
    const lab = await createLab();
    const summary = await lab.replay(path("child.trace"));
    expect(layout(lab.chunks())).toEqual(await byHand([["parent.trace", 6], ["child.trace"]]));
    expect(summary.unknownFrees + summary.unknownReallocs).toBe(0);
    const alone = await createLab();
    const orphan = await alone.replay(path("child.trace"), { forkOf: false });
    expect(orphan.unknownFrees + orphan.unknownReallocs).toBeGreaterThan(0);
    expect(layout(alone.chunks())).not.toEqual(layout(lab.chunks()));
  });

  it("follows the chain: a grandchild replays its grandparent, then its parent, each up to its fork", async () => {
    const lab = await createLab();
    const summary = await lab.replay(path("grandchild.trace"));
    expect(summary.unknownFrees + summary.unknownReallocs).toBe(0);
    expect(layout(lab.chunks())).toEqual(await byHand([["parent.trace", 6], ["child.trace", 3], ["grandchild.trace"]]));
  });

  it("`after` names the parent of a child without a fork-of line", async () => {
    const lab = await createLab();
    await lab.replay(path("orphan.trace"), { after: `${path("parent.trace")}@6` });
    expect(layout(lab.chunks())).toEqual(await byHand([["parent.trace", 6], ["orphan.trace"]]));
    await expect(lab.replay(path("orphan.trace"), { after: "parent.trace" })).rejects.toThrow(/@<sequence number>/);
  });

  it("`until` counts the child's operations", async () => {
    const lab = await createLab();
    await lab.replay(path("child.trace"), { until: 2 });
    const expected = await createLab();
    await expected.replay(path("parent.trace"), { untilSeq: 6, forkOf: false });
    await expected.replay(path("child.trace"), { until: 6 + 2, forkOf: false });
    expect(layout(lab.chunks())).toEqual(layout(expected.chunks()));
  });

  it("a lab that has replayed already takes the child as it comes", async () => {
    const lab = await createLab();
    await lab.replay(path("parent.trace"), { untilSeq: 6 });
    await lab.replay(path("child.trace"));
    expect(layout(lab.chunks())).toEqual(await byHand([["parent.trace", 6], ["child.trace"]]));
  });

  it("a loop of fork-of lines is an error naming the trace", async () => {
    writeFileSync(path("loop.trace"), "# alloc-trace v1 pid=13 ppid=13 exe=loop\n# fork-of loop.trace 1\n1 13 m 10 0x1\n");
    const lab = await createLab();
    await expect(lab.replay(path("loop.trace"))).rejects.toThrow(/loop of fork-of lines/);
  });
});

describe("heaplab render of a forked child", () => {
  const rects = (file: string): string[] =>
    [...readFileSync(file, "utf8").matchAll(/<rect[^>]*class="chunk"[^>]*data-address="(0x[0-9a-f]+)"/g)].map((m) => m[1]);

  it("draws the heap the child had: its fork-of line, or --after, and not the child alone", async () => {
    expect(await render([path("child.trace"), "-o", path("child.svg")])).toBe(0);
    expect(await render([path("orphan.trace"), "--after", `${path("parent.trace")}@6`, "-o", path("after.svg")])).toBe(0);
    const lab = await createLab();
    await lab.replay(path("child.trace"));
    expect(rects(path("child.svg"))).toEqual(lab.chunks().map((c) => `0x${c.address.toString(16)}`));
    expect(rects(path("after.svg"))).toEqual(rects(path("child.svg")));
    expect(await render([path("orphan.trace"), "-o", path("orphan.svg")])).toBe(0);
    expect(rects(path("orphan.svg"))).not.toEqual(rects(path("child.svg")));
  });
});
