// heaplab/viz: heap maps, bins views, span maps, timelines, diffs, the HTML report and notebook display.

export * from "./types.js";
export { escapeXml, hex, bytes, svgSize } from "./svg.js";
export * from "./palette.js";
export * from "./heapmap.js";
export * from "./bins.js";
export * from "./lists.js";
export * from "./spans.js";
export * from "./timeline.js";
export * from "./diff.js";
export * from "./report.js";
export * from "./display.js";
export * from "./record.js";
export * from "./spanwalk.js";
