// mallinfo2() after every single operation of generated traces: the ptmalloc model, driven call by call through
// the lab's interactive API, against glibc 2.36 (the native replayer's --mallinfo lines).

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { type Mallinfo, oracleUnavailable, runNativeText } from "../oracle/native.js";
import { CONFIGS, glibcTunables, LONG, modelUnavailable, SEED, TIMEOUT } from "./compare.js";
import { traceText } from "./gen.js";
import { enabled, record, title, writeStatus } from "./status.js";

type Lab = Awaited<ReturnType<typeof import("../../src/lab/lab.js").createLab>>;

/** Runs one trace line on the lab; `live` maps trace addresses to the model's. */
function step(lab: Lab, fields: string[], live: Map<string, number>): void {
  const n = (i: number): number => Number(fields[i]);
  const bind = (address: number): void => {
    if (address !== 0) live.set(fields[fields.length - 1], address);
  };
  switch (fields[2]) {
    case "m": bind(lab.malloc(n(3))); break;
    case "c": bind(lab.calloc(n(3), n(4))); break;
    case "a": bind(lab.memalign(n(3), n(4))); break;
    case "A": bind(lab.alignedAlloc(n(3), n(4))); break;
    case "P": bind(lab.posixMemalign(n(3), n(4))); break;
    case "v": bind(lab.valloc(n(3))); break;
    case "V": bind(lab.pvalloc(n(3))); break;
    case "t": lab.trim(n(3)); break;
    case "f": {
      const p = fields[3] === "0x0" ? 0 : live.get(fields[3]);
      if (p === undefined) break;
      live.delete(fields[3]);
      lab.free(p);
      break;
    }
    case "r": {
      const old = fields[3] === "0x0" ? 0 : live.get(fields[3]);
      if (old === undefined) break;
      live.delete(fields[3]);
      bind(lab.realloc(old, n(4)));
      break;
    }
  }
}

/** The first op after which the model's mallinfo2 differs from glibc's, or null. */
async function mallinfoDeparture(text: string, tunables: string): Promise<string | null> {
  const native = await runNativeText(text, { tunables: tunables || undefined, threads: "merge", mallinfo: true });
  const { createLab } = await import("../../src/lab/lab.js");
  const lab = await createLab({
    model: "ptmalloc", tunables: tunables || undefined, options: { heap_base: native.heapBase },
  });
  const live = new Map<string, number>();
  const ops = text.split("\n").filter((l) => l !== "" && l[0] !== "#");
  for (let i = 0; i < ops.length; i++) {
    step(lab, ops[i].split(" "), live);
    const stats = lab.stats();
    const real: Mallinfo = native.mallinfo[i];
    for (const name of ["arena", "hblkhd", "uordblks", "fordblks"] as const) {
      if (stats[name] !== real[name]) return `after \`${ops[i]}\`: ${name} real ${real[name]}, model ${stats[name]}`;
    }
  }
  return null;
}

const skip = oracleUnavailable() ?? modelUnavailable("ptmalloc");
if (skip) console.warn(`skipping per-op mallinfo differential tests: ${skip}`);

describe.skipIf(skip)(`ptmalloc model: mallinfo2 after every op of generated traces (seed ${SEED})`, () => {
  afterAll(() => writeStatus("mallinfo"));
  for (const config of LONG ? CONFIGS : CONFIGS.slice(0, 2)) {
    const id = `mallinfo/generated/${config.name}`;
    it.skipIf(!enabled(id))(title(id), async () => {
      const tunables = glibcTunables(config.tunables);
      const result = await fc.check(
        fc.asyncProperty(traceText(LONG ? 1000 : 150), async (text) => {
          return (await mallinfoDeparture(text, tunables)) === null;
        }),
        { numRuns: LONG ? 200 : 15, seed: SEED },
      );
      if (!result.failed) {
        record(id, null);
        return;
      }
      const shrunk = (result.counterexample?.[0] as string | undefined) ?? "";
      const difference = await mallinfoDeparture(shrunk, tunables);
      record(id, `${difference} (seed ${SEED})`);
      expect.fail(`seed ${SEED}: ${difference}\nshrunk trace (${shrunk.split("\n").length - 2} ops):\n${shrunk}`);
    }, TIMEOUT);
  }
});
