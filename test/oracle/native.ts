// The native oracles: test/oracle/glibc-replay.c compiled once (cached by source hash) and run on a trace with
// the real glibc 2.36 allocator, with gperftools 2.10 TCMalloc preloaded, or with any other allocator library
// preloaded (every block printed as an mmap offset). Differential tests compare its address lines with the models'.

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));

/** The repository root (test/oracle/../..). */
export const repoRoot = resolve(here, "../..");

const source = join(here, "glibc-replay.c");
const cacheDir = join(repoRoot, "node_modules/.cache/heaplab-oracle");

/** Debian's libtcmalloc_minimal (package libtcmalloc-minimal4). */
export const TCMALLOC_LIBRARY = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4";

/** Debian's libmimalloc (package libmimalloc2.0, mimalloc 2.0.9). */
export const MIMALLOC_LIBRARY = "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2";

/** Why the native oracle cannot run here, or null when it can (Linux x86-64 with a C compiler). */
export function oracleUnavailable(): string | null {
  if (process.platform !== "linux" || process.arch !== "x64") return "the native oracle needs Linux x86-64";
  const cc = spawnSync("cc", ["--version"], { stdio: "ignore" });
  if (cc.status !== 0) return "the native oracle needs a C compiler (cc)";
  return null;
}

/** Why the TCMalloc oracle cannot run here, or null when it can. */
export function tcmallocUnavailable(): string | null {
  if (existsSync(TCMALLOC_LIBRARY)) return oracleUnavailable();
  return oracleUnavailable() ?? `missing ${TCMALLOC_LIBRARY} (apt-get install libtcmalloc-minimal4)`;
}

/** Why an oracle with `library` preloaded cannot run here, or null when it can. */
export function preloadUnavailable(library: string): string | null {
  if (existsSync(library)) return oracleUnavailable();
  return oracleUnavailable() ?? `missing ${library}`;
}

let built: Promise<string> | undefined;

/** Compiles the replayer (once per source version) and returns the binary's path. */
export function buildOracle(): Promise<string> {
  built ??= compile();
  return built;
}

function compile(): Promise<string> {
  return compileNative(source, ["-lpthread", "-ldl"]);
}

/** Compiles a C program of test/oracle (once per source version, cached) and returns the binary's path. */
export async function compileNative(file: string, libraries: string[] = []): Promise<string> {
  const text = readFileSync(file);
  const hash = createHash("sha256").update(text).digest("hex").slice(0, 16);
  const binary = join(cacheDir, `${basename(file, ".c")}-${hash}`);
  if (existsSync(binary)) return binary;
  mkdirSync(cacheDir, { recursive: true });
  // Concurrent test workers (threads of one process, too) may compile at once: each writes its own file, then
  // renames it into place.
  const partial = `${binary}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await run("cc", ["-O2", "-Wall", "-o", partial, file, ...libraries], {});
  renameSync(partial, binary);
  return binary;
}

interface Output {
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Output> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { env: { ...env, PATH: process.env.PATH }, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const stdout = Buffer.concat(out).toString("latin1");
      const stderr = Buffer.concat(err).toString("latin1");
      const how = signal ?? `exit ${code}`;
      if (code === 0) resolvePromise({ stdout, stderr });
      else reject(new Error(`${basename(command)} ${args.join(" ")} failed (${how}): ${stderr.trim()}`));
    });
  });
}

export interface NativeOptions {
  /** GLIBC_TUNABLES value, e.g. `glibc.malloc.tcache_count=0:glibc.malloc.mxfast=0` (glibc only). */
  tunables?: string;
  /** "real": one pthread per trace tid in lockstep; "merge": every op on the main thread. Default: by the trace. */
  threads?: "merge" | "real";
  allocator?: "glibc" | "tcmalloc";
  /** A shared library to LD_PRELOAD as the allocator (e.g. MIMALLOC_LIBRARY): every block prints as `mmap±0x…`
   * from the first one returned; `allocator`, `mallinfo` and `stats` do not apply. */
  preload?: string;
  /** Further environment variables for the allocator (e.g. `{ MIMALLOC_EAGER_COMMIT: "0" }`). */
  env?: Record<string, string>;
  /** With `preload`: the library's statistics printer to call at the end (e.g. `mi_stats_print`); its lines
   * land in `statLines`. */
  statsCall?: string;
  /** Also collect mallinfo2() after every op, or once after the last one ("final"). */
  mallinfo?: boolean | "final";
  /** Also collect malloc_stats() (glibc) or the MallocExtension properties (TCMalloc) at the end. */
  stats?: boolean;
  /** A page mapped this many bytes above the initial break before the replay: the break cannot grow past it. */
  blockBrk?: number;
  /** glibc's heap_max_size() when it is not 64 MiB (glibc.malloc.hugetlb=2: 8 MiB), to find a chunk's arena. */
  heapMaxSize?: number;
}

/** mallinfo2() after one op (main arena and all others summed, as glibc reports it). */
export interface Mallinfo {
  arena: number;
  hblkhd: number;
  uordblks: number;
  fordblks: number;
}

export interface NativeRun {
  /** The address lines: `<seq> <op> <size> <where>` and `<seq> t <pad> <0|1>`. */
  lines: string[];
  /** The initial program break (TCMalloc: rounded up to 8 KiB): what `heap+0x0` means. */
  heapBase: number;
  /** With `mallinfo`: one entry after every op, in trace order (frees included); with "final", one entry. */
  mallinfo: Mallinfo[];
  /** With `stats`: malloc_stats() lines (glibc) or property → value (TCMalloc, `# stat` lines). */
  stats: Record<string, number>;
  statLines: string[];
}

/** The environment for one run: nothing inherited that changes the allocator, then what the options ask for. */
function allocatorEnv(options: NativeOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === "GLIBC_TUNABLES" || k === "LD_PRELOAD" || /^(MALLOC_|TCMALLOC_|MIMALLOC_)/.test(k)) continue;
    env[k] = v;
  }
  if (options.tunables) env.GLIBC_TUNABLES = options.tunables;
  if (options.allocator === "tcmalloc") env.LD_PRELOAD = TCMALLOC_LIBRARY;
  if (options.preload) env.LD_PRELOAD = options.preload;
  Object.assign(env, options.env);
  return env;
}

function oracleArgs(options: NativeOptions): string[] {
  const args = ["--heap-base"];
  if (options.threads) args.push("--threads", options.threads);
  if (options.blockBrk !== undefined) args.push("--block-brk", String(options.blockBrk));
  if (options.heapMaxSize !== undefined) args.push("--heap-max-size", String(options.heapMaxSize));
  if (options.preload) return [...args, "--preloaded", ...(options.statsCall ? ["--stats-call", options.statsCall] : [])];
  if (options.allocator === "tcmalloc") args.push("--tcmalloc");
  if (options.mallinfo) args.push(options.mallinfo === "final" ? "--final-mallinfo" : "--mallinfo");
  if (options.stats) args.push(options.allocator === "tcmalloc" ? "--mallocstats" : "--stats");
  return args;
}

function parseRun(stdout: string): NativeRun {
  const result: NativeRun = { lines: [], heapBase: 0, mallinfo: [], stats: {}, statLines: [] };
  for (const line of stdout.split("\n")) {
    if (line === "") continue;
    if (line[0] !== "#") {
      result.lines.push(line);
    } else if (line.startsWith("# mi ")) {
      const [arena, hblkhd, uordblks, fordblks] = line.slice(5).split(" ").map(Number);
      result.mallinfo.push({ arena, hblkhd, uordblks, fordblks });
    } else if (line.startsWith("# heap-base ")) {
      result.heapBase = Number(line.slice(12));
    } else if (line.startsWith("# stat ")) {
      const [name, value] = line.slice(7).split(" ");
      result.stats[name] = Number(value);
    } else if (line.startsWith("# stats ")) {
      result.statLines.push(line.slice(8));
    }
  }
  return result;
}

/** Replays a trace file (plain or .gz) on the real allocator. */
export async function runNative(tracePath: string, options: NativeOptions = {}): Promise<NativeRun> {
  const binary = await buildOracle();
  const plain = tracePath.endsWith(".gz") ? plainCopy(tracePath) : tracePath;
  const { stdout } = await run(binary, [...oracleArgs(options), plain], allocatorEnv(options));
  return parseRun(stdout);
}

/** The address lines of a trace file (plain or .gz) replayed on the real allocator. */
export async function nativeAddressLines(tracePath: string, options: NativeOptions = {}): Promise<string[]> {
  return (await runNative(tracePath, options)).lines;
}

let textCount = 0;

/** Replays a trace given as alloc-trace v1 text (fast-check generated traces). */
export async function runNativeText(text: string, options: NativeOptions = {}): Promise<NativeRun> {
  const path = join(tmpdir(), `heaplab-oracle-${process.pid}-${++textCount}.trace`);
  writeFileSync(path, text);
  try {
    return await runNative(path, options);
  } finally {
    rmSync(path, { force: true });
  }
}

/** nallocx(size, 0) of the real TCMalloc: size → allocated bytes, for 0…262144 and samples above. */
export async function tcmallocNallocx(): Promise<Map<number, number>> {
  const binary = await buildOracle();
  const { stdout } = await run(binary, ["--tcmalloc", "--nallocx-table"], allocatorEnv({ allocator: "tcmalloc" }));
  const table = new Map<number, number>();
  for (const line of stdout.split("\n")) {
    if (!line) continue;
    const [size, allocated] = line.split(" ").map(Number);
    table.set(size, allocated);
  }
  return table;
}

/** malloc_usable_size(malloc(size)) of a preloaded allocator: size → usable bytes, for 0…262144 and samples to
 * 64 MiB. */
export async function preloadedUsableSizes(library: string, env: Record<string, string> = {}):
  Promise<Map<number, number>> {
  const binary = await buildOracle();
  const { stdout } = await run(binary, ["--preloaded", "--usable-table"], allocatorEnv({ preload: library, env }));
  const table = new Map<number, number>();
  for (const line of stdout.split("\n")) {
    if (!line) continue;
    const [size, usable] = line.split(" ").map(Number);
    table.set(size, usable);
  }
  return table;
}

/** A gunzipped copy of a .gz trace, kept in the cache directory (keyed by name, size and mtime). */
export function plainCopy(gzPath: string): string {
  const { size, mtimeMs } = statSync(gzPath);
  const plain = join(cacheDir, "traces", `${basename(gzPath).replace(/\.gz$/, "")}-${size}-${Math.floor(mtimeMs)}`);
  if (!existsSync(plain)) {
    mkdirSync(dirname(plain), { recursive: true });
    const partial = `${plain}.${process.pid}.tmp`;
    writeFileSync(partial, gunzipSync(readFileSync(gzPath)));
    renameSync(partial, plain);
  }
  return plain;
}

/** The folder of shared traces: ../shared/traces relative to the repository root. */
export const sharedTraceDir = resolve(repoRoot, "../shared/traces");

export interface SharedTrace {
  name: string;
  /** The .trace.gz file. */
  path: string;
  /** Distinct thread ids in the trace. */
  threads: number;
  /** Operation lines. */
  ops: number;
}

/** The shared traces (../shared/traces/*.trace.gz), smallest first; empty when the folder is missing. */
export function sharedTraces(): SharedTrace[] {
  if (!existsSync(sharedTraceDir)) return [];
  const traces = readdirSync(sharedTraceDir)
    .filter((f) => f.endsWith(".trace.gz"))
    .map((f) => describeTrace(join(sharedTraceDir, f)));
  return traces.sort((a, b) => a.ops - b.ops);
}

/** Why the shared traces are not available, or null. */
export function sharedTracesMissing(): string | null {
  if (sharedTraces().length > 0) return null;
  return `no traces in ${sharedTraceDir} (the shared folder sits beside the repository)`;
}

function describeTrace(path: string): SharedTrace {
  const text = readFileSync(plainCopy(path), "latin1");
  const tids = new Set<string>();
  let ops = 0;
  for (const line of text.split("\n")) {
    if (line === "" || line[0] === "#") continue;
    ops++;
    const second = line.indexOf(" ") + 1;
    tids.add(line.slice(second, line.indexOf(" ", second)));
  }
  return { name: basename(path).replace(/\.trace\.gz$/, ""), path, threads: tids.size, ops };
}
