// fuzz(): random traces through a model, checked after every operation; a failure is shrunk to a minimal trace
// and written as an alloc-trace v1 file that `heaplab replay` reproduces.

import fc from "fast-check";
import type { TraceOp } from "../trace/types.js";
import { anyTraceArbitrary, MAIN_TID } from "./arbitraries.js";
import { MODELS } from "../models/index.js";
import { type CustomProperty, type Finding, type RunOptions, runTrace } from "./run.js";
import { formatAllocTrace } from "./source.js";
import * as host from "#host";

export interface FuzzOptions extends Omit<RunOptions, "property" | "deterministic"> {
  /** Traces to generate (default 100). */
  runs?: number;
  /** fast-check seed (default: random); the same seed generates the same traces. */
  seed?: number;
  /** The traces (default: anyTraceArbitrary() around the model's edge sizes). */
  traces?: fc.Arbitrary<TraceOp[]>;
  /** Replay each trace twice and compare (true, the default), never (false), or every n-th trace (n). */
  deterministic?: boolean | number;
  /** A further property run after each trace. */
  property?: CustomProperty;
  /** Where to write the minimal failing trace (default: none is written). */
  output?: string;
  /** Called after each generated trace (not after shrinking attempts). */
  progress?: (runs: number, ops: number) => void;
}

export interface FuzzFailure {
  finding: Finding;
  /** The minimal failing trace. */
  ops: TraceOp[];
  /** Its alloc-trace v1 text. */
  text: string;
  /** Where it was written (when `output` was given). */
  path?: string;
  shrinks: number;
}

export interface FuzzResult {
  seed: number;
  /** Traces generated. */
  runs: number;
  /** Operations replayed with checks, shrinking included. */
  ops: number;
  failure?: FuzzFailure;
}

class PropertyFailed extends Error {
  readonly finding: Finding;
  constructor(finding: Finding) {
    super(`${finding.property}: ${finding.message}`);
    this.finding = finding;
  }
}

/** Fuzzes a model; resolves with the minimal failing trace when a property fails. */
export async function fuzz(options: FuzzOptions): Promise<FuzzResult> {
  const seed = options.seed ?? (Math.random() * 2 ** 31) | 0;
  const traces = options.traces ?? anyTraceArbitrary({ edges: MODELS[options.model].edgeSizes });
  let ops = 0;
  let generated = 0;
  let shrinking = false;
  const every = options.deterministic === false ? 0 : options.deterministic === true ? 1 : options.deterministic ?? 1;
  const property = fc.asyncProperty(traces, async (trace) => {
    ops += trace.length;
    const deterministic = shrinking || (every > 0 && generated % every === 0);
    const finding = await runTrace(trace, { ...options, deterministic });
    if (!shrinking) {
      generated++;
      options.progress?.(generated, ops);
    }
    if (finding) {
      shrinking = true;
      throw new PropertyFailed(finding);
    }
  });
  const details = await fc.check(property, { seed, numRuns: options.runs ?? 100, endOnFailure: false });
  const result: FuzzResult = { seed, runs: generated, ops };
  if (!details.failed) return result;
  if (!details.counterexample) throw new Error(`fuzzing stopped without a counterexample (seed ${seed})`);
  if (!(details.errorInstance instanceof PropertyFailed)) throw details.errorInstance;
  const [minimal] = details.counterexample;
  const text = formatAllocTrace(minimal, { pid: minimal[0]?.tid ?? MAIN_TID });
  result.failure = { finding: details.errorInstance.finding, ops: minimal, text, shrinks: details.numShrinks };
  if (options.output) {
    // Written whole or not at all, never over another file half way: the command line's output files.
    const { writeOutput } = await host.output();
    await writeOutput(options.output, text);
    result.failure.path = options.output;
  }
  return result;
}
