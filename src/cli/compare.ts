// `heaplab compare <trace> --model M --model M … [--tunables T] [--timings] [--json]`

import { parseTunables } from "../lab/model.js";
import type { Report } from "../report/report.js";
import { compareReplays, contestantName, formatComparison, formatTimings, parseContestant } from "../report/compare.js";
import { createProgress } from "../trace/progress.js";
import { rereadableInput } from "./open.js";
import { HELP_OPTION, REPLAY_OPTIONS, THREADS_HELP, colourFor, helpExit, parseCommandArgs, threadsArg } from "./args.js";
import { DEFAULT_MODEL, MODEL_NAMES, MODELS, modelList } from "../models/index.js";

export const HELP = `usage: heaplab compare <trace> --model M [--model M …] [options]     (<trace> - : standard input)

  --model M[:T]               a model, optionally with its own tunables (${DEFAULT_MODEL}:${MODELS[DEFAULT_MODEL].tunables.example});
                              repeatable, the same model may appear with different tunables (default: every model):${modelList()}
  --tunables T                tunables for every model they belong to (each model's own namespace, other names to all)
${THREADS_HELP}
  --lenient                   skip and count double frees and malformed lines
  --cost name=ns              override the cost model (call, syscall, lock); repeatable
  --timings                   also show how long each replay took on this machine (apart: not deterministic)
  --json                      the reports as one JSON array`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: "string", multiple: true },
      tunables: { type: "string" },
      ...REPLAY_OPTIONS,
      cost: { type: "string", multiple: true },
      timings: { type: "boolean" },
      json: { type: "boolean" },
      ...HELP_OPTION,
    },
  });
  const exit = helpExit(values.help, positionals.length === 1, HELP);
  if (exit !== null) return exit;
  const shared = values.tunables ? parseTunables(values.tunables) : {};
  const contestants = (values.model ?? MODEL_NAMES).map((m) => parseContestant(m, shared));
  const input = await rereadableInput(positionals[0]);
  const names = contestants.map(contestantName);
  const reports: Report[] = [];
  // One replay after the other, each with its own progress line on a terminal.
  for (const [i, c] of contestants.entries()) {
    const progress = createProgress(`compare ${names[i]} (${i + 1}/${contestants.length})`);
    try {
      reports.push(...await compareReplays(input, [c], {
        threads: threadsArg(values.threads), lenient: values.lenient, costs: values.cost ?? [], every: 0,
        observe: (_batch, from, to) => progress.tick(to - from),
      }));
    } finally {
      progress.done();
    }
  }
  if (values.json) console.log(JSON.stringify(reports, null, 2));
  else {
    console.log(formatComparison(reports, names, colourFor(process.stdout)));
    if (values.timings) console.log(`\n${formatTimings(reports, names)}`);
  }
  return 0;
}
