// createLab(): one allocator model, driven call by call or by replaying traces.

import { openTrace } from "../trace/detect.js";
import type { ByteSource } from "../trace/input.js";
import { OpCode, type TraceSource } from "../trace/types.js";
import { checkModel, setCheckEvery, type Violation } from "./check.js";
import { FLAG_RAW_ADDRESS, Model, parseTunables } from "./model.js";
import { type BatchObserver, type ReplayControl, Replayer } from "./replay.js";
import { type Ancestor, type ForkPoint, forkAncestors, parseAfter } from "./fork.js";
import { type Prefetched, prefetch } from "../trace/prefetch.js";
import type { ChunkRow, LabOptions, ModelName, ReplaySummary, Stats } from "./types.js";
import { labExports, labMemory, type LabMemory, type Pointer } from "./memory.js";
import { labLists, type LabLists } from "./lists.js";
import * as host from "#host";
import { DEFAULT_MODEL, MODELS } from "../models/index.js";

/**
 * A size_t argument: a non-negative integer, as a number or a bigint (for values beyond 2^53, such as
 * `2n ** 64n - 1n`, `(size_t)-1`).
 */
export type Size = number | bigint;

export interface CallOptions {
  /** Dense thread index (0 = main thread). */
  thread?: number;
}

export interface ReplayOptions extends ReplayControl {
  /** Called after each batch with its results (see BatchObserver); a forked child's ancestors are not observed. */
  observe?: BatchObserver;
  /**
   * A lab's first replay of a forked child (a `# fork-of` line in its header) replays its ancestors first, each up
   * to its fork, so the child starts from the heap it inherited; `until` then counts the child's operations. Heap
   * offsets count from the lab's heap_base: the root ancestor's `# heap-base` is where the inherited heap began.
   * false: the trace alone.
   */
  forkOf?: boolean;
  /** The child's parent and its last record before the fork (`parent.trace@seq`), instead of its `# fork-of`. */
  after?: string | ForkPoint;
  /** The ancestors already opened by `forkAncestors` (to read the root's `# heap-base` before making the lab). */
  ancestors?: Ancestor[];
  /** Check the heap's invariants after every `checkEvery` operations; a violation stops the replay (HeapError). */
  checkEvery?: number;
}

/**
 * A lab: one allocator model driven call by call or by traces. With `pointers: "bigint"` every pointer it hands out
 * is a bigint (`Lab<bigint>`), exact beyond 2^53 (a forged free list may hand out any address).
 */
export interface Lab<P extends Pointer = number> extends LabMemory<P> {
  readonly model: ModelName;
  malloc(size: Size, options?: CallOptions): P;
  free(address: Pointer, options?: CallOptions): void;
  realloc(address: Pointer, size: Size, options?: CallOptions): P;
  calloc(nmemb: Size, size: Size, options?: CallOptions): P;
  memalign(alignment: Size, size: Size, options?: CallOptions): P;
  alignedAlloc(alignment: Size, size: Size, options?: CallOptions): P;
  /** Returns the address, or 0 on EINVAL/ENOMEM (like the trace format's `P` line). */
  posixMemalign(alignment: Size, size: Size, options?: CallOptions): P;
  valloc(size: Size, options?: CallOptions): P;
  pvalloc(size: Size, options?: CallOptions): P;
  /** malloc_trim(pad): 1 if memory was released. */
  trim(pad?: Size): number;
  usableSize(address: Pointer): number;
  heapBase(): number;
  chunks(): ChunkRow[];
  /**
   * The free lists as glibc links them (ptmalloc): the main thread's tcache, every arena's fastbins, unsorted,
   * small and large bins, poisoned links followed and flagged (foreign nodes, loops, links into unmapped memory).
   */
  lists(): LabLists<P>;
  stats(): Stats;
  /** Every broken invariant of the heap right now (empty when the heap is sound). */
  check(): Violation[];
  /** Replays a trace: a TraceSource, or the bytes, path or URL of a trace in any format (detected as `openTrace` does). */
  replay(trace: TraceSource | ByteSource, options?: ReplayOptions): Promise<ReplaySummary>;
  /** The low-level model handle (batches, raw walk records). */
  readonly handle: Model;
}

/** Resolves the options of a lab into the model's option record. */
export function modelOptions(options: LabOptions): Record<string, number> {
  const parse = MODELS[options.model ?? DEFAULT_MODEL].tunables.parse ?? parseTunables;
  const tunables = typeof options.tunables === "string" ? parse(options.tunables) : options.tunables ?? {};
  return { ...tunables, ...options.options };
}

/**
 * A size_t argument as the model takes it. Values the doubles cannot hold exactly (beyond 2^53) all fail in both
 * allocators (nothing that large can be mapped), so the nearest double answers as the exact value would.
 */
export function sizeArgument(value: unknown, name: string): number {
  if (typeof value === "bigint") {
    if (value < 0n || value >= 18446744073709551616n) throw new RangeError(`${name} ${value} is outside size_t [0, 2^64)`);
    return Number(value);
  }
  if (typeof value !== "number") throw new TypeError(`${name} must be a number or a bigint, not ${describe(value)}`);
  if (!Number.isInteger(value)) throw new RangeError(`${name} ${value} is not an integer`);
  // 2^64 itself is allowed: it is the double that SIZE_MAX, written 2 ** 64 - 1, rounds to.
  if (value < 0 || value > 2 ** 64) {
    throw new RangeError(`${name} ${value} is outside size_t [0, 2^64) (for (size_t)-1 pass 2n ** 64n - 1n)`);
  }
  return value;
}

/**
 * A pointer argument: any 64-bit value, as a number or a bigint. A pointer beyond 2^53 cannot be a block the model
 * handed out (they all lie below 2^47), so the nearest double stands for it: the call faults or aborts as glibc's
 * would on that garbage pointer.
 */
export function addressArgument(value: unknown): number {
  if (typeof value === "bigint") {
    if (value < 0n || value >= 18446744073709551616n) throw new RangeError(`address ${value} is outside [0, 2^64)`);
    return Number(value);
  }
  if (typeof value !== "number") throw new TypeError(`address must be a number or a bigint, not ${describe(value)}`);
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** 64) {
    throw new RangeError(`address ${value} is not an integer in [0, 2^64)`);
  }
  return value;
}

/** A thread index or a count: a non-negative integer a double holds exactly. */
export function indexArgument(value: unknown, name: string): number {
  if (typeof value !== "number") throw new TypeError(`${name} must be a number, not ${describe(value)}`);
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} ${value} is not a non-negative integer`);
  return value;
}

function describe(value: unknown): string {
  return typeof value === "string" ? `the string '${value.slice(0, 40)}'` : typeof value;
}

/**
 * The overcommit limit of the machine the lab runs on (RAM + swap, see assembly/common/kernel.ts), read once from
 * /proc/meminfo; undefined where there is none (a browser, another kernel).
 */
let machineLimit: Promise<number | undefined> | undefined;
export function machineOvercommitLimit(): Promise<number | undefined> {
  machineLimit ??= (async () => {
    try {
      const { readFile } = await host.fsPromises();
      const text = await readFile("/proc/meminfo", "utf8");
      const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
      const total = kib("MemTotal") + kib("SwapTotal");
      return Number.isFinite(total) ? total * 1024 : undefined;
    } catch {
      return undefined;
    }
  })();
  return machineLimit;
}

function isTraceSource(x: unknown): x is TraceSource {
  return typeof x === "object" && x !== null && "batches" in x && typeof (x as TraceSource).batches === "function";
}

/**
 * The tcache key a lab's glibc draws at start-up (glibc: getrandom): splitmix64 of the lab's seed, so that a lab is
 * reproducible and two seeds give two keys.
 */
export function tcacheKeyOfSeed(seed: number): bigint {
  let z = BigInt.asUintN(64, BigInt(seed) + 0x9e3779b97f4a7c15n);
  z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
  z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
  return z ^ (z >> 31n);
}

/** Creates a lab around a fresh instance of the chosen model (default: the registry's first, DEFAULT_MODEL). */
export async function createLab(options: LabOptions & { pointers: "bigint" }): Promise<Lab<bigint>>;
export async function createLab(options?: LabOptions): Promise<Lab>;
export async function createLab(options: LabOptions = {}): Promise<Lab<Pointer>> {
  const name: ModelName = options.model ?? DEFAULT_MODEL;
  const resolved = modelOptions(options);
  if (resolved.overcommit_limit === undefined) {
    const limit = await machineOvercommitLimit();
    if (limit !== undefined) resolved.overcommit_limit = limit;
  }
  const model = await Model.create(name, resolved, options.metrics ?? true, options.layout);
  if (options.tcacheKey !== undefined || options.seed !== undefined || options.layout !== undefined) {
    if (options.seed !== undefined) indexArgument(options.seed, "seed");
    const key = options.tcacheKey ?? tcacheKeyOfSeed(options.seed ?? 0);
    if (typeof key !== "bigint") throw new TypeError("tcacheKey must be a bigint");
    labExports(model).setTcacheKey(BigInt.asUintN(64, key));
  }
  const bigintPointers = options.pointers === "bigint";
  if (options.pointers !== undefined && options.pointers !== "number" && !bigintPointers) {
    throw new RangeError(`pointers must be "number" or "bigint", not ${String(options.pointers)}`);
  }
  const pointer = bigintPointers ? (value: bigint): Pointer => value : (value: bigint): Pointer => Number(value);
  const replayer = new Replayer(model);
  const call = (code: number, a: number, b: number, o?: CallOptions, object = -1, flags = 0): Pointer => {
    const address = model.call(code, o?.thread === undefined ? 0 : indexArgument(o.thread, "thread"), object, a, b, flags)[0];
    return bigintPointers ? BigInt.asUintN(64, labExports(model).lastResult()) : address;
  };
  const size = (value: unknown): number => sizeArgument(value, "size");
  const alignment = (value: unknown): number => sizeArgument(value, "alignment");
  const address = (value: unknown): number => addressArgument(value);

  return {
    ...labMemory(model, pointer),
    model: name,
    handle: model,
    malloc: (n, o) => call(OpCode.malloc, size(n), 0, o),
    free: (p, o) => {
      const at = address(p);
      call(OpCode.free, 0, 0, o, at || -1, at ? FLAG_RAW_ADDRESS : 0);
    },
    realloc: (p, n, o) => {
      const at = address(p);
      return at ? call(OpCode.realloc, size(n), 0, o, at, FLAG_RAW_ADDRESS) : call(OpCode.malloc, size(n), 0, o);
    },
    calloc: (nmemb, n, o) => call(OpCode.calloc, sizeArgument(nmemb, "nmemb"), size(n), o),
    memalign: (align, n, o) => call(OpCode.memalign, alignment(align), size(n), o),
    alignedAlloc: (align, n, o) => call(OpCode.alignedAlloc, alignment(align), size(n), o),
    posixMemalign: (align, n, o) => call(OpCode.posixMemalign, alignment(align), size(n), o),
    valloc: (n, o) => call(OpCode.valloc, size(n), 0, o),
    pvalloc: (n, o) => call(OpCode.pvalloc, size(n), 0, o),
    trim: (pad = 0) => Number(call(OpCode.trim, sizeArgument(pad, "pad"), 0)),
    usableSize: (p) => {
      const size = model.wasm.usableSize(address(p));
      if (size < 0) throw model.error();
      return size;
    },
    heapBase: () => model.wasm.heapBase(),
    chunks: () => model.chunks(replayer.lineOf, replayer.siteOf),
    lists: () => labLists(model, pointer),
    stats: () => model.stats(),
    check: () => checkModel(model),
    async replay(trace, replayOptions = {}) {
      if (replayOptions.until !== undefined) indexArgument(replayOptions.until, "until");
      if (replayOptions.checkEvery !== undefined) indexArgument(replayOptions.checkEvery, "checkEvery");
      const after = typeof replayOptions.after === "string" ? parseAfter(replayOptions.after) : replayOptions.after;
      let source = isTraceSource(trace) ? trace : await openTrace(trace, { lenient: replayOptions.lenient });
      const started = performance.now();
      if (replayOptions.checkEvery !== undefined) setCheckEvery(model, replayOptions.checkEvery);
      let control: ReplayControl = replayOptions;
      const given = replayOptions.ancestors;
      if (given || after !== undefined || (replayOptions.forkOf !== false && replayer.ops === 0)) {
        // The header, where `# fork-of` is, is known once the first batch is read.
        const child = "firstRead" in source ? source as Prefetched : prefetch(source, { recycle: true });
        await child.firstRead;
        source = child;
        const { threads, strict, lenient } = replayOptions;
        const before = replayer.ops;
        for (const ancestor of given ?? await forkAncestors(child.name, child.header, after, { lenient })) {
          await replayer.replay(ancestor.trace, { threads, strict, lenient, untilSeq: ancestor.seq });
        }
        if (replayOptions.until !== undefined && replayer.ops !== before) {
          control = { ...replayOptions, until: replayer.ops + replayOptions.until };
        }
      }
      await replayer.replay(source, control, replayOptions.observe);
      return {
        trace: source.name,
        model: name,
        ops: replayer.ops,
        byOp: { ...replayer.byOp },
        threads: replayer.threads,
        threadExits: replayer.threadExits,
        unknownFrees: replayer.unknownFrees,
        unknownReallocs: replayer.unknownReallocs,
        failedReallocs: replayer.failedReallocs,
        doubleFreesSkipped: replayer.doubleFreesSkipped,
        pointerReuse: replayer.pointerReuse,
        loss: source.loss,
        stats: model.stats(),
        seconds: (performance.now() - started) / 1000,
      };
    },
  };
}
