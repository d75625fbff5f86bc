// The ptmalloc model against the real glibc 2.36 on the shared traces of real programs: every address line must
// be identical, under the default tunables and the configurations below. Multi-threaded traces are replayed
// here with every op on one thread (glibc: the main thread; the model: --threads merge); see
// ptmalloc-threads.test.ts for real threads.

import { afterAll, describe, expect, it } from "vitest";
import { oracleUnavailable, runNative, sharedTraces, sharedTracesMissing } from "../oracle/native.js";
import {
  BIG_TRACE_OPS, CONFIGS, firstDifference, glibcTunables, kernelPlacedByRegion, LONG, modelAddressLines,
  modelUnavailable, SHORT_LIST, TIMEOUT,
} from "./compare.js";
import { enabled, record, title, writeStatus } from "./status.js";

const skip = oracleUnavailable() ?? sharedTracesMissing() ?? modelUnavailable("ptmalloc");
if (skip) console.warn(`skipping ptmalloc trace differential tests: ${skip}`);

describe.skipIf(skip)("ptmalloc model vs glibc 2.36 on recorded traces", () => {
  afterAll(() => writeStatus("ptmalloc-traces"));
  for (const trace of sharedTraces()) {
    for (const config of CONFIGS) {
      if (trace.ops > BIG_TRACE_OPS && !LONG && !SHORT_LIST.has(config.name)) continue;
      const id = `ptmalloc-traces/${trace.name}/${config.name}`;
      it.skipIf(!enabled(id))(title(id), async () => {
        const tunables = glibcTunables(config.tunables);
        const native = await runNative(trace.path, { tunables, threads: "merge" });
        const model = await modelAddressLines(trace.path, {
          model: "ptmalloc", tunables, threads: "merge", heapBase: native.heapBase,
        });
        const difference = firstDifference(kernelPlacedByRegion(native.lines), kernelPlacedByRegion(model));
        record(id, difference);
        expect(difference).toBeNull();
      }, TIMEOUT);
    }
  }
});
