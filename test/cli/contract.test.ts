// What every command promises on the command line: its version, its help, suggestions for typos, and colour only
// where it is wanted; each checked on stdout, stderr and the exit status.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { colourFor, nearest } from "../../src/cli/args.js";
import { HELP as REPLAY_HELP } from "../../src/cli/replay.js";
import { repoRoot } from "../oracle/native.js";
import { heaplab } from "./run.js";

const example = join(repoRoot, "examples", "ls-la.trace");
const { version } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));

/** The environment without the variables that decide colour, so that the runner's own settings do not leak in. */
function plainEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.FORCE_COLOR;
  delete env.NO_COLOR;
  return { ...env, ...extra };
}

describe("version and help", () => {
  for (const flag of ["--version", "-V"]) {
    it(`${flag} prints the package's version on stdout, exit 0`, () => {
      expect(heaplab([flag])).toEqual({ status: 0, stdout: `heaplab ${version}\n`, stderr: "" });
    });
  }

  it("help <command> prints the command's own help, exit 0", () => {
    expect(heaplab(["help", "replay"])).toEqual({ status: 0, stdout: `${REPLAY_HELP}\n`, stderr: "" });
    expect(heaplab(["replay", "--help"]).stdout).toBe(`${REPLAY_HELP}\n`);
  });

  it("help alone lists the commands and the exit statuses, exit 0", () => {
    const r = heaplab(["help"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^usage: heaplab <command>/);
    expect(r.stdout).toMatch(/^ {2}sweep {5}/m);
    expect(r.stdout).toContain("2 a mistake in the command line");
  });

  it("help of an unknown command suggests the nearest, exit 2", () => {
    const r = heaplab(["help", "rplay"]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n")[0]).toBe("heaplab: unknown command 'rplay' (did you mean replay?)");
  });

  it("an unknown command far from every command gets no suggestion, exit 2", () => {
    const r = heaplab(["frobnicate"]);
    expect(r.status).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe("heaplab: unknown command 'frobnicate'");
  });
});

describe("unknown options", () => {
  const cases: [string[], string][] = [
    [["replay", example, "--modle", "tcmalloc"], "heaplab: unknown option --modle: did you mean --model?\n"],
    [["replay", example, "--tunable=glibc.malloc.mxfast=0"], "heaplab: unknown option --tunable: did you mean --tunables?\n"],
    [["render", example, "--veiw", "bins"], "heaplab: unknown option --veiw: did you mean --view?\n"],
    [["sweep", example, "--vary", "glibc.malloc.mxfast=0,64", "--max-run", "3"],
      "heaplab: unknown option --max-run: did you mean --max-runs?\n"],
    [["record", "--outptu", "x", "--", "true"], "heaplab: unknown option --outptu: did you mean --output?\n"],
  ];
  for (const [args, stderr] of cases) {
    it(`${args.filter((a) => a !== example).join(" ")}: one line naming the option meant, exit 2`, () => {
      expect(heaplab(args)).toEqual({ status: 2, stdout: "", stderr });
    });
  }

  it("an option like none is refused as Node words it, exit 2", () => {
    const r = heaplab(["replay", example, "--frobnicate"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^heaplab: Unknown option '--frobnicate'\.[^\n]*\n$/);
  });

  it("suggests within a third of the word's length, nothing beyond", () => {
    expect(nearest("--jbos", ["--jobs", "--json"])).toBe("--jobs");
    expect(nearest("--mdl", ["--model"])).toBe("--model");
    expect(nearest("--verbose", ["--view", "--every"])).toBeUndefined();
    expect(nearest("-x", ["-o", "-h"])).toBeUndefined();
  });
});

describe("colour", () => {
  const coloured = (text: string): boolean => text.includes("\x1b[");
  // The host's timings differ from run to run.
  const steady = (text: string): string => text;
  const compare = ["compare", example, "--model", "ptmalloc", "--model", "tcmalloc"];

  it("compare colours a pipe only when FORCE_COLOR asks, and never under NO_COLOR or FORCE_COLOR=0", () => {
    const forced = heaplab(compare, { env: plainEnv({ FORCE_COLOR: "1" }) });
    expect(forced.status).toBe(0);
    expect(coloured(forced.stdout)).toBe(true);
    for (const env of [{}, { NO_COLOR: "1" }, { FORCE_COLOR: "0" }]) {
      const r = heaplab(compare, { env: plainEnv(env) });
      expect(r.status).toBe(0);
      expect(steady(r.stdout)).toBe(steady(forced.stdout.replace(/\x1b\[[0-9;]*m/g, "")));
    }
  });

  it("a terminal gets colour unless NO_COLOR is set and not empty, or TERM is dumb; FORCE_COLOR decides first", () => {
    const tty = { isTTY: true };
    expect(colourFor(tty, {})).toBe(true);
    expect(colourFor(tty, { NO_COLOR: "1" })).toBe(false);
    expect(colourFor(tty, { NO_COLOR: "" })).toBe(true);
    expect(colourFor(tty, { TERM: "dumb" })).toBe(false);
    expect(colourFor(tty, { NO_COLOR: "1", FORCE_COLOR: "1" })).toBe(true);
    expect(colourFor(tty, { FORCE_COLOR: "false" })).toBe(false);
    expect(colourFor({ isTTY: false }, { FORCE_COLOR: "" })).toBe(true);
    expect(colourFor({}, {})).toBe(false);
  });
});
