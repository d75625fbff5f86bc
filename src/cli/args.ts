// Command-line pieces every command shares.

import type { ParseArgsConfig } from "node:util";

type OptionTable = NonNullable<ParseArgsConfig["options"]>;

/** The options of every command that runs a model. */
export const MODEL_OPTIONS = {
  model: { type: "string", default: "ptmalloc" },
  tunables: { type: "string" },
} as const satisfies OptionTable;

/** The options of every command that replays a trace through a lab. */
export const REPLAY_OPTIONS = {
  threads: { type: "string", default: "arena" },
  lenient: { type: "boolean" },
} as const satisfies OptionTable;

/** `-o`/`--output FILE`. */
export const OUTPUT_OPTION = { output: { type: "string", short: "o" } } as const satisfies OptionTable;

/** `-h`/`--help`, which every command takes. */
export const HELP_OPTION = { help: { type: "boolean", short: "h" } } as const satisfies OptionTable;

/** Prints `help` and returns the exit code when help was asked for (0) or the arguments are incomplete (2). */
export function helpExit(asked: boolean | undefined, complete: boolean, help: string): number | null {
  if (!asked && complete) return null;
  console.log(help);
  return asked ? 0 : 2;
}

/** The `--threads` value of the replaying commands: merge every thread on the main thread, or one arena each. */
export function threadsArg(value: string | undefined): "merge" | "arena" {
  if (value !== "merge" && value !== "arena") throw new Error("--threads must be merge or arena");
  return value;
}
