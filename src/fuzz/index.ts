// heaplab/fuzz: property-based fuzzing of the allocator models.
//
//   import { fuzz, traceArbitrary } from "heaplab/fuzz";
//   const result = await fuzz({ model: "<a model name>", runs: 200, seed: 42, output: "minimal.trace" });

export {
  anyTraceArbitrary, commandsArbitrary, commandsToOps, LIFETIME_POLICIES, MAIN_TID, NAME_BASE, robsonArbitrary,
  robsonOps, SIZE_DISTRIBUTIONS, sizeArbitrary, traceArbitrary,
} from "./arbitraries.js";
export type { Command, LifetimePolicy, RobsonParameters, SizeDistribution, TraceShape } from "./arbitraries.js";
export { formatAllocTrace, traceSource } from "./source.js";
export type { SourceOptions } from "./source.js";
export { runTrace } from "./run.js";
export type { CustomProperty, Finding, PropertyName, RunOptions } from "./run.js";
export { fuzz } from "./fuzz.js";
export type { FuzzFailure, FuzzOptions, FuzzResult } from "./fuzz.js";
export type { Violation } from "../lab/check.js";
