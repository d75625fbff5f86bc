// Command-line pieces every command shares.

import { type ParseArgsConfig, parseArgs } from "node:util";
import { DEFAULT_MODEL, modelHelp, threadsHelp, tunablesHelp } from "../models/index.js";
import { OutputRefused } from "../io/output.js";
import { reasonOf } from "../io/reason.js";
import { INPUT_FORMATS, type InputFormat } from "../trace/detect.js";

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
  --tunables T                ${tunablesHelp()}`;
export const OPTION_HELP = "  --option name=value         a model option by name (heap_base, mmap_base, a tunable …); repeatable";
export const THREADS_HELP = `  --threads merge|arena       merge: every thread on the main thread; ${threadsHelp()}`;

/** `-o`/`--output FILE`. */
export const OUTPUT_OPTION = { output: { type: "string", short: "o" } } as const satisfies OptionTable;

/** `--format`, the input format of the commands that read a trace: sniffed from the content when absent. */
export const FORMAT_OPTION = { format: { type: "string" } } as const satisfies OptionTable;

/** The help line of `--format`. */
export const FORMAT_HELP = `--format FORMAT             the input format: ${INPUT_FORMATS.join("|")}
                              (default: detected from the content)`;

/** The `--format` value, when given. */
export function formatArg(value: string | undefined): InputFormat | undefined {
  if (value !== undefined && !INPUT_FORMATS.includes(value as InputFormat)) {
    throw new UsageError(`--format ${value}: expected one of ${INPUT_FORMATS.join(", ")}`);
  }
  return value as InputFormat | undefined;
}

/** `-h`/`--help`, which every command takes. */
export const HELP_OPTION = { help: { type: "boolean", short: "h" } } as const satisfies OptionTable;

/**
 * `parseArgs` for a command: an unknown option is refused naming the known one it is closest to, when one is
 * close enough to be a typo (`--modle` → `--model`).
 */
export function parseCommandArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    const error = e as NodeJS.ErrnoException;
    const given = /^Unknown option '(-[^']*)'/.exec(error.message)?.[1];
    if (error.code !== "ERR_PARSE_ARGS_UNKNOWN_OPTION" || !given) throw e;
    const known = Object.entries(config.options ?? {}).flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]);
    const near = nearest(given.replace(/=.*/, ""), known);
    if (!near) throw e;
    throw new UsageError(`unknown option ${given}: did you mean ${near}?`);
  }
}

/**
 * The word of `known` closest to `word` by edit distance (insertions, deletions, substitutions and swaps of
 * neighbours), if it is within a third of the longer word: beyond that a suggestion is a guess.
 */
export function nearest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(word, k);
    if (d < bestDistance && d <= Math.max(word.length, k.length) / 3) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/** The optimal string alignment distance of `a` and `b`. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
      rows[i][j] = d;
    }
  }
  return rows[a.length][b.length];
}

/**
 * Whether to colour what goes to `stream`: FORCE_COLOR decides when set (0 and false turn colour off, as in Node),
 * then a non-empty NO_COLOR turns it off (no-color.org); otherwise only a terminal that can show it gets colour.
 */
export function colourFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== "0" && force !== "false";
  if (env.NO_COLOR) return false;
  return !!stream.isTTY && env.TERM !== "dumb";
}

/** Prints `help` and returns the exit code when help was asked for (0) or the arguments are incomplete (2). */
export function helpExit(asked: boolean | undefined, complete: boolean, help: string): number | null {
  if (!asked && complete) return null;
  console.log(help);
  return asked ? 0 : 2;
}

/** The `--threads` value of the replaying commands: merge every thread on the main thread, or one arena each. */
export function threadsArg(value: string | undefined): "merge" | "arena" {
  if (value !== "merge" && value !== "arena") throw new UsageError("--threads must be merge or arena");
  return value;
}

/** A mistake in the command line itself: the command exits 2, as for a missing argument, instead of 1. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The exit code an error ends a command with: 2 for the command line's own mistakes, 1 for everything else. */
export function exitCodeOf(error: unknown): number {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const usage = error instanceof UsageError || error instanceof OutputRefused;
  return usage || (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) ? 2 : 1;
}

/** The value of `parse()`, whose errors are the command line's mistakes (exit 2); also for promises. */
export function asUsage<T>(parse: () => T): T {
  const usage = (e: unknown): never => {
    throw e instanceof Error && !(e instanceof UsageError) ? new UsageError(e.message) : e;
  };
  try {
    const value = parse();
    return (value instanceof Promise ? value.catch(usage) : value) as T;
  } catch (e) {
    return usage(e);
  }
}


/**
 * The one line a command's error is reported in: a system error keeps its file and loses Node's code and system
 * call (`x.trace: ENOENT: no such file or directory, open 'x.trace'` → `x.trace: no such file or folder`).
 */
export function errorLine(error: Error): string {
  const e = error as NodeJS.ErrnoException;
  // Node's own command-line parser explains itself over several lines.
  const line = e.code?.startsWith("ERR_PARSE_ARGS") ? e.message.replace(/\n/g, " ") : reasonOf(e);
  return e.path && e.message.startsWith(`${e.code}: `) ? `${e.path}: ${line}` : line;
}

/**
 * The integer value of a numeric option, or `fallback` when it is absent. Only decimal digits are read: `Number`
 * would take `1e3`, `0x10`, ` 7` and an empty string (0), and a value beyond `max` would wrap or lose precision
 * where it is used.
 */
export function integerArg(
  name: string, text: string | undefined, range: { min?: number; max?: number } = {}, fallback?: number,
): number | undefined {
  if (text === undefined) return fallback;
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = range;
  const value = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const bound = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in ${min}…${max}`;
    throw new UsageError(`--${name} ${JSON.stringify(text)}: expected an integer ${bound}`);
  }
  return value;
}

/** The `--option name=value` model options of the commands that take them; an empty value is not 0. */
export function modelOptionArgs(texts: readonly string[] | undefined): Record<string, number> {
  const options: Record<string, number> = {};
  for (const o of texts ?? []) {
    const eq = o.indexOf("=");
    if (eq <= 0) throw new UsageError(`--option ${o}: expected name=<number>`);
    const value = Number(o.slice(eq + 1));
    if (o.slice(eq + 1).trim() === "" || !Number.isFinite(value)) throw new UsageError(`--option ${o}: expected name=<number>`);
    options[o.slice(0, eq)] = value;
  }
  return options;
}
