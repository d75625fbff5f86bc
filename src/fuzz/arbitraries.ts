// fast-check arbitraries of allocation traces.
//
// A trace is generated as a list of commands (allocate, free one of the live objects, realloc one, trim) and then
// turned into `TraceOp`s. Commands name the object they free by a number that the lifetime policy resolves
// against the objects live at that point, so every list of commands, and every list fast-check shrinks it to, is
// a valid trace: no double frees, no frees of unknown addresses.
//
// Addresses in the generated trace are names, not predictions: allocation k returns NAME_BASE + 16·k, never
// reused, which `heaplab replay` maps to objects exactly as it maps a recorded program's addresses.

import fc from "fast-check";
import { OpCode, type TraceOp } from "../trace/types.js";
import { ALL_EDGE_SIZES } from "../models/index.js";

/** How request sizes are drawn. */
export type SizeDistribution = "small" | "power-law" | "bimodal" | "adversarial";
/** Which live object a free picks. "long-lived": some objects are never freed, the others at random. */
export type LifetimePolicy = "lifo" | "fifo" | "random" | "long-lived";

export const SIZE_DISTRIBUTIONS: readonly SizeDistribution[] = ["small", "power-law", "bimodal", "adversarial"];
export const LIFETIME_POLICIES: readonly LifetimePolicy[] = ["lifo", "fifo", "random", "long-lived"];

/** The thread id of the main thread in generated traces (also the header's pid). */
export const MAIN_TID = 1000;
/** The name the first allocation of a generated trace returns. */
export const NAME_BASE = 0x10000;

export interface TraceShape {
  sizes?: SizeDistribution;
  lifetimes?: LifetimePolicy;
  /** Threads making calls (1 = the main thread only). */
  threads?: number;
  minOps?: number;
  maxOps?: number;
  /** Also generate calloc, realloc, the memalign family, valloc/pvalloc and malloc_trim (default true). */
  allOps?: boolean;
  /** Sizes the "adversarial" distribution clusters around (default: every model's `edgeSizes`). */
  edges?: readonly number[];
}

/** One step of a generated program; `pick` chooses among the live objects through the lifetime policy. */
export type Command =
  | { kind: "alloc"; code: OpCode; size: number; align: number; thread: number; keep: boolean }
  | { kind: "free"; pick: number; thread: number }
  | { kind: "realloc"; pick: number; size: number; thread: number }
  | { kind: "trim"; pad: number; thread: number };

// ── sizes ────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * An arbitrary request size drawn from `distribution`; "adversarial" sizes sit within 24 bytes of an edge where a
 * model changes behaviour (thresholds, bin and size-class borders, limits: the descriptors' `edgeSizes`).
 */
export function sizeArbitrary(distribution: SizeDistribution = "small", edges: readonly number[] = ALL_EDGE_SIZES):
  fc.Arbitrary<number> {
  switch (distribution) {
    case "small":
      return fc.oneof(
        { arbitrary: fc.integer({ min: 0, max: 128 }), weight: 70 },
        { arbitrary: fc.integer({ min: 129, max: 1024 }), weight: 20 },
        { arbitrary: fc.integer({ min: 1025, max: 65536 }), weight: 8 },
        { arbitrary: fc.integer({ min: 65537, max: 1 << 19 }), weight: 2 },
      );
    case "power-law":
      // log-uniform over 1 B … 512 KiB: as many requests between 16 and 32 bytes as between 256 and 512 KiB
      return fc.integer({ min: 0, max: 1900 }).map((e) => Math.floor(2 ** (e / 100)));
    case "bimodal":
      return fc.oneof(
        { arbitrary: fc.integer({ min: 16, max: 64 }), weight: 8 },
        { arbitrary: fc.integer({ min: 96 * 1024, max: 512 * 1024 }), weight: 2 },
      );
    case "adversarial":
      return fc.tuple(fc.constantFrom(...edges), fc.integer({ min: -24, max: 24 }))
        .map(([edge, delta]) => Math.max(0, edge + delta));
  }
}

// ── commands ─────────────────────────────────────────────────────────────────────────────────────────────

function allocCodeArbitrary(allOps: boolean): fc.Arbitrary<OpCode> {
  if (!allOps) return fc.constant(OpCode.malloc);
  return fc.oneof(
    { arbitrary: fc.constant(OpCode.malloc), weight: 80 },
    { arbitrary: fc.constant(OpCode.calloc), weight: 8 },
    { arbitrary: fc.constantFrom(OpCode.memalign, OpCode.alignedAlloc, OpCode.posixMemalign), weight: 8 },
    { arbitrary: fc.constantFrom(OpCode.valloc, OpCode.pvalloc), weight: 4 },
  );
}

/** An arbitrary program of allocation commands. */
export function commandsArbitrary(shape: TraceShape = {}): fc.Arbitrary<Command[]> {
  const threads = Math.max(1, shape.threads ?? 1);
  const allOps = shape.allOps ?? true;
  const size = sizeArbitrary(shape.sizes, shape.edges);
  const thread = fc.integer({ min: 0, max: threads - 1 });
  const alloc = fc.record({
    kind: fc.constant("alloc" as const),
    code: allocCodeArbitrary(allOps),
    size,
    align: fc.integer({ min: 4, max: 12 }).map((k) => 2 ** k),
    thread,
    keep: shape.lifetimes === "long-lived" ? fc.boolean() : fc.constant(false),
  });
  const free = fc.record({ kind: fc.constant("free" as const), pick: fc.nat(), thread });
  const realloc = fc.record({ kind: fc.constant("realloc" as const), pick: fc.nat(), size, thread });
  const trim = fc.record({ kind: fc.constant("trim" as const), pad: fc.integer({ min: 0, max: 1 << 16 }), thread });
  const command: fc.Arbitrary<Command> = allOps
    ? fc.oneof(
      { arbitrary: alloc, weight: 50 },
      { arbitrary: free, weight: 40 },
      { arbitrary: realloc, weight: 9 },
      { arbitrary: trim, weight: 1 },
    )
    : fc.oneof({ arbitrary: alloc, weight: 55 }, { arbitrary: free, weight: 45 });
  return fc.array(command, { minLength: shape.minOps ?? 0, maxLength: shape.maxOps ?? 500, size: "max" });
}

/** Turns a program into trace operations, resolving each free's `pick` with `lifetimes`. */
export function commandsToOps(commands: readonly Command[], lifetimes: LifetimePolicy = "random"): TraceOp[] {
  const ops: TraceOp[] = [];
  const live: number[] = [];
  let names = 0;
  const push = (tid: number, code: OpCode, ptr: number, a: number, b: number, res: number) => {
    ops.push({ seq: ops.length + 1, tid: MAIN_TID + tid, code, ptr, a, b, res, line: 0 });
  };
  const choose = (pick: number): number => {
    if (lifetimes === "lifo") return live.length - 1;
    if (lifetimes === "fifo") return 0;
    return pick % live.length;
  };
  for (const c of commands) {
    switch (c.kind) {
      case "alloc": {
        const name = NAME_BASE + 16 * names++;
        const aligned = c.code === OpCode.memalign || c.code === OpCode.alignedAlloc || c.code === OpCode.posixMemalign;
        if (c.code === OpCode.calloc) {
          const nmemb = 1 + (c.size % 7);
          push(c.thread, c.code, 0, nmemb, Math.ceil(c.size / nmemb), name);
        } else if (aligned) {
          push(c.thread, c.code, 0, c.align, c.size, name);
        } else {
          push(c.thread, c.code, 0, c.size, 0, name);
        }
        if (!c.keep) live.push(name);
        break;
      }
      case "free": {
        if (!live.length) break;
        const i = choose(c.pick);
        push(c.thread, OpCode.free, live[i], 0, 0, 0);
        live.splice(i, 1);
        break;
      }
      case "realloc": {
        if (!live.length) break;
        const i = c.pick % live.length;
        if (c.size === 0) {
          push(c.thread, OpCode.realloc, live[i], 0, 0, 0);
          live.splice(i, 1);
          break;
        }
        const name = NAME_BASE + 16 * names++;
        push(c.thread, OpCode.realloc, live[i], c.size, 0, name);
        live[i] = name;
        break;
      }
      case "trim":
        push(c.thread, OpCode.trim, 0, c.pad, 0, 0);
        break;
    }
  }
  return ops;
}

/** An arbitrary trace of the given shape. */
export function traceArbitrary(shape: TraceShape = {}): fc.Arbitrary<TraceOp[]> {
  return commandsArbitrary(shape).map((commands) => commandsToOps(commands, shape.lifetimes));
}

// ── Robson-style adversary ───────────────────────────────────────────────────────────────────────────────

export interface RobsonParameters {
  /** Size of the first phase's blocks. */
  base: number;
  /** Phases; block size doubles from one to the next. */
  phases: number;
  /** Blocks allocated per phase. */
  blocks: number;
  /** Of every `stride` live blocks, one is kept and the others freed at the end of a phase. */
  stride: number;
}

/**
 * Robson's adversary against any placement policy: each phase allocates blocks twice as large as the last, then
 * frees all but every `stride`-th live block, so the survivors pin holes too small for the next phase.
 */
export function robsonOps(p: RobsonParameters): TraceOp[] {
  const ops: TraceOp[] = [];
  let live: number[] = [];
  let names = 0;
  const push = (code: OpCode, ptr: number, a: number, res: number) => {
    ops.push({ seq: ops.length + 1, tid: MAIN_TID, code, ptr, a, b: 0, res, line: 0 });
  };
  for (let phase = 0; phase < p.phases; phase++) {
    const size = p.base * 2 ** phase;
    for (let k = 0; k < p.blocks; k++) {
      const name = NAME_BASE + 16 * names++;
      push(OpCode.malloc, 0, size, name);
      live.push(name);
    }
    const kept: number[] = [];
    live.forEach((name, i) => {
      if (i % p.stride === 0) kept.push(name);
      else push(OpCode.free, name, 0, 0);
    });
    live = kept;
  }
  return ops;
}

/** An arbitrary Robson-style adversarial trace. */
export function robsonArbitrary(): fc.Arbitrary<TraceOp[]> {
  return fc.record({
    base: fc.integer({ min: 8, max: 256 }),
    phases: fc.integer({ min: 1, max: 8 }),
    blocks: fc.integer({ min: 1, max: 96 }),
    stride: fc.integer({ min: 2, max: 4 }),
  }).map(robsonOps);
}

/** An arbitrary trace of any shape: size distribution, lifetime policy and thread count drawn too. */
export function anyTraceArbitrary(options: { maxThreads?: number; maxOps?: number; edges?: readonly number[] } = {}):
  fc.Arbitrary<TraceOp[]> {
  const shaped = fc.record({
    sizes: fc.constantFrom(...SIZE_DISTRIBUTIONS),
    lifetimes: fc.constantFrom(...LIFETIME_POLICIES),
    threads: fc.integer({ min: 1, max: Math.max(1, options.maxThreads ?? 4) }),
  }).chain((shape) => traceArbitrary({ ...shape, maxOps: options.maxOps, edges: options.edges }));
  return fc.oneof({ arbitrary: shaped, weight: 9 }, { arbitrary: robsonArbitrary(), weight: 1 });
}
