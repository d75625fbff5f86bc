// `heaplab render <trace> --model M [--at N] [--view heap|bins|spans] -o heap.svg`
// `heaplab render <trace> --model M --html -o report.html`: one self-contained page with the timeline, the heap
// map and a scrubber through the trace.

import { createLab } from "../lab/lab.js";
import type { ModelName } from "../lab/types.js";
import { binsSVG, freeListsFromChunks } from "../viz/bins.js";
import { heapMapSVG } from "../viz/heapmap.js";
import { siteName } from "../trace/sites.js";
import { countOps, recordReplay } from "../viz/record.js";
import { reportHTML } from "../viz/report.js";
import { reportTables } from "../report/text.js";
import { classSizes, hasSpans, spanRows } from "../viz/spanwalk.js";
import { spansSVG } from "../viz/spans.js";
import {
  FORMAT_HELP, FORMAT_OPTION, HELP_OPTION, MODEL_HELP, MODEL_OPTIONS, OUTPUT_OPTION, UsageError, formatArg, helpExit,
  integerArg, parseCommandArgs,
} from "./args.js";
import { STANDARD_OUTPUT, withOutput, writeChunk } from "../io/output.js";
import { isModelName, MODEL_NAMES, MODELS } from "../models/index.js";
import { STDIN_NAME, openForReplay } from "./open.js";
import { createProgress, withProgress } from "../trace/progress.js";
import { parseAfter } from "../lab/fork.js";

/** The models whose descriptors say they walk spans. */
const SPAN_MODELS = MODEL_NAMES.filter((m) => MODELS[m].spans);

export const HELP = `usage: heaplab render <trace> [options]     (<trace> - : standard input)

${MODEL_HELP}
  --at N                      draw the heap after the first N operations (default: the end of the trace)
  --view heap|bins|spans      what to draw (default heap; spans: models with spans)
  --html                      write the self-contained HTML report (timeline, heap map, scrubber) instead
  --snapshots K               scrubber stops in the HTML report (default 48)
  --after parent.trace@seq    a forked child: replay its parent up to that record first (default: the child's
                              "# fork-of" line, written by heaplab record; its ancestors are replayed too)
  ${FORMAT_HELP}
  -o, --output FILE           where to write (default heap.svg, or report.html with --html; - for standard output)`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...MODEL_OPTIONS,
      at: { type: "string" },
      view: { type: "string", default: "heap" },
      html: { type: "boolean" },
      snapshots: { type: "string" },
      after: { type: "string" },
      ...FORMAT_OPTION,
      ...OUTPUT_OPTION,
      ...HELP_OPTION,
    },
  });
  const exit = helpExit(values.help, positionals.length === 1, HELP);
  if (exit !== null) return exit;
  const model = values.model as ModelName;
  const at = integerArg("at", values.at);
  const snapshots = integerArg("snapshots", values.snapshots, { min: 1, max: 10_000 });
  const format = formatArg(values.format);
  const after = values.after === undefined ? undefined : parseAfter(values.after);
  if (!["heap", "bins", "spans"].includes(values.view)) throw new UsageError(`--view ${values.view}: expected heap, bins or spans`);
  const path = values.output ?? (values.html ? "report.html" : "heap.svg");
  // Opened before the replay: an output that is the trace, or in a missing folder, fails at once.
  const summary = await withOutput(path, { inputs: positionals, label: `-o ${path}` }, async (output) => {
    const opening = openForReplay(positionals[0], {}, { format, after }, !isModelName(model) || MODELS[model].brkHeap);
    const lab = await createLab({ model, tunables: values.tunables, options: await opening.options });
    const source = await opening.trace;
    const ancestors = await opening.ancestors;
    // The report's snapshot steps need the trace's length: counted first, it also gives the progress its bar.
    const total = values.html ? await countOps(source) : undefined;
    // Drawn on a terminal's stderr while the trace replays: a report of a long trace takes seconds.
    const trace = withProgress(source, createProgress(values.html ? "render --html" : "render", { total }));
    const name = positionals[0] === "-" ? STDIN_NAME : positionals[0].split("/").pop();
    if (values.html) {
      // A forked child's report starts from the heap it inherited.
      for (const a of ancestors) await lab.replay(a.trace, { untilSeq: a.seq, forkOf: false });
      const recording = await recordReplay(lab, trace, { snapshots, total });
      await writeChunk(output.stream, reportHTML({
        title: `${name} on ${model}`, timeline: recording.timeline, snapshots: recording.snapshots,
        sites: recording.sites, callSites: recording.report?.callSites,
        tables: recording.report && reportTables(recording.report),
      }), output.label);
      return `${recording.ops} operations, ${recording.snapshots.length} snapshots`;
    }
    const replayed = await lab.replay(trace, { until: at, ancestors });
    const title = `${name} on ${model}, after ${replayed.ops} operations`;
    const chunks = lab.chunks();
    let svg: string;
    let drawn = `${chunks.length} chunks`;
    if (values.view === "bins") svg = binsSVG(freeListsFromChunks(chunks), { chunks, title });
    else if (values.view === "spans") {
      if (!hasSpans(lab)) throw new Error(`--view spans needs a model with spans (${SPAN_MODELS.join(", ")})`);
      const spans = spanRows(lab);
      svg = spansSVG(spans, { title, classSizes: classSizes(lab) });
      drawn = `${spans.length} spans`;
    } else {
      const sites = source.header.sites;
      svg = heapMapSVG(chunks, {
        pageSize: MODELS[model].pageSize, title, ...(sites ? { siteName: (id: number) => siteName(sites.get(id), id) } : {}),
      });
    }
    await writeChunk(output.stream, svg, output.label);
    return `${drawn} after ${replayed.ops} operations`;
  });
  // The picture may be on standard output: the summary goes beside it, not into it.
  (STANDARD_OUTPUT.has(path) ? console.error : console.log)(`${path}: ${summary}`);
  return 0;
}
