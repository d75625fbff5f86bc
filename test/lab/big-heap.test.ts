// A simulated heap costs only the frames the model writes: a brk heap of gigabytes (glibc grows the break for
// every request when mmap is off) replays in bounded memory and lands where the real glibc does.

import { describe, expect, it } from "vitest";
import { addressLines } from "../../src/lab/addresses.js";
import { oracleUnavailable, runNativeText } from "../oracle/native.js";

const GiB = 2 ** 30;
const tunables = "glibc.malloc.mmap_max=0";
const trace = ["# alloc-trace v1 pid=9 ppid=1 exe=big",
  `1 9 m ${GiB} 0x1000`, `2 9 m 24 0x2000`, `3 9 m ${GiB} 0x3000`, `4 9 f 0x1000`, `5 9 m ${2 * GiB} 0x4000`,
  `6 9 m ${GiB / 2} 0x5000`, "7 9 f 0x3000", "8 9 t 0 1", ""].join("\n");

describe.skipIf(oracleUnavailable())("a multi-gigabyte brk heap", () => {
  it("replays in the model's memory and matches glibc address for address", async () => {
    const model = await addressLines(new TextEncoder().encode(trace), { tunables });
    const native = await runNativeText(trace, { tunables });
    expect(model).toEqual(native.lines);
    expect(model.filter((l) => l.includes("heap+")).length).toBe(5);
  });
});
