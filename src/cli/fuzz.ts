// `heaplab fuzz --model M [--runs N] [--seed S] [--tunables T] [--ops N] [--max-threads N] [-o FILE]`

import {
  HELP_OPTION, MODEL_HELP, MODEL_OPTIONS, OPTION_HELP, OUTPUT_OPTION, UsageError, integerArg, modelOptionArgs,
  parseCommandArgs,
} from "./args.js";
import { checkOutput } from "../io/output.js";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { anyTraceArbitrary } from "../fuzz/arbitraries.js";
import { fuzz } from "../fuzz/fuzz.js";
import { isModelName, MODEL_NAMES, MODELS } from "../models/index.js";

export const HELP = `usage: heaplab fuzz [options]

${MODEL_HELP}
  --runs N                    random traces to replay (default 100)
  --seed S                    seed of the generator, 0…4294967295 (default: random; printed)
${OPTION_HELP}
  --ops N                     longest trace, in operations (default 500)
  --max-threads N             most threads in a trace (default 4)
  --check-every N             run the model's invariant checker after every N operations (default 1)
  -o, --output FILE           where to write the minimal failing trace (default: the temporary directory);
                              --out is its former name, still taken

Each trace is replayed with the model's invariant checker after every operation, and with the properties every
allocator must keep (aligned, disjoint, usable sizes, no aborts on valid frees, determinism). A failure is shrunk
to a minimal trace, written as alloc-trace v1 for \`heaplab replay\`; the command then exits 1.`;

/**
 * `--threads` is the replaying commands' merge|arena choice; here the most threads of a generated trace has a name
 * of its own, and the old spelling is refused naming it rather than read as something else.
 */
function refuseThreads(argv: readonly string[]): void {
  if (argv.some((a) => a === "--threads" || a.startsWith("--threads="))) {
    throw new UsageError("unknown option --threads: did you mean --max-threads? (--threads merge|arena is replay's)");
  }
}

export async function run(argv: string[]): Promise<number> {
  refuseThreads(argv);
  const { values } = parseCommandArgs({
    args: argv,
    options: {
      ...MODEL_OPTIONS,
      runs: { type: "string", default: "100" },
      seed: { type: "string" },
      option: { type: "string", multiple: true },
      ops: { type: "string", default: "500" },
      "max-threads": { type: "string", default: "4" },
      "check-every": { type: "string", default: "1" },
      ...OUTPUT_OPTION,
      out: { type: "string" },
      ...HELP_OPTION,
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const model = values.model;
  if (!isModelName(model)) throw new UsageError(`--model must be one of ${MODEL_NAMES.join(", ")}`);
  const options = modelOptionArgs(values.option);
  // fast-check keeps 32 bits of the seed: a larger one would replay another seed's traces.
  const seed = integerArg("seed", values.seed, { max: 2 ** 32 - 1 }) ?? (Math.random() * 2 ** 31) | 0;
  const runs = integerArg("runs", values.runs, { min: 1 });
  const checkEvery = integerArg("check-every", values["check-every"]);
  const maxOps = integerArg("ops", values.ops, { min: 1, max: 1_000_000 });
  const maxThreads = integerArg("max-threads", values["max-threads"], { min: 1, max: 1024 });
  if (values.out !== undefined) {
    if (values.output !== undefined) throw new UsageError("-o and --out name the same file: give -o alone");
    console.error("heaplab: fuzz --out is deprecated; use -o (--output)");
  }
  const output = values.output ?? values.out ?? join(tmpdir(), `heaplab-fuzz-${model}-${seed}.trace`);
  // Checked before the campaign: a failure found after minutes must have somewhere to go.
  checkOutput(output, { label: `${values.out !== undefined ? "--out" : "-o"} ${output}` });
  const started = performance.now();
  const result = await fuzz({
    model,
    tunables: values.tunables,
    options,
    runs,
    seed,
    checkEvery,
    traces: anyTraceArbitrary({ maxOps, maxThreads, edges: MODELS[model].edgeSizes }),
    output,
    progress: (runs, ops) => {
      if (runs % 100 === 0) console.error(`… runs ${runs}, ops ${ops}`);
    },
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const failure = result.failure;
  if (failure) {
    console.log(`seed ${result.seed}: ${failure.finding.property} failed after ${result.runs} runs`);
    console.log(`  ${failure.finding.message}`);
    for (const v of failure.finding.violations.slice(0, 10)) {
      console.log(`  violation ${v.code} at 0x${v.address.toString(16)}: ${v.message}`);
    }
    const tunables = values.tunables ? ` --tunables ${values.tunables}` : "";
    // the model's checker and its aborts stop `heaplab replay`; the JS properties show in its address lines
    const reproduce = ["invariants", "no-error"].includes(failure.finding.property) ? "--check-every 1" : "--addresses";
    console.log(`reproduce: heaplab replay ${failure.path} --model ${model}${tunables} ${reproduce}`);
    console.log(`fuzz ${model}: runs ${result.runs}, ops ${result.ops}, violations 1 (seed ${result.seed}, ${seconds} s); ` +
      `minimal trace (${failure.ops.length} ops, ${failure.shrinks} shrinks): ${failure.path}`);
    return 1;
  }
  console.log(`fuzz ${model}: runs ${result.runs}, ops ${result.ops}, violations 0 (seed ${result.seed}, ${seconds} s)`);
  return 0;
}
