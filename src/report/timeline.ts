// Timeline rows as CSV: one row every K ops plus every new peak, the footprint decomposed on each.

import type { TimelineRow } from "./metrics.js";

/** The CSV header for a model whose decomposition has `parts` (their columns are named `part.<name>`). */
export function timelineCsvHeader(parts: readonly string[]): string {
  return ["op", "seq", "line", "kind", "live", "footprint", "resident", ...parts.map((p) => `part.${p}`)].join(",");
}

/** CSV lines of `rows` (kinds joined with `+`: `sample+peak-live`; empty part cells where a row has none). */
export function timelineCsvLines(rows: readonly TimelineRow[], parts: readonly string[]): string[] {
  return rows.map((r) => [r.op, r.seq, r.line, r.kinds.join("+"), r.live, r.footprint, r.resident,
    ...parts.map((p) => r.parts[p] ?? "")].join(","));
}
