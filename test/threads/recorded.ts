// Comparing a replay with the recording it came from: every address line against the address the program itself
// got, as an offset from the recorded heap base (heap lines) or from the arena's first block (arena lines).

import { readFileSync } from "node:fs";
import { openTrace } from "../../src/trace/detect.js";

export interface Recorded {
  /** seq → the address the recorded call returned. */
  results: Map<number, bigint>;
  heapBase: bigint;
}

/** The recorded results by seq and the recorded heap base. */
export async function loadRecorded(path: string): Promise<Recorded> {
  const source = await openTrace(path);
  const results = new Map<number, bigint>();
  for await (const b of source.batches()) {
    for (let i = 0; i < b.length; i++) results.set(b.seq[i], BigInt(b.res[i]));
  }
  const base = /^# heap-base (0x[0-9a-f]+)$/m.exec(readFileSync(path, "latin1"));
  return { results, heapBase: BigInt(base ? base[1] : 0) };
}

/**
 * The heap and arena lines of a replay whose offsets differ from the recording's. Arenas start where mmap put
 * them: an arena's base is taken from its first line, and its later lines are compared with it.
 */
export function recordedMismatches(lines: string[], recorded: Recorded): { compared: number; bad: string[] } {
  const arenaBases = new Map<string, bigint>();
  const bad: string[] = [];
  let compared = 0;
  for (const line of lines) {
    const [seq, , , where] = line.split(" ");
    const m = /^(heap|arena\d+)([+-])0x([0-9a-f]+)$/.exec(where ?? "");
    if (!m) continue;
    const offset = (m[2] === "-" ? -1n : 1n) * BigInt(`0x${m[3]}`);
    const address = recorded.results.get(Number(seq));
    if (address === undefined) throw new Error(`no recorded call with seq ${seq}`);
    if (m[1] !== "heap" && !arenaBases.has(m[1])) arenaBases.set(m[1], address - offset);
    const base = m[1] === "heap" ? recorded.heapBase : arenaBases.get(m[1])!;
    compared++;
    if (address - base !== offset) bad.push(`${line} (recorded ${m[1]}+0x${(address - base).toString(16)})`);
  }
  return { compared, bad };
}
