#!/usr/bin/env node
// heaplab's command line: `heaplab <command> [args…]`. Each command lives in its own module, loaded on demand.

import { readFileSync } from "node:fs";
import { errorLine, exitCodeOf, nearest } from "./args.js";
import { reasonOf } from "../io/reason.js";

type Command = { run(argv: string[]): Promise<number>; HELP: string };

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
  return [
    "usage: heaplab <command> [options]", "", "commands:", ...rows, "",
    "heaplab help <command> (or heaplab <command> --help) for details; heaplab --version for the version",
    "exit status: 0 done, 1 a failure (an input, a file, the model), 2 a mistake in the command line",
  ].join("\n");
}

/** The package's version, from the package.json shipped beside dist/. */
function version(): string {
  return JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version;
}

/** The command `name` names, or a usage error (exit 2) that suggests the nearest command for a typo. */
function commandOf(name: string): (typeof COMMANDS)[string] | undefined {
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    const near = nearest(name, Object.keys(COMMANDS));
    console.error(`heaplab: unknown command '${name}'${near ? ` (did you mean ${near}?)` : ""}\n${usage()}`);
  }
  return command;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || (name === "help" && rest.length === 0)) {
    console.log(usage());
    return name ? 0 : 2;
  }
  if (name === "--version" || name === "-V") {
    console.log(`heaplab ${version()}`);
    return 0;
  }
  if (name === "help") {
    const command = commandOf(rest[0]);
    if (!command) return 2;
    console.log((await command.load()).HELP);
    return 0;
  }
  const command = commandOf(name);
  if (!command) return 2;
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
