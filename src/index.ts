// heaplab: allocator models in WebAssembly, trace replay, and where the memory went.

export { createLab, modelOptions } from "./lab/lab.js";
export type { Lab, CallOptions, ReplayOptions, Size } from "./lab/lab.js";
export { addressLines, AddressFormatter } from "./lab/addresses.js";
export type { AddressOptions } from "./lab/addresses.js";
export { parseTunables } from "./lab/model.js";
export { HeapError, TraceError, CHUNK_STATES } from "./lab/types.js";
export type { HeapErrorKind } from "./lab/types.js";
export type { ChunkRow, ChunkState, LabOptions, ModelName, ReplaySummary, Stats } from "./lab/types.js";
export { readAllocTrace } from "./trace/alloc-trace.js";
export { openTrace, openAs, detectFormat, INPUT_FORMATS } from "./trace/detect.js";
export type { InputFormat, OpenOptions } from "./trace/detect.js";
export { readBinary } from "./trace/binary.js";
export { readMtrace } from "./trace/mtrace.js";
export { readRep } from "./trace/rep.js";
export { readAndroid } from "./trace/android.js";
export { readHeaptrack } from "./trace/heaptrack.js";
export { readLtrace } from "./trace/ltrace.js";
export { encodeTrace, encodeToBytes, writeTrace, outputFormatOf, OUTPUT_FORMATS } from "./trace/write.js";
export type { OutputFormat, WriteResult } from "./trace/write.js";
export { createProgress, withProgress } from "./trace/progress.js";
export type { ByteSource } from "./trace/input.js";
export { ParseError, OpCode, newBatch, BATCH_CAPACITY, requestedBytes } from "./trace/types.js";
export type { TraceBatch, TraceHeader, TraceOp, TraceSource, LossReport } from "./trace/types.js";
export { replayReport, reportReplay, metricAt, REPORT_SCHEMA } from "./report/report.js";
export type { Report, ReportOptions, Peak, Decomposition } from "./report/report.js";
export type { TimelineRow } from "./report/metrics.js";
export { formatReport } from "./report/text.js";
