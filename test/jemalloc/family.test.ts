// The rest of the malloc family against the real library: valloc, posix_memalign (refused alignments too),
// aligned_alloc and memalign up to 1 MiB alignment, calloc, realloc to 0 and from NULL, malloc(0), a realloc
// that moves a large block, and malloc_trim (glibc's: jemalloc 5.3.0 has none, nor pvalloc, left out here).

import { describe, expect, it } from "vitest";
import { modelUnavailable } from "../differential/compare.js";
import { firstDifference, jemallocUnavailable, runModel, runReal, statDifferences, traceFile } from "./real.js";

const skip = jemallocUnavailable() ?? modelUnavailable("jemalloc");

const TRACE = `# alloc-trace v1 pid=1 ppid=1 exe=generated
1 1 v 100 0x1000
3 1 P 12 100 0x0
4 1 P 64 100 0x3000
5 1 A 4096 5000 0x4000
6 1 A 65536 100 0x5000
7 1 a 3 100 0x0
9 1 c 10 10 0x6000
10 1 r 0x6000 0 0x0
11 1 r 0x0 50 0x7000
12 1 t 0 0
13 1 m 0 0x8000
14 1 a 1048576 20000 0x9000
15 1 A 8192 100000 0xa000
16 1 r 0x9000 3000000 0xb000
17 1 a 32 33 0xc000
18 1 t 64 0
19 1 v 20000 0xe000
20 1 f 0xb000
21 1 f 0xa000
22 1 r 0xe000 40000 0xf000
`;

describe.skipIf(skip)("jemalloc model, the malloc family", () => {
  it("agrees with jemalloc 5.3.0 call for call", async () => {
    const path = traceFile(TRACE);
    const real = await runReal(path);
    const model = await runModel(path, real);
    expect(real.lines).toHaveLength(18);
    expect(firstDifference(real.lines, model.lines)).toBeNull();
    expect(statDifferences(real.stats, model.stats)).toEqual([]);
  }, 60_000);
});
