// Command-line pieces every command shares.

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
