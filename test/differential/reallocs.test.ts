// Reallocs the trace cannot explain follow one rule each, the same in heaplab and in the native replayer
// (src/lab/replay.ts): a realloc of an address the trace never allocated is skipped whatever its size, a realloc
// the trace shows failing is replayed (its block follows where the replay puts it), and each is counted.

import { describe, expect, it } from "vitest";
import { createLab } from "../../src/lab/lab.js";
import { addressLines } from "../../src/lab/addresses.js";
import { readAllocTrace } from "../../src/trace/alloc-trace.js";
import { oracleUnavailable, runNativeText, tcmallocUnavailable } from "../oracle/native.js";
import { firstDifference, runModel, traceFile } from "../tcmalloc/real.js";

const text = [
  "# alloc-trace v1 pid=9 ppid=1 exe=reallocs",
  "1 9 m 100 0x1000",
  "2 9 r 0x9000 200 0x9100",
  "3 9 r 0x9200 0 0x0",
  "4 9 r 0x1000 3000 0x0",
  "5 9 m 50 0x2000",
  "6 9 f 0x1000",
  "7 9 m 3000 0x3000",
  "8 9 f 0x9100",
  "9 9 r 0x2000 42949672961 0x0",
  "10 9 f 0x2000",
  "11 9 m 50 0x4000",
  "12 9 r 0x3000 5000 0x5000",
  "13 9 m 3000 0x6000",
  "",
].join("\n");
const bytes = new TextEncoder().encode(text);

describe("reallocs the trace cannot explain", () => {
  it("are counted by rule in the replay summary", async () => {
    const lab = await createLab({ metrics: false });
    const summary = await lab.replay(readAllocTrace(bytes));
    expect(summary).toMatchObject({ unknownReallocs: 1, unknownFrees: 2, failedReallocs: 2 });
  });

  it.skipIf(oracleUnavailable())("replay as on glibc, line for line", async () => {
    const native = await runNativeText(text);
    const model = await addressLines(bytes);
    expect(model).toEqual(native.lines);
    // The recorded failure at line 4 succeeds here; the free at line 6 frees the moved block, which line 7 reuses.
    expect(native.lines.map((l) => l.split(" ")[0])).toEqual(["1", "4", "5", "7", "9", "11", "12", "13"]);
    expect(native.lines[3].split(" ")[3]).toBe(native.lines[1].split(" ")[3]);
  });

  it.skipIf(tcmallocUnavailable())("replay as on TCMalloc, line for line", async () => {
    const native = await runNativeText(text, { allocator: "tcmalloc" });
    const model = await runModel(traceFile(text), native.heapBase);
    expect(firstDifference(native.lines, model.lines)).toBeNull();
  });
});
