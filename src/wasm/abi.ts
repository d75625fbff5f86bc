// The model ABI as TypeScript sees it (docs/design.md, "Model ABI"): the exports every model has, and the groups of
// exports a model may have (capabilities). An instance is checked once when it is made, so a model built without
// a core export fails there with the export's name instead of a TypeError somewhere in a replay, and code that
// needs a capability asks for it instead of testing a model's name.
//
//   core          options, init, replay, errors, usable size, heap walk, statistics
//   spans         span walk                                                    viz/spanwalk.ts
//   sizeClasses   size-class table                                             viz/spanwalk.ts
//   checker       invariant checker                                            lab/check.ts
//   metrics       replay metrics and the footprint's decomposition             report/metrics.ts
//   debugMemory   raw simulated memory, for tests that corrupt a heap on purpose
//   labMemory     a program's loads and stores checked against the mapped regions, layouts, symbols  lab/memory.ts

import type { ASUtil } from "@assemblyscript/loader";

type Fn = (...args: number[]) => number;

/** The exports every model provides. Strings come back as pointers (`__getString`). */
export interface CoreExports {
  memory: WebAssembly.Memory;
  optionNames(): number;
  setOption(id: number, value: number): number;
  init(): void;
  allocBuffer(bytes: number): number;
  replay(ops: number, count: number, results: number, journal: boolean | number): number;
  lastErrorMessage(): number;
  lastErrorCode(): number;
  abiConstants(): number;
  usableSize(address: number): number;
  heapBase(): number;
  arenaBase(k: number): number;
  walkFields(): number;
  walkStates(): number;
  walk(buffer: number, capacity: number): number;
  statNames(): number;
  statsInto(buffer: number): number;
  // trace replay (assembly/common/trace-objects.ts)
  replayTrace(count: number, flags: number, ops: number, results: number): number;
  traceColumns(capacity: number): number;
  traceCounts(): number;
  traceErrorKind(): number;
  traceErrorAddress(): number;
  traceErrorEndedLine(): number;
  objectLine(id: number): number;
  objectIds(): number;
  traceObjectsReset(capacity: number, forgetAfter: number): number;
  addressLive(address: bigint): number;
  addressEndedAt(address: bigint): number;
  addressBind(address: bigint, id: number): number;
  addressEnd(address: bigint, line: number): void;
  // address lines (assembly/common/address-lines.ts)
  formatLines(from: number, count: number, heapBase: number, results: number, out: number): number;
  linesWritten(): number;
  linesReset(): void;
  linesOrigin(which: number): number;
  setLinesOrigin(which: number, address: number): void;
  linesArena(k: number, shown: number, base: number): void;
}

export interface SpanExports {
  spanFields(): number;
  spanStates(): number;
  spans(buffer: number, capacity: number): number;
}

export interface SizeClassExports {
  classCount(): number;
  classSize(cl: number): number;
}

export interface CheckerExports {
  check(buffer: number, capacity: number): number;
  checkMessage(code: number): number;
  setCheckEvery(n: number): void;
}

export interface MetricsExports {
  metricsConfigure: Fn;
  metricsOff(): void;
  metricNames(): number;
  metricsInto: Fn;
  metricsDecompose: Fn;
  counterNames(): number;
  countersInto: Fn;
  timelineRows(): number;
  timelineInto: Fn;
  timelineClear(): void;
  histogramsInto: Fn;
  decomposeParts(): number;
  decompose(buffer: number): number;
}

export interface DebugMemoryExports {
  debugLoad64(address: number): number;
  debugStore64(address: number, value: number): void;
}

export interface LabMemoryExports {
  memRead(address: bigint, buffer: number, length: number): number;
  memWrite(address: bigint, buffer: number, length: number): number;
  symbols(): number;
  regions(): number;
  layoutNames(): number;
  setTcacheKey(key: bigint): void;
  lastResult(): bigint;
  addressKinds(): number;
  addressKind(address: bigint): number;
  tcacheOf(thread: number): bigint;
}

/** The exports of a model instance: the core, and whatever capabilities it has (ask with `hasCapability`). */
export type ModelExports = CoreExports & Partial<SpanExports & SizeClassExports & CheckerExports & MetricsExports
  & DebugMemoryExports & LabMemoryExports> & { [name: string]: unknown };

export type ModelInstance = ASUtil & ModelExports;

const CORE: readonly (keyof CoreExports)[] = ["optionNames", "setOption", "init", "allocBuffer", "replay",
  "lastErrorMessage", "lastErrorCode", "abiConstants", "usableSize", "heapBase", "arenaBase", "walkFields", "walkStates", "walk",
  "statNames", "statsInto", "replayTrace", "traceColumns", "traceCounts", "traceErrorKind", "traceErrorAddress",
  "traceErrorEndedLine", "objectLine", "objectIds", "traceObjectsReset", "addressLive", "addressEndedAt", "addressBind",
  "addressEnd", "formatLines", "linesWritten", "linesReset", "linesOrigin", "setLinesOrigin", "linesArena"];

/** The exports of each capability; a model has a capability when it exports all of them. */
const CAPABILITIES = {
  spans: ["spanFields", "spanStates", "spans"],
  sizeClasses: ["classCount", "classSize"],
  checker: ["check", "checkMessage", "setCheckEvery"],
  metrics: ["metricsConfigure", "metricsOff", "metricNames", "metricsInto", "metricsDecompose", "counterNames",
    "countersInto", "timelineRows", "timelineInto", "timelineClear", "histogramsInto", "decomposeParts", "decompose"],
  debugMemory: ["debugLoad64", "debugStore64"],
  labMemory: ["memRead", "memWrite", "symbols", "regions", "layoutNames", "setTcacheKey", "lastResult",
    "addressKinds", "addressKind", "tcacheOf"],
} as const satisfies Record<string, readonly string[]>;

export type Capability = keyof typeof CAPABILITIES;

interface CapabilityExports {
  spans: SpanExports;
  sizeClasses: SizeClassExports;
  checker: CheckerExports;
  metrics: MetricsExports;
  debugMemory: DebugMemoryExports;
  labMemory: LabMemoryExports;
}

const missing = (exports: Record<string, unknown>, names: readonly string[]): string[] =>
  names.filter((name) => typeof exports[name] !== "function");

/**
 * Checks the exports of a fresh instance of `model`: every core export is there, and each capability is exported
 * whole or not at all (half a capability is a model whose index.ts forgot an export).
 */
export function validateExports(model: string, exports: Record<string, unknown>): void {
  const problems: string[] = [];
  if (!(exports.memory instanceof WebAssembly.Memory)) problems.push("memory");
  problems.push(...missing(exports, CORE));
  for (const [capability, names] of Object.entries(CAPABILITIES)) {
    const absent = missing(exports, names);
    if (absent.length && absent.length < names.length) problems.push(`${absent.join(", ")} (of ${capability})`);
  }
  if (problems.length) {
    throw new Error(`the ${model} model does not export the model ABI: missing ${problems.join(", ")} `
      + "(see docs/design.md, \"Model ABI\")");
  }
}

/**
 * Checks src/'s copy of the batch format's constants (`expected`, by their names in common/ops.ts) against the
 * model's `abiConstants`; an error naming every constant that differs or that the model does not name.
 */
export function checkConstants(model: string, wasm: ModelInstance, expected: Readonly<Record<string, number>>): void {
  const actual = new Map(names(wasm, wasm.abiConstants()).map((pair) => {
    const eq = pair.indexOf("=");
    return [pair.slice(0, eq), Number(pair.slice(eq + 1))] as const;
  }));
  const wrong = Object.entries(expected).filter(([name, value]) => actual.get(name) !== value)
    .map(([name, value]) => `${name} is ${actual.get(name) ?? "not named"} in the model, ${value} here`);
  if (wrong.length) throw new Error(`the ${model} model's batch format differs from heaplab's: ${wrong.join("; ")}`);
}

/** Whether the instance has `capability` (all of its exports). */
export function hasCapability<C extends Capability>(wasm: ModelExports, capability: C):
  wasm is ModelInstance & CapabilityExports[C] {
  return missing(wasm, CAPABILITIES[capability]).length === 0;
}

/** The comma-separated names a string export returns, as a list. */
export function names(wasm: ModelInstance, pointer: number): string[] {
  const text = wasm.__getString(pointer);
  return text ? text.split(",").map((s) => s.trim()) : [];
}

/** Records read off a walk: `count` records of `fields.length` f64 each. */
export class Records {
  readonly count: number;
  readonly fields: readonly string[];
  readonly values: Float64Array;
  private readonly index: ReadonlyMap<string, number>;

  constructor(fields: readonly string[], values: Float64Array) {
    this.fields = fields;
    this.values = values;
    this.count = fields.length ? values.length / fields.length : 0;
    this.index = new Map(fields.map((name, i) => [name, i]));
  }

  /** The position of `field` in a record; an error naming the fields there are when the walk has no such field. */
  column(field: string): number {
    const i = this.index.get(field);
    if (i === undefined) throw new Error(`walk records have no field '${field}' (fields: ${this.fields.join(", ")})`);
    return i;
  }

  /** Field `field` of record `i`. */
  get(i: number, field: string): number {
    return this.values[i * this.fields.length + this.column(field)];
  }
}

/** A walk export: writes up to `capacity` records at `buffer` and returns how many there are in all. */
export type WalkExport = (buffer: number, capacity: number) => number;

/** The walk exports: heap walk, span walk, checker. */
export type WalkName = "walk" | "spans" | "check";

/** Each instance's record buffers by walk export: the stub runtime never frees, so a buffer is kept and grown. */
const buffers = new WeakMap<object, Map<WalkName, { pointer: number; capacity: number }>>();

/**
 * Every record of a growable walk: calls export `name` with the instance's buffer for it, and again with a larger
 * one while the records do not fit. The values are copied out of linear memory.
 */
export function readRecords(wasm: ModelInstance, name: WalkName, fields: readonly string[],
  allocate: (bytes: number) => number = (bytes) => wasm.allocBuffer(bytes)): Records {
  const walk = wasm[name] as WalkExport;
  const width = fields.length;
  let perInstance = buffers.get(wasm);
  if (!perInstance) buffers.set(wasm, (perInstance = new Map()));
  let buffer = perInstance.get(name) ?? { pointer: 0, capacity: 0 };
  for (;;) {
    if (buffer.capacity === 0) buffer = { pointer: allocate(256 * width * 8), capacity: 256 };
    perInstance.set(name, buffer);
    const count = walk(buffer.pointer, buffer.capacity);
    if (count <= buffer.capacity) {
      return new Records(fields, new Float64Array(wasm.memory.buffer, buffer.pointer, count * width).slice());
    }
    const capacity = count + (count >> 2);
    buffer = { pointer: allocate(capacity * width * 8), capacity };
  }
}
