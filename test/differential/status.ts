// Which differential cases the models are known to reproduce exactly. A case runs by default only once it is
// listed in MATCHING (so an unfinished model cannot turn the suite red); every other case is skipped, with the
// first line where the model departs from the real allocator noted in DIFFERENCES when known.
// HEAPLAB_DIFF_ALL=1 runs every case and writes test-output/differential-<suite>.md with the current picture;
// move a case into MATCHING as soon as it passes there.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../oracle/native.js";
import { RUN_KNOWN_DIFFERENCES } from "./compare.js";

/**
 * Cases that must match: ids `<suite>/<trace or property>/<configuration>`, or a prefix ending in `/*`.
 * Verified at the commit that lists them, with HEAPLAB_DIFF_ALL=1 and HEAPLAB_LONG=1.
 */
export const MATCHING: readonly string[] = [
  "ptmalloc-traces/*",
  "ptmalloc-threads/*",
  "ptmalloc-fuzz/*",
  "tcmalloc/*",
  "stats/*",
  "mallinfo/*",
];

/** Case id → the first differing line last seen (real vs model). */
export const DIFFERENCES: Readonly<Record<string, string>> = {};

/** Whether a case runs in this session. */
export function enabled(id: string): boolean {
  return RUN_KNOWN_DIFFERENCES || listedAsMatching(id);
}

function listedAsMatching(id: string): boolean {
  return MATCHING.some((m) => (m.endsWith("/*") ? id.startsWith(m.slice(0, -1)) : id === m));
}

/** The test title of a case: its id, and why it is skipped when it is. */
export function title(id: string): string {
  if (listedAsMatching(id)) return id;
  const known = DIFFERENCES[id];
  return known ? `${id} (known difference: ${known})` : `${id} (not yet matching)`;
}

const outcomes = new Map<string, string>();

/** Records a case's outcome (null = identical) for the status report. */
export function record(id: string, difference: string | null): void {
  outcomes.set(id, difference ?? "match");
}

/** Writes test-output/differential-<suite>.md (only with HEAPLAB_DIFF_ALL=1). */
export function writeStatus(suite: string): void {
  if (!RUN_KNOWN_DIFFERENCES || outcomes.size === 0) return;
  const dir = join(repoRoot, "test-output");
  mkdirSync(dir, { recursive: true });
  const rows = [...outcomes].map(([id, d]) => `| ${id} | ${d === "match" ? "match" : d.replace(/\|/g, "\\|")} |`);
  writeFileSync(join(dir, `differential-${suite}.md`), `| case | result |\n|---|---|\n${rows.join("\n")}\n`);
}
