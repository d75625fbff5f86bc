// Multi-threaded traces on real threads: the native replayer runs one pthread per trace thread in lockstep (file
// order), so glibc gives every thread its own arena deterministically; the model runs an arena per thread.
// Every line must be identical, arena lines included.

import { afterAll, describe, expect, it } from "vitest";
import { oracleUnavailable, runNative, sharedTraces, sharedTracesMissing } from "../oracle/native.js";
import {
  firstDifference, glibcTunables, kernelPlacedByRegion, modelAddressLines, modelUnavailable, TIMEOUT,
} from "./compare.js";
import { enabled, record, title, writeStatus } from "./status.js";

const CONFIGS = [
  { name: "default", tunables: "" },
  { name: "tcache_count=0", tunables: "tcache_count=0" },
  { name: "mmap_threshold=65536", tunables: "mmap_threshold=65536" },
];

const skip = oracleUnavailable() ?? sharedTracesMissing() ?? modelUnavailable("ptmalloc");
if (skip) console.warn(`skipping ptmalloc thread differential tests: ${skip}`);

describe.skipIf(skip)("ptmalloc model (arena per thread) vs glibc 2.36 on real threads", () => {
  afterAll(() => writeStatus("ptmalloc-threads"));
  for (const trace of sharedTraces().filter((t) => t.threads > 1)) {
    for (const config of CONFIGS) {
      const id = `ptmalloc-threads/${trace.name}/${config.name}`;
      it.skipIf(!enabled(id))(title(id), async () => {
        const tunables = glibcTunables(config.tunables);
        const native = await runNative(trace.path, { tunables, threads: "real" });
        const model = await modelAddressLines(trace.path, {
          model: "ptmalloc", tunables, threads: "arena", heapBase: native.heapBase,
        });
        // mmap lines and later arena heaps by region: the kernel places them (see kernelPlacedByRegion).
        const difference = firstDifference(kernelPlacedByRegion(native.lines), kernelPlacedByRegion(model));
        record(id, difference);
        expect(difference).toBeNull();
      }, TIMEOUT);
    }
  }
});
