// createLab(): one allocator model, driven call by call or by replaying traces.

import { readAllocTrace } from "../trace/alloc-trace.js";
import type { ByteSource } from "../trace/input.js";
import { OpCode, type TraceSource } from "../trace/types.js";
import { checkModel, setCheckEvery, type Violation } from "./check.js";
import { FLAG_RAW_ADDRESS, Model, parseTunables } from "./model.js";
import { type BatchObserver, type ReplayControl, Replayer } from "./replay.js";
import type { ChunkRow, LabOptions, ModelName, ReplaySummary, Stats } from "./types.js";
import { DEFAULT_MODEL } from "../models/index.js";

export interface CallOptions {
  /** Dense thread index (0 = main thread). */
  thread?: number;
}

export interface ReplayOptions extends ReplayControl {
  /** Called after each batch with its results (see BatchObserver). */
  observe?: BatchObserver;
  /** Check the heap's invariants after every `checkEvery` operations; a violation stops the replay (HeapError). */
  checkEvery?: number;
}

export interface Lab {
  readonly model: ModelName;
  malloc(size: number, options?: CallOptions): number;
  free(address: number, options?: CallOptions): void;
  realloc(address: number, size: number, options?: CallOptions): number;
  calloc(nmemb: number, size: number, options?: CallOptions): number;
  memalign(alignment: number, size: number, options?: CallOptions): number;
  alignedAlloc(alignment: number, size: number, options?: CallOptions): number;
  /** Returns the address, or 0 on EINVAL/ENOMEM (like the trace format's `P` line). */
  posixMemalign(alignment: number, size: number, options?: CallOptions): number;
  valloc(size: number, options?: CallOptions): number;
  pvalloc(size: number, options?: CallOptions): number;
  /** malloc_trim(pad): 1 if memory was released. */
  trim(pad?: number): number;
  usableSize(address: number): number;
  heapBase(): number;
  chunks(): ChunkRow[];
  stats(): Stats;
  /** Every broken invariant of the heap right now (empty when the heap is sound). */
  check(): Violation[];
  /** Replays a trace (a TraceSource, or the bytes/path of an alloc-trace v1 file). */
  replay(trace: TraceSource | ByteSource, options?: ReplayOptions): Promise<ReplaySummary>;
  /** The low-level model handle (batches, raw walk records). */
  readonly handle: Model;
}

/** Resolves the options of a lab into the model's option record. */
export function modelOptions(options: LabOptions): Record<string, number> {
  const tunables = typeof options.tunables === "string" ? parseTunables(options.tunables) : options.tunables ?? {};
  return { ...tunables, ...options.options };
}

function isTraceSource(x: unknown): x is TraceSource {
  return typeof x === "object" && x !== null && "batches" in x && typeof (x as TraceSource).batches === "function";
}

/** Creates a lab around a fresh instance of the chosen model (default: the registry's first, DEFAULT_MODEL). */
export async function createLab(options: LabOptions = {}): Promise<Lab> {
  const name: ModelName = options.model ?? DEFAULT_MODEL;
  const model = await Model.create(name, modelOptions(options), options.metrics ?? true);
  const replayer = new Replayer(model);
  const call = (code: number, a: number, b: number, o?: CallOptions, object = -1, flags = 0): number =>
    model.call(code, o?.thread ?? 0, object, a, b, flags)[0];

  return {
    model: name,
    handle: model,
    malloc: (size, o) => call(OpCode.malloc, size, 0, o),
    free: (address, o) => {
      call(OpCode.free, 0, 0, o, address || -1, address ? FLAG_RAW_ADDRESS : 0);
    },
    realloc: (address, size, o) =>
      address ? call(OpCode.realloc, size, 0, o, address, FLAG_RAW_ADDRESS) : call(OpCode.malloc, size, 0, o),
    calloc: (nmemb, size, o) => call(OpCode.calloc, nmemb, size, o),
    memalign: (alignment, size, o) => call(OpCode.memalign, alignment, size, o),
    alignedAlloc: (alignment, size, o) => call(OpCode.alignedAlloc, alignment, size, o),
    posixMemalign: (alignment, size, o) => call(OpCode.posixMemalign, alignment, size, o),
    valloc: (size, o) => call(OpCode.valloc, size, 0, o),
    pvalloc: (size, o) => call(OpCode.pvalloc, size, 0, o),
    trim: (pad = 0) => call(OpCode.trim, pad, 0),
    usableSize: (address) => model.wasm.usableSize(address),
    heapBase: () => model.wasm.heapBase(),
    chunks: () => model.chunks(replayer.lineOf),
    stats: () => model.stats(),
    check: () => checkModel(model),
    async replay(trace, replayOptions = {}) {
      const source = isTraceSource(trace) ? trace : readAllocTrace(trace, { lenient: replayOptions.lenient });
      const started = performance.now();
      if (replayOptions.checkEvery !== undefined) setCheckEvery(model, replayOptions.checkEvery);
      await replayer.replay(source, replayOptions, replayOptions.observe);
      return {
        trace: source.name,
        model: name,
        ops: replayer.ops,
        byOp: { ...replayer.byOp },
        threads: replayer.threads,
        unknownFrees: replayer.unknownFrees,
        doubleFreesSkipped: replayer.doubleFreesSkipped,
        pointerReuse: replayer.pointerReuse,
        loss: source.loss,
        stats: model.stats(),
        seconds: (performance.now() - started) / 1000,
      };
    },
  };
}
