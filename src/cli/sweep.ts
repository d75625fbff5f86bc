// `heaplab sweep <trace> --model M --vary name=v1,v2,… [--vary …] [--rank path] [--jobs N] [--json]`

import { parseArgs } from "node:util";
import { parseTunables } from "../lab/model.js";
import type { ModelName } from "../lab/types.js";
import { formatSweep, parseVariation, rank, sweep, sweepRecord } from "../report/sweep.js";
import { HELP_OPTION, MODEL_OPTIONS, REPLAY_OPTIONS, THREADS_HELP, threadsArg } from "./args.js";
import { modelHelp, tunablesHelp } from "../models/index.js";

export const HELP = `usage: heaplab sweep <trace> --model M --vary name=v1,v2,… [--vary …] [options]

  --model M                   ${modelHelp()}
  --vary name=v1,v2,…         a tunable or option and its values; every combination is replayed; repeatable
  --tunables T                tunables every combination shares (${tunablesHelp()})
  --rank path                 the report metric to rank by (default footprint.peak; e.g. fragmentation.johnstoneWilson.3)
  --descending                rank the largest value first (for utilization-like metrics)
  --jobs N                    worker threads (default: the available parallelism)
${THREADS_HELP}
  --lenient                   skip and count double frees and malformed lines
  --json                      one JSON line per combination, ranked, instead of the table`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...MODEL_OPTIONS,
      vary: { type: "string", multiple: true },
      rank: { type: "string", default: "footprint.peak" },
      descending: { type: "boolean" },
      jobs: { type: "string" },
      ...REPLAY_OPTIONS,
      json: { type: "boolean" },
      ...HELP_OPTION,
    },
  });
  if (values.help || positionals.length !== 1 || !values.vary?.length) {
    console.log(HELP);
    return values.help ? 0 : 2;
  }
  const workers = values.jobs === undefined ? undefined : Number(values.jobs);
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 0)) throw new Error("--jobs: a whole number");
  const variations = values.vary.map(parseVariation);
  const results = await sweep(positionals[0], variations, {
    model: values.model as ModelName,
    base: values.tunables ? parseTunables(values.tunables) : {},
    workers,
    threads: threadsArg(values.threads),
    lenient: values.lenient,
    every: 0,
  });
  const ranked = rank(results, values.rank, values.descending);
  if (values.json) for (const r of ranked) console.log(JSON.stringify(sweepRecord(r, values.rank)));
  else console.log(formatSweep(ranked, variations, values.rank));
  return 0;
}
