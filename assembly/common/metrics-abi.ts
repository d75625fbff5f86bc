// The replay metrics' part of the model ABI, the same for every model: each model's index.ts re-exports it
// (src/report/metrics.ts reads them).

export {
  metricsConfigure, metricsOff, metricNames, metricsInto, metricsDecompose, counterNames, countersInto, timelineRows,
  timelineInto,
  timelineClear, histogramsInto, metricsUsableSizes,
} from "./metrics";
