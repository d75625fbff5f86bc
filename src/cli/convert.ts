// `heaplab convert <in> -o <out> [--to alloc-trace|binary|rep|mtrace] [--format <in format>] [--lenient]`

import { parseArgs } from "node:util";
import { HELP_OPTION, OUTPUT_OPTION, UsageError } from "./args.js";
import { INPUT_FORMATS, type InputFormat, openTrace } from "../trace/detect.js";
import { createProgress, withProgress } from "../trace/progress.js";
import type { LossReport } from "../trace/types.js";
import { OUTPUT_FORMATS, type OutputFormat, outputFormatOf, writeTrace } from "../trace/write.js";

export const HELP = `usage: heaplab convert <in> -o <out> [options]

  -o, --output FILE     where to write (gzip-compressed when it ends in .gz; - for standard output); replaced only
                        once complete, never the input
  --to FORMAT           ${OUTPUT_FORMATS.join("|")} (default from the extension: .hlb binary, .rep, .mtrace,
                        else alloc-trace)
  --format FORMAT       the input format: ${INPUT_FORMATS.join("|")} (default: detected)
  --lenient             skip malformed input lines and count them`;

/** The loss report as lines for the terminal (nothing when nothing was lost). */
export function describeLoss(loss: LossReport, what: string): string[] {
  const lines: string[] = [];
  const add = (n: number, text: string): void => {
    if (n) lines.push(`${what}: ${n} ${text}`);
  };
  add(loss.unknownFrees, "frees of blocks never allocated in the trace");
  add(loss.sizesInferred, "sizes inferred");
  add(loss.failedCalls, "failed calls (NULL results)");
  add(loss.pointerReuseResolved, "allocations at a still-live address (missed frees resolved)");
  add(loss.linesSkipped, "lines skipped");
  for (const note of loss.notes) lines.push(`${what}: ${note}`);
  return lines;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...OUTPUT_OPTION,
      to: { type: "string" },
      format: { type: "string" },
      lenient: { type: "boolean" },
      ...HELP_OPTION,
    },
  });
  if (values.help || positionals.length !== 1 || !values.output) {
    console.log(HELP);
    return values.help ? 0 : 2;
  }
  if (values.to && !OUTPUT_FORMATS.includes(values.to as OutputFormat)) {
    throw new UsageError(`--to ${values.to}: expected one of ${OUTPUT_FORMATS.join(", ")}`);
  }
  if (values.format && !INPUT_FORMATS.includes(values.format as InputFormat)) {
    throw new UsageError(`--format ${values.format}: expected one of ${INPUT_FORMATS.join(", ")}`);
  }
  const to = (values.to as OutputFormat | undefined) ?? outputFormatOf(values.output);
  const source = await openTrace(positionals[0], { format: values.format as InputFormat | undefined, lenient: values.lenient });
  const result = await writeTrace(withProgress(source, createProgress("convert")), values.output, {
    format: to, inputs: positionals, label: `-o ${values.output}`,
  });
  console.error(`${positionals[0]} (${source.header.format}) → ${values.output} (${to}): ${result.ops} ops`);
  for (const line of [...describeLoss(source.loss, "input"), ...describeLoss(result.loss, "output")]) console.error(line);
  return 0;
}

/** The `convert` command for callers that take a command function. */
export const convertCommand = run;
