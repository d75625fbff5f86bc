// A campaign, off by default (JEMALLOC_ROUNDS=N runs it): records the threaded "rounds" program N times — its
// threads interleave differently in each recording — and replays each on the real jemalloc 5.3.0 and the model,
// on one thread and on one thread per trace thread. Every address line and the stats.* totals must agree.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { recordProcess } from "../../src/cli/record.js";
import { modelUnavailable } from "../differential/compare.js";
import { ROUNDS_C, recordingUnavailable } from "../ptmalloc/realprog.js";
import { firstDifference, jemallocUnavailable, runModel, runReal, statDifferences } from "./real.js";

const runs = Number(process.env.JEMALLOC_ROUNDS ?? 0);
const skip = runs > 0 ? jemallocUnavailable() ?? modelUnavailable("jemalloc") ?? recordingUnavailable() : "JEMALLOC_ROUNDS unset";

describe.skipIf(skip)("jemalloc model vs jemalloc 5.3.0 on many recordings of a threaded program", () => {
  it(`${runs} recordings of rounds`, { timeout: 0 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "heaplab-rounds-"));
    try {
      writeFileSync(join(dir, "rounds.c"), ROUNDS_C);
      const cc = spawnSync("cc", ["-O2", "-o", join(dir, "rounds"), join(dir, "rounds.c"), "-lpthread"], { encoding: "utf8" });
      expect(cc.status, cc.stderr).toBe(0);
      const failures: string[] = [];
      for (let i = 0; i < runs; i++) {
        const trace = join(dir, `rounds-${i}.trace`);
        expect(await recordProcess([join(dir, "rounds")], trace)).toBe(0);
        for (const threads of ["merge", "real"] as const) {
          const real = await runReal(trace, "", threads);
          const model = await runModel(trace, real, {}, threads === "real" ? "arena" : "merge");
          const diff = firstDifference(real.lines, model.lines);
          const stats = statDifferences(real.stats, model.stats);
          if (diff || stats.length) {
            const kept = join(tmpdir(), `heaplab-rounds-divergent-${i}-${threads}.trace`);
            writeFileSync(kept, spawnSync("cat", [trace]).stdout);
            failures.push(`${i} ${threads}: ${diff ?? stats.join("; ")} (kept in ${kept})`);
          }
        }
      }
      expect(failures).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
