// A one-line progress display for long replays and conversions: operations done, ops/s, elapsed time, and a bar
// when the total is known. Drawn on stderr only when it is a terminal, at most five times a second.

import type { BatchOptions, TraceSource } from "./types.js";

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export interface Progress {
  /** Adds `ops` finished operations. */
  tick(ops: number): void;
  /** Clears the line (and leaves nothing behind on a terminal). */
  done(): void;
}

const REDRAW_MS = 200;

function count(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  return `${n}`;
}

/** The progress line for `done` ops (or other `unit`s) after `seconds` (of `total` when known), `width` columns wide. */
export function progressLine(
  label: string, done: number, seconds: number, total: number | undefined, width: number, unit = "ops",
): string {
  const rate = seconds > 0 ? done / seconds : 0;
  const stats = `${count(done)} ${unit}  ${rate >= 1 || unit === "ops" ? count(Math.round(rate)) : rate.toFixed(2)} ${unit}/s  ${seconds.toFixed(1)} s`;
  if (!total) return `${label} ${stats}`.slice(0, width);
  const fraction = Math.min(1, done / total);
  const percent = `${(fraction * 100).toFixed(0).padStart(3)}%`;
  const barWidth = Math.max(10, Math.min(40, width - label.length - stats.length - percent.length - 6));
  const filled = Math.round(fraction * barWidth);
  return `${label} [${"#".repeat(filled)}${" ".repeat(barWidth - filled)}] ${percent} ${stats}`.slice(0, width);
}

/** A progress display on `stream` (default stderr); a silent one when the stream is not a terminal. */
export function createProgress(
  label: string, options: { total?: number; stream?: ProgressStream; now?: () => number; unit?: string } = {},
): Progress {
  const stream = options.stream ?? (typeof process !== "undefined" ? process.stderr : undefined);
  if (!stream?.isTTY) return { tick() {}, done() {} };
  const now = options.now ?? (() => performance.now());
  const start = now();
  let last = -Infinity;
  let done = 0;
  const width = (): number => Math.max(20, (stream.columns || 80) - 1);
  const draw = (): void => {
    const w = width();
    stream.write(`\r${progressLine(label, done, (now() - start) / 1000, options.total, w, options.unit).padEnd(w)}`);
  };
  return {
    tick(ops) {
      done += ops;
      const t = now();
      if (t - last < REDRAW_MS) return;
      last = t;
      draw();
    },
    done() {
      stream.write(`\r${" ".repeat(width())}\r`);
    },
  };
}

/** The same trace, ticking `progress` after every batch it hands on and finishing it at the end. */
export function withProgress(source: TraceSource, progress: Progress): TraceSource {
  return {
    ...source,
    batches: async function* (options?: BatchOptions) {
      try {
        for await (const batch of source.batches(options)) {
          yield batch;
          progress.tick(batch.length);
        }
      } finally {
        progress.done();
      }
    },
  };
}
