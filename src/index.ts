// heaplab: allocator models in WebAssembly, trace replay, and where the memory went.

export { createLab, modelOptions } from "./lab/lab.js";
export type { Lab, CallOptions, ReplayOptions } from "./lab/lab.js";
export { addressLines, AddressFormatter, requestedBytes } from "./lab/addresses.js";
export type { AddressOptions } from "./lab/addresses.js";
export { parseTunables } from "./lab/model.js";
export { HeapError, TraceError, CHUNK_STATES } from "./lab/types.js";
export type { ChunkRow, ChunkState, LabOptions, ModelName, ReplaySummary, Stats } from "./lab/types.js";
export { readAllocTrace } from "./trace/alloc-trace.js";
export type { ByteSource } from "./trace/input.js";
export { ParseError, OpCode } from "./trace/types.js";
export type { TraceBatch, TraceHeader, TraceOp, TraceSource, LossReport } from "./trace/types.js";
