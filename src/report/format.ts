// Text helpers of the readable reports: units and aligned tables.

/** Bytes with a binary unit: `512 B`, `1.5 KiB`, `12.0 MiB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let u = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** A fraction as a percentage (`12.5 %`); null and non-finite values as `n/a`. */
export function formatPercent(f: number | null, decimals = 1): string {
  return f === null || !Number.isFinite(f) ? "n/a" : `${(f * 100).toFixed(decimals)} %`;
}

/** An integer with thousands separators. */
export function formatCount(n: number): string {
  const rounded = Math.round(n);
  // By hand: the first toLocaleString of a process loads the ICU locale data (~25 ms at start-up).
  if (!Number.isSafeInteger(rounded)) return rounded.toLocaleString("en-US");
  return String(rounded).replace(/\B(?=(\d{3})+$)/g, ",");
}

/** Nanoseconds in the most readable unit. */
export function formatNanoseconds(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${ns.toFixed(0)} ns`;
}

export type Align = "left" | "right";

/** Characters a terminal shows for `text` (ANSI colour codes take no room). */
function visibleLength(text: string): number {
  return [...text.replace(/\x1b\[[0-9;]*m/g, "")].length;
}

/**
 * An aligned text table: the first row is the header, underlined; columns are right-aligned unless `align`
 * says otherwise (by default the first column is left-aligned).
 */
export function table(rows: string[][], align?: Align[]): string {
  const columns = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, c) => Math.max(...rows.map((r) => visibleLength(r[c] ?? ""))));
  const side = (c: number): Align => align?.[c] ?? (c === 0 ? "left" : "right");
  const pad = (text: string, c: number): string => {
    const fill = " ".repeat(widths[c] - visibleLength(text));
    return side(c) === "left" ? text + fill : fill + text;
  };
  const lines = rows.map((r) => Array.from({ length: columns }, (_, c) => pad(r[c] ?? "", c)).join("  ").trimEnd());
  const rule = widths.map((w) => "─".repeat(w)).join("  ");
  return [lines[0], rule, ...lines.slice(1)].join("\n");
}
