// Command-line pieces every command shares.

import type { ParseArgsConfig } from "node:util";
import { DEFAULT_MODEL, modelHelp, threadsHelp, tunablesHelp } from "../models/index.js";

type OptionTable = NonNullable<ParseArgsConfig["options"]>;

/** The options of every command that runs a model. */
export const MODEL_OPTIONS = {
  model: { type: "string", default: DEFAULT_MODEL },
  tunables: { type: "string" },
} as const satisfies OptionTable;

/** The options of every command that replays a trace through a lab. */
export const REPLAY_OPTIONS = {
  threads: { type: "string", default: "arena" },
  lenient: { type: "boolean" },
} as const satisfies OptionTable;

/** Help lines of the options above, written from the model registry so that every model shows up. */
export const MODEL_HELP = `  --model M                   ${modelHelp()}
  --tunables T                the model's tunables: ${tunablesHelp()}`;
export const OPTION_HELP = "  --option name=value         a model option by name (heap_base, mmap_base, a tunable …); repeatable";
export const THREADS_HELP = "  --threads merge|arena       merge: every thread on the main thread; arena (default): each thread gets "
  + `${threadsHelp()}`;

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
