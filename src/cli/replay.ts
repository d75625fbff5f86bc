// `heaplab replay <trace> --model M [--tunables T] [--addresses] [--threads merge|arena] [--strict|--lenient]`

import { AddressFormatter } from "../lab/addresses.js";
import { createLab } from "../lab/lab.js";
import { precompile } from "../wasm/load.js";
import type { BatchObserver } from "../lab/replay.js";
import type { ModelName } from "../lab/types.js";
import { createProgress, withProgress } from "../trace/progress.js";
import { LineBytes } from "../lab/line-bytes.js";
import { ByteWriter, LineWriter, Output, STANDARD_OUTPUT } from "../io/output.js";
import type { TimelineRow } from "../report/metrics.js";
import {
  FORMAT_HELP, FORMAT_OPTION, HELP_OPTION, MODEL_HELP, MODEL_OPTIONS, OPTION_HELP, REPLAY_OPTIONS, THREADS_HELP,
  formatArg, helpExit, integerArg, modelOptionArgs, parseCommandArgs, threadsArg,
} from "./args.js";
import { openForReplay } from "./open.js";
import { isModelName, MODELS } from "../models/index.js";
import { parseAfter } from "../lab/fork.js";

export const HELP = `usage: heaplab replay <trace> [options]     (<trace> - : standard input)

${MODEL_HELP}
${OPTION_HELP}
  --addresses                 one line per returned pointer: <seq> <op> <size> heap+0x…|mmap±0x…|arena<k>+0x…|null
${THREADS_HELP}
  --after parent.trace@seq    a forked child: replay its parent up to that record first (default: the child's
                              "# fork-of" line, written by heaplab record; its ancestors are replayed too)
  ${FORMAT_HELP}
  --strict                    a free of an address the trace never allocated is an error
  --lenient                   skip and count double frees and malformed lines
  --check-every N             check the heap's invariants after every N operations; a violation stops the replay
  --json                      the report as one JSON document (schema: docs/report-schema.md)
  --timeline out.csv          write the timeline: a row every K ops (--every) and at every new peak (-: standard
                              output, the report then on stderr)
  --every K                   timeline period in operations (default 1000; 0: peaks only)
  --cost name=ns              override the cost model (call, syscall, lock); repeatable
  --call-sites N              call sites listed at each peak when the trace records them (default 10; 0: none)`;

export function parseReplayArgs(argv: string[]) {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...MODEL_OPTIONS,
      option: { type: "string", multiple: true },
      addresses: { type: "boolean" },
      ...REPLAY_OPTIONS,
      strict: { type: "boolean" },
      after: { type: "string" },
      ...FORMAT_OPTION,
      "check-every": { type: "string" },
      json: { type: "boolean" },
      timeline: { type: "string" },
      every: { type: "string", default: "1000" },
      cost: { type: "string", multiple: true },
      "call-sites": { type: "string" },
      ...HELP_OPTION,
    },
  });
  return {
    values, positionals, options: modelOptionArgs(values.option), threads: threadsArg(values.threads),
    checkEvery: integerArg("check-every", values["check-every"]), every: integerArg("every", values.every)!,
    format: formatArg(values.format),
    callSites: integerArg("call-sites", values["call-sites"], { min: 0, max: 100_000 }),
  };
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, options: given, threads, checkEvery, every, format, callSites } = parseReplayArgs(argv);
  const exit = helpExit(values.help, positionals.length === 1, HELP);
  if (exit !== null) return exit;
  // The trace is opened and its reading started while the model compiles; the model's errors still come first.
  precompile(values.model);
  const after = values.after === undefined ? undefined : parseAfter(values.after);
  // A model that never moves the program break has no use for the recorded one.
  const brkHeap = !isModelName(values.model) || MODELS[values.model].brkHeap;
  const opening = openForReplay(positionals[0], given, { lenient: values.lenient, recycle: true, format, after }, brkHeap);
  const options = await opening.options;
  const child = await opening.trace;
  const ancestors = await opening.ancestors;
  // Address lines need no replay metrics: only the report reads them.
  const lab = await createLab({
    model: values.model as ModelName, tunables: values.tunables, options, metrics: !values.addresses,
  });
  const control = { threads, strict: values.strict, lenient: values.lenient, checkEvery, ancestors };
  const trace = withProgress(child, createProgress("replay"));
  if (values.addresses) {
    const out = new ByteWriter();
    const formatter = new AddressFormatter(lab.handle);
    const lines = new LineBytes();
    const observe: BatchObserver = (batch, from, to, results) => {
      formatter.writeLines(batch, from, to, results, lines);
      return out.write(lines.take());
    };
    await lab.replay(trace, { ...control, observe });
    return 0;
  }
  // The report modules are loaded only here: the --addresses path never pays for them.
  const [{ partNames }, { reportReplay }, { formatReport }, timeline] = await Promise.all([
    import("../report/metrics.js"), import("../report/report.js"), import("../report/text.js"),
    import("../report/timeline.js"),
  ]);
  const csv = values.timeline ? new TimelineFile(values.timeline, positionals[0], partNames(lab.handle), timeline) : undefined;
  let report;
  try {
    report = await reportReplay(lab, trace, {
      ...control, model: lab.model, tunables: values.tunables, options, every, costs: values.cost ?? [],
      timeline: csv ? (rows) => csv.write(rows) : false,
      callSites,
    });
    await csv?.end();
  } catch (e) {
    csv?.abort();
    throw e;
  }
  // With the timeline on standard output, the report goes beside it, not into the CSV.
  const print = values.timeline && STANDARD_OUTPUT.has(values.timeline) ? console.error : console.log;
  print(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return 0;
}

type TimelineCsv = typeof import("../report/timeline.js");

/** The --timeline CSV file, written as rows arrive; it replaces an existing file only once complete. */
class TimelineFile {
  private readonly output: Output;
  private readonly out: LineWriter;
  private readonly parts: string[];
  private readonly csv: TimelineCsv;

  constructor(path: string, trace: string, parts: string[], csv: TimelineCsv) {
    this.output = Output.open(path, { inputs: [trace], label: `--timeline ${path}` });
    this.out = new LineWriter(this.output.stream, this.output.label);
    this.parts = parts;
    this.csv = csv;
    this.out.push([csv.timelineCsvHeader(parts)]);
  }

  write(rows: TimelineRow[]): Promise<void> {
    this.out.push(this.csv.timelineCsvLines(rows, this.parts));
    return this.out.drain();
  }

  /** Flushes the rows and puts the file in place. */
  async end(): Promise<void> {
    await this.out.end();
    await this.output.commit();
  }

  /** Gives the file up after a failed replay. */
  abort(): void {
    this.output.abort();
  }
}
