// `heaplab record -o <file> [--flush N] -- <command> [args…]`: runs a program with the LD_PRELOAD recorder
// (native/recorder.c, compiled on first use and cached by source hash) and writes its allocator calls as
// alloc-trace v1. The command's own process writes <file>; every other process <file>.<pid>; an image that
// replaced another by exec <name>.exec<k>.

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError, integerArg, parseCommandArgs } from "./args.js";
import { checkOutput } from "../io/output.js";
import { symbolizeRecording } from "./symbolize.js";
import { formatCount, table } from "../report/format.js";

export const HELP = `usage: heaplab record -o <file> [options] -- <command> [args…]

  -o, --output FILE   the trace of the command's process; other processes write FILE.<pid>,
                      and an image that replaced another by exec writes <name>.exec<k>
  --flush N           write the recorder's buffer out every N records (default 1024)
  --call-sites N      record each allocating call's call site: its N innermost return addresses (1: the
                      caller alone, nearly free), resolved to function and source line with addr2line at
                      the end (default 0: none)
  --cc COMPILER       C compiler for the recorder (default: $CC or cc)

When the command has run, a table on stderr says which file is which: the main program's file (the command
followed through its execs and through wrappers and shells that start one program: env, a shim, sh -c), the
images that exec'd another, the other processes. Only files this recording wrote are listed; the files of an
earlier recording into the same name are left as they were and counted.

A process that ends by _exit or is killed by a signal it left at its default action (SIGSEGV, abort …) keeps
its records; a file cut short (SIGKILL) is named as possibly incomplete.`;

/** native/recorder.c, shipped with the package. */
export const RECORDER_SOURCE = fileURLToPath(new URL("../../native/recorder.c", import.meta.url));

function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "heaplab");
}

/** Compiles the recorder once per (source, compiler) and returns the shared library's path. */
export function buildRecorder(compiler = process.env.CC || "cc"): string {
  if (process.platform !== "linux") throw new Error("record needs Linux (an LD_PRELOAD recorder for glibc)");
  if (!existsSync(RECORDER_SOURCE)) throw new Error(`recorder source missing: ${RECORDER_SOURCE}`);
  const version = spawnSync(compiler, ["--version"], { encoding: "utf8" });
  if (version.error || version.status !== 0) {
    throw new Error(`record needs a C compiler to build its recorder: '${compiler}' did not run (install gcc or set CC)`);
  }
  const hash = createHash("sha256").update(readFileSync(RECORDER_SOURCE)).update(version.stdout).digest("hex").slice(0, 16);
  const dir = cacheDir();
  const library = join(dir, `recorder-${hash}.so`);
  if (existsSync(library)) return library;
  mkdirSync(dir, { recursive: true });
  const partial = `${library}.${process.pid}.tmp`;
  const cc = spawnSync(compiler, ["-shared", "-fPIC", "-O2", "-Wall", "-o", partial, RECORDER_SOURCE, "-ldl", "-lpthread"], {
    encoding: "utf8",
  });
  if (cc.status !== 0) throw new Error(`building the recorder failed: ${(cc.stderr || cc.error?.message || "").trim()}`);
  renameSync(partial, library);
  return library;
}

/** One file a recording wrote. */
export interface RecordedFile {
  path: string;
  pid: number;
  /** The process that started this one (the recording tool itself for the command's own process). */
  ppid: number;
  /** Images of the process before this one: 0 for the first, k for `<name>.exec<k>`. */
  generation: number;
  exe: string;
  /** The last operation's sequence number (operations recorded). */
  ops: number;
  /** The process wrote its last records (at exit, _exit, exec or a fatal signal): the file is whole. */
  ended: boolean;
  /** The signal that killed the process, when the recorder caught it. */
  signal?: number;
}

/** The comments a process writes when its file ends: at exit (or _exit), at exec, or killed by a signal. */
const ENDING = /^# (?:exit|exec) seq=\d+$|^# signal (\d+) seq=\d+$/gm;

/**
 * The last ending comment of the file open as `fd`, searched from its end a window at a time: it is usually in
 * the last lines, but calls made after the exit flush (by destructors) may push it back any distance.
 */
function endingOf(fd: number, size: number): RegExpExecArray | null {
  const WINDOW = 1 << 20;
  // Windows overlap by more than an ending comment, so that one cut by a window's edge is whole in the next.
  const OVERLAP = 64;
  for (let end = size; end > 0; end -= WINDOW - OVERLAP) {
    const start = Math.max(0, end - WINDOW);
    const bytes = Buffer.alloc(end - start);
    readSync(fd, bytes, 0, bytes.length, start);
    const endings = [...bytes.toString("latin1").matchAll(ENDING)];
    if (endings.length) return endings[endings.length - 1] as RegExpExecArray;
    if (start === 0) break;
  }
  return null;
}

/** The environment that makes a child process record into `output`. */
export function recordingEnv(library: string, output: string, flush?: number, callSites?: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.HEAPLAB_RECORD_EXEC;
  env.LD_PRELOAD = env.LD_PRELOAD ? `${library}:${env.LD_PRELOAD}` : library;
  env.HEAPLAB_RECORD = resolve(output);
  env.HEAPLAB_RECORD_PARENT = String(process.pid);
  if (flush) env.HEAPLAB_RECORD_FLUSH = String(flush);
  if (callSites) env.HEAPLAB_RECORD_SITES = String(callSites);
  else delete env.HEAPLAB_RECORD_SITES;
  return env;
}

/** What a file looks like before a recording: one written since has another stamp, or none before it. */
export type FolderStamps = Map<string, string>;

/** The names of `output`'s recording files (`<base>`, `<base>.<pid>`, `<base>[.<pid>].exec<k>`). */
function recordingPattern(output: string): RegExp {
  return new RegExp(`^${basename(output).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(\\.\\d+)?(\\.exec\\d+)?$`);
}

/** The stamps (inode, modification time, size) of the recording files already beside `output`. */
export function folderStamps(output: string): FolderStamps {
  const dir = dirname(resolve(output));
  const pattern = recordingPattern(output);
  const stamps: FolderStamps = new Map();
  for (const name of readdirSync(dir)) {
    if (!pattern.test(name)) continue;
    const s = statSync(join(dir, name), { throwIfNoEntry: false });
    if (s?.isFile()) stamps.set(name, `${s.ino}:${s.mtimeMs}:${s.size}`);
  }
  return stamps;
}

/**
 * The files of a recording into `output`, the command's own first. With `before` (taken just before the
 * recording), the files this recording wrote: those that were not there, or were rewritten; the files of an
 * earlier recording left beside them are not this run's. Without it, the files modified since `since` (ms).
 */
export function recordedFiles(output: string, since: number, before?: FolderStamps): RecordedFile[] {
  const dir = dirname(resolve(output));
  const files: RecordedFile[] = [];
  for (const [name, stamp] of folderStamps(output)) {
    if (before ? before.get(name) === stamp : statSync(join(dir, name)).mtimeMs < since - 1000) continue;
    files.push(describe(join(dir, name)));
  }
  return files.sort((a, b) => (a.path.length - b.path.length) || a.path.localeCompare(b.path));
}

/** Programs that start another and wait for it (or exec it): the program they run is the one meant. */
const WRAPPERS = new Set([
  "env", "sh", "dash", "bash", "zsh", "nice", "nohup", "time", "timeout", "stdbuf", "setarch", "taskset", "ionice",
  "chrt", "xvfb-run", "npx",
]);

/**
 * The file of the program the command meant: the command's own process followed through its execs to its last
 * image (`env python3` → python3, a shim that execs the real program); when that image is a shell or wrapper that
 * started a single process, that process, followed the same way. `pids` are the processes followed.
 */
export function mainProgram(files: readonly RecordedFile[], parent = process.pid): { main?: RecordedFile; pids: number[] } {
  let pids = new Set(files.filter((f) => f.ppid === parent).map((f) => f.pid));
  const followed: number[] = [];
  let main: RecordedFile | undefined;
  while (pids.size === 1) {
    const [pid] = pids;
    followed.push(pid);
    const images = files.filter((f) => f.pid === pid).sort((a, b) => a.generation - b.generation);
    main = images[images.length - 1];
    if (!WRAPPERS.has(main.exe)) break;
    pids = new Set(files.filter((f) => f.ppid === pid && f.pid !== pid).map((f) => f.pid));
  }
  return { main, pids: followed };
}

/** What each file is: the main program, an image that exec'd the next, the command, a child of another process. */
export function fileRoles(files: readonly RecordedFile[], main: RecordedFile | undefined, parent = process.pid): string[] {
  return files.map((f) => {
    if (f === main) return "main program";
    const next = files.find((g) => g.pid === f.pid && g.generation === f.generation + 1);
    if (next) return `exec'd ${next.exe}`;
    return f.ppid === parent ? "the command" : `child of pid ${f.ppid}`;
  });
}

/** Rows a recording's table lists one by one; beyond them, the processes off the main program's path are counted. */
const TABLE_ROWS = 20;

function describe(path: string): RecordedFile {
  const fd = openSync(path, "r");
  try {
    const size = statSync(path).size;
    const head = Buffer.alloc(Math.min(size, 512));
    readSync(fd, head, 0, head.length, 0);
    const tail = Buffer.alloc(Math.min(size, 4096));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    const first = head.toString("utf8").split("\n")[0];
    const lastOp = tail.toString("utf8").split("\n").reverse().find((l) => /^\d+ /.test(l));
    const exitLine = /# exit seq=(\d+)/.exec(tail.toString("utf8"));
    const ending = endingOf(fd, size);
    return {
      path,
      pid: Number(/ pid=(\d+)/.exec(first)?.[1] ?? 0),
      ppid: Number(/ ppid=(\d+)/.exec(first)?.[1] ?? 0),
      generation: Number(/\.exec(\d+)$/.exec(path)?.[1] ?? 0),
      exe: /exe=(\S+)/.exec(first)?.[1] ?? "?",
      ops: Math.max(Number(lastOp?.split(" ")[0] ?? 0), Number(exitLine?.[1] ?? 0)),
      ended: ending !== null,
      signal: ending?.[1] === undefined ? undefined : Number(ending[1]),
    };
  } finally {
    closeSync(fd);
  }
}

/** Runs `command` under the recorder; resolves to its exit status (128 + signal number when killed). */
export function recordProcess(
  command: string[], output: string, options: { flush?: number; cc?: string; callSites?: number } = {},
): Promise<number> {
  const library = buildRecorder(options.cc);
  return new Promise((resolvePromise, reject) => {
    const env = recordingEnv(library, output, options.flush, options.callSites);
    const child = spawn(command[0], command.slice(1), { stdio: "inherit", env });
    child.on("error", (e) => reject(new Error(`cannot run '${command[0]}': ${e.message}`)));
    child.on("close", (code, signal) => {
      const signals: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
      resolvePromise(code ?? 128 + (signal ? signals[signal] ?? 0 : 0));
    });
  });
}

export async function run(argv: string[]): Promise<number> {
  const split = argv.indexOf("--");
  const own = split < 0 ? argv : argv.slice(0, split);
  const command = split < 0 ? [] : argv.slice(split + 1);
  const { values } = parseCommandArgs({
    args: own,
    options: {
      output: { type: "string", short: "o" },
      flush: { type: "string" },
      "call-sites": { type: "string" },
      cc: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || !values.output || command.length === 0) {
    console.log(HELP);
    return values.help ? 0 : 2;
  }
  const flush = integerArg("flush", values.flush, { min: 1, max: 2 ** 32 - 1 });
  const callSites = integerArg("call-sites", values["call-sites"], { min: 0, max: 32 });
  // The recorder writes files itself, beside the output: its folder must exist before the program runs.
  if (checkOutput(values.output, { label: `-o ${values.output}` }).kind !== "file") {
    throw new UsageError(`-o ${values.output}: record writes files (one per process); give a file name`);
  }
  try {
    accessSync(dirname(resolve(values.output)), constants.W_OK);
  } catch {
    throw new Error(`-o ${values.output}: cannot write in ${dirname(values.output)} (the recorder writes its files there)`);
  }
  const before = folderStamps(values.output);
  const status = await recordProcess(command, values.output, { flush, cc: values.cc, callSites });
  const files = recordedFiles(values.output, 0, before);
  const stale = [...before.keys()].filter((name) => !files.some((f) => basename(f.path) === name)).length;
  if (callSites) {
    const total = { sites: 0, resolved: 0, frames: 0 };
    for (const f of files) {
      const s = await symbolizeRecording(f.path);
      if (s.problem) {
        console.error(`record: ${s.problem}`);
        break;
      }
      total.sites += s.sites;
      total.resolved += s.resolved;
      total.frames += s.frames;
    }
    if (total.sites) {
      console.error(`record: ${total.sites} call sites; addr2line named ${total.resolved} of their ${total.frames} frames`);
    }
  }
  if (files.length === 0) console.error(`record: no trace written (is '${command[0]}' statically linked?)`);
  else console.error(recordingTable(values.output, files));
  for (const f of files) {
    if (f.signal) console.error(`record: ${f.path}: pid ${f.pid} was killed by signal ${f.signal}; the call it was in is not recorded`);
    else if (!f.ended) console.error(`record: ${f.path} may be incomplete: pid ${f.pid} ended without writing its last records (SIGKILL?)`);
  }
  if (stale) {
    console.error(`record: ${stale} file${stale === 1 ? "" : "s"} of an earlier recording beside ${values.output} left as they were, not listed`);
  }
  return status;
}

/**
 * The table on stderr of the files a recording wrote: which is the main program's, and what the others are. The
 * command's processes come first, then the others by pid, each process's images in order; when there are many,
 * the processes off the main program's path are summed up by program.
 */
export function recordingTable(output: string, files: readonly RecordedFile[], parent = process.pid): string {
  const { main, pids } = mainProgram(files, parent);
  const path = new Set(pids);
  const order = (f: RecordedFile): number[] => [path.has(f.pid) ? pids.indexOf(f.pid) : pids.length, f.pid, f.generation];
  const sorted = [...files].sort((a, b) => {
    const [x, y] = [order(a), order(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  });
  const listed = sorted.length <= TABLE_ROWS ? sorted : sorted.filter((f) => path.has(f.pid));
  const roles = fileRoles(listed, main, parent);
  // Named as the user named the output, not by the absolute path the recorder was given.
  const shown = (f: RecordedFile): string => output + basename(f.path).slice(basename(output).length);
  const rows = listed.map((f, i) => [shown(f), f.exe, String(f.pid), formatCount(f.ops), roles[i]]);
  const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
  const head = main
    ? `record: ${plural(files.length, "file")}; the main program, ${main.exe}, is ${shown(main)}`
    : `record: ${plural(files.length, "file")}; no single main program (the command started several)`;
  const lines = table([["file", "program", "pid", "ops", "what"], ...rows], ["left", "left", "right", "right", "left"]);
  const out = [head, ...lines.split("\n").map((l) => `  ${l}`)];
  const rest = sorted.filter((f) => !listed.includes(f));
  if (rest.length) {
    const byProgram = new Map<string, number>();
    for (const f of rest) byProgram.set(f.exe, (byProgram.get(f.exe) ?? 0) + 1);
    const counts = [...byProgram].sort((a, b) => b[1] - a[1]).map(([exe, n]) => `${exe} ×${n}`).join(", ");
    out.push(`  … and ${plural(rest.length, "file")} of ${plural(new Set(rest.map((f) => f.pid)).size, "other process", "other processes")}` +
      ` (${counts}): ${output}.<pid>[.exec<k>]`);
  }
  return out.join("\n");
}

/** The `record` command for callers that take a command function. */
export const recordCommand = run;
