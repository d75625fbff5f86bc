// The trace replay's part of the model ABI, the same for every model: each model's index.ts re-exports it
// (src/lab/replay.ts drives it, src/lab/addresses.ts writes its address lines; the address table's own exports are
// for its tests).

export {
  replayTrace, traceColumns, traceCounts, traceErrorKind, traceErrorAddress, traceErrorEndedLine, objectLine, objectIds,
  traceObjectsReset, addressLive, addressEndedAt, addressBind, addressEnd,
} from "./trace-objects";
export { formatLines, linesWritten, linesReset, linesOrigin, setLinesOrigin, linesArena } from "./address-lines";
