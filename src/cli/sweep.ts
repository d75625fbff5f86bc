// `heaplab sweep <trace> --model M --vary name=v1,v2,… [--vary …] [--rank path] [--jobs N] [--json]`

import { parseTunables } from "../lab/model.js";
import type { ModelName } from "../lab/types.js";
import {
  checkRankPath, combinationCount, formatSweep, parseVariations, rank, sweep, sweepHeader, sweepRecord,
} from "../report/sweep.js";
import { createProgress } from "../trace/progress.js";
import {
  HELP_OPTION, MODEL_OPTIONS, REPLAY_OPTIONS, THREADS_HELP, UsageError, asUsage, integerArg, nearest, parseCommandArgs,
  threadsArg,
} from "./args.js";
import { modelHelp, tunablesHelp } from "../models/index.js";

/** Each combination replays the whole trace in its own wasm instance: a grid this large is usually a typo. */
export const DEFAULT_MAX_RUNS = 256;

export const HELP = `usage: heaplab sweep <trace> --model M --vary name=v1,v2,… [--vary …] [options]

  --model M                   ${modelHelp()}
  --vary name=v1,v2,…         a tunable or option and its values; every combination is replayed; repeatable
  --tunables T                tunables every combination shares: ${tunablesHelp()}
  --rank path                 the report metric to rank by (default footprint.peak; e.g. fragmentation.johnstoneWilson.3)
  --descending                rank the largest value first (for utilization-like metrics)
  --jobs N                    worker threads (default: the available parallelism; 0: in this thread)
  --max-runs N                refuse a grid of more than N combinations (default ${DEFAULT_MAX_RUNS})
${THREADS_HELP}
  --lenient                   skip and count double frees and malformed lines
  --json                      one JSON line per combination, ranked, instead of the table`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...MODEL_OPTIONS,
      vary: { type: "string", multiple: true },
      rank: { type: "string", default: "footprint.peak" },
      descending: { type: "boolean" },
      jobs: { type: "string" },
      "max-runs": { type: "string" },
      ...REPLAY_OPTIONS,
      json: { type: "boolean" },
      ...HELP_OPTION,
    },
  });
  if (values.help || positionals.length !== 1 || !values.vary?.length) {
    console.log(HELP);
    return values.help ? 0 : 2;
  }
  // Every combination reads the trace afresh, in a worker of its own: a stream read once cannot serve them.
  if (positionals[0] === "-") throw new UsageError("sweep reads its trace once per combination: give a file, not -");
  const workers = integerArg("jobs", values.jobs, { max: 1024 });
  const maxRuns = integerArg("max-runs", values["max-runs"], { min: 1 }, DEFAULT_MAX_RUNS)!;
  const variations = asUsage(() => parseVariations(values.vary!));
  const runs = combinationCount(variations);
  if (runs > maxRuns) {
    const grid = variations.map((v) => v.values.length).join(" × ");
    throw new UsageError(`--vary: ${grid} = ${runs} combinations, more than --max-runs ${maxRuns}; vary fewer values or raise it`);
  }
  const model = values.model as ModelName;
  const threads = threadsArg(values.threads);
  const base = values.tunables ? parseTunables(values.tunables) : {};
  await asUsage(() => checkRankPath(values.rank, model, nearest));
  const progress = createProgress("sweep", { total: runs, unit: "runs" });
  progress.tick(0);
  let results;
  try {
    results = await sweep(positionals[0], variations, {
      model, base, workers, threads, lenient: values.lenient, every: 0, onResult: () => progress.tick(1),
    });
  } finally {
    progress.done();
  }
  const ranked = rank(results, values.rank, values.descending);
  if (values.json) for (const r of ranked) console.log(JSON.stringify(sweepRecord(r, values.rank)));
  else {
    const trace = positionals[0].split("/").pop()!;
    console.log(`${sweepHeader(trace, model, runs, values.rank, values.descending)}\n\n${formatSweep(ranked, variations, values.rank)}`);
  }
  return 0;
}
