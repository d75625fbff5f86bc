// `heaplab compare <trace> --model M --model M … [--tunables T] [--json]`

import { parseTunables } from "../lab/model.js";
import { compareReplays, contestantName, formatComparison, parseContestant } from "../report/compare.js";
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
      json: { type: "boolean" },
      ...HELP_OPTION,
    },
  });
  const exit = helpExit(values.help, positionals.length === 1, HELP);
  if (exit !== null) return exit;
  const shared = values.tunables ? parseTunables(values.tunables) : {};
  const contestants = (values.model ?? MODEL_NAMES).map((m) => parseContestant(m, shared));
  const reports = await compareReplays(await rereadableInput(positionals[0]), contestants, {
    threads: threadsArg(values.threads), lenient: values.lenient, costs: values.cost ?? [], every: 0,
  });
  const names = contestants.map(contestantName);
  console.log(values.json ? JSON.stringify(reports, null, 2) : formatComparison(reports, names, colourFor(process.stdout)));
  return 0;
}
