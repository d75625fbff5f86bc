#!/usr/bin/env node
// heaplab's command line: `heaplab <command> [args…]`. Each command lives in its own module, loaded on demand.

import { errorLine, exitCodeOf } from "./args.js";
import { reasonOf } from "../io/reason.js";

type Command = { run(argv: string[]): Promise<number> };

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  replay: { summary: "replay a trace through a model and report", load: () => import("./replay.js") },
  convert: { summary: "convert a trace between formats (alloc-trace, binary, rep, mtrace)", load: () => import("./convert.js") },
  record: { summary: "record a program's allocator calls (LD_PRELOAD) as alloc-trace", load: () => import("./record.js") },
  fuzz: { summary: "fuzz a model with random traces, checking its heap after every op", load: () => import("./fuzz.js") },
  compare: { summary: "replay a trace through several models and compare them side by side", load: () => import("./compare.js") },
  render: { summary: "draw the heap (SVG) at any point of a trace, or an HTML report with a scrubber", load: () => import("./render.js") },
  sweep: { summary: "replay a trace for every combination of tunables, in parallel, ranked", load: () => import("./sweep.js") },
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`);
  return ["usage: heaplab <command> [options]", "", "commands:", ...rows, "", "heaplab <command> --help for details"]
    .join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`heaplab: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  return (await command.load()).run(rest);
}

/** The first error writing standard output: console.log drops it, and a report lost to a full disk must not exit 0. */
let stdoutError: Error | undefined;
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  // A reader that closes the pipe early (`| head`) ends the process quietly instead of with an error.
  if (e.code === "EPIPE") process.exit(0);
  stdoutError ??= e;
});

function fail(error: Error): void {
  console.error(`heaplab: ${errorLine(error)}`);
  if (process.env.HEAPLAB_DEBUG) console.error(error.stack);
  process.exitCode = exitCodeOf(error);
}

main(process.argv.slice(2)).then(
  (code) => {
    // An empty write reports once what was written before it has gone out, or failed.
    process.stdout.write("", (e) => {
      const error = stdoutError ?? e;
      if (error) fail(new Error(`standard output: ${reasonOf(error)}`));
      else process.exitCode = code;
    });
  },
  fail,
);
