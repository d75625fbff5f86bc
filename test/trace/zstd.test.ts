// zstd input (heaptrack's default, and `zstd` on any trace): decoded in JavaScript, from a file, a pipe or memory,
// text or binary, with a one-line error for a cut stream. The fixtures are examples/ls-la.trace and its binary
// conversion, compressed by zstd 1.5.
//
// They were made with: zstd -c examples/ls-la.trace > ls-la.trace.zst; heaplab convert examples/ls-la.trace -o
// ls-la.hlb && zstd ls-la.hlb -o ls-la.hlb.zst

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openTrace } from "../../src/trace/detect.js";
import { repoRoot } from "../oracle/native.js";
import { heaplab } from "../cli/run.js";

const example = join(repoRoot, "examples", "ls-la.trace");
const fixture = (name: string): string => join(repoRoot, "test", "trace", "fixtures", name);
let addresses: string;

beforeAll(() => {
  addresses = heaplab(["replay", example, "--addresses"]).stdout;
  expect(addresses.split("\n").length).toBeGreaterThan(300);
});

describe("zstd input", () => {
  for (const name of ["ls-la.trace.zst", "ls-la.hlb.zst"]) {
    it(`${name}: replays as the plain trace does, from the file and from standard input`, () => {
      expect(heaplab(["replay", fixture(name), "--addresses"])).toEqual({ status: 0, stdout: addresses, stderr: "" });
      expect(heaplab(["replay", "-", "--addresses"], { input: readFileSync(fixture(name)) }))
        .toEqual({ status: 0, stdout: addresses, stderr: "" });
    });
  }

  it("is sniffed from the decoded bytes, in memory as from a file", async () => {
    const trace = await openTrace(new Uint8Array(readFileSync(fixture("ls-la.hlb.zst"))));
    expect(trace.header.format).toBe("binary");
    let ops = 0;
    for await (const batch of trace.batches()) ops += batch.length;
    expect(ops).toBe(692);
  });

  it("a cut stream is one line naming the file, exit 1", () => {
    const cut = join(mkdtempSync(join(tmpdir(), "heaplab-zstd-")), "cut.trace.zst");
    writeFileSync(cut, readFileSync(fixture("ls-la.trace.zst")).subarray(0, 300));
    const r = heaplab(["replay", cut]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^heaplab: .*cut\.trace\.zst: corrupt or truncated zstd data \(.+\)\n$/);
  });
});
