// Running the built command line as a user does, and the small files its tests feed it.

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../oracle/native.js";

export const MAIN = join(repoRoot, "dist", "cli", "main.js");

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `heaplab …args` in a process of its own. */
export function heaplab(args: string[], options: { cwd?: string; stdout?: number } = {}): Ran {
  const stdio = ["ignore", options.stdout ?? "pipe", "pipe"] as const;
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", cwd: options.cwd, stdio: [...stdio] });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr };
}

/** `heaplab …args` in a process of its own, not waited for: several run at once. */
export function heaplabAsync(args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => { stdout += d; });
    child.stderr.on("data", (d) => { stderr += d; });
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** An alloc-trace v1 text of `n` malloc/free pairs of `size` bytes (distinct contents for distinct sizes). */
export function allocTrace(n: number, size = 24): string {
  const lines = ["# alloc-trace v1 pid=7 ppid=1 exe=t"];
  for (let i = 0; i < n; i++) {
    const address = `0x${(0x10000 + i * 0x40).toString(16)}`;
    lines.push(`${2 * i + 1} 7 m ${size} ${address}`, `${2 * i + 2} 7 f ${address}`);
  }
  return lines.join("\n") + "\n";
}

/** The SHA-256 of every file in `dir` by name, links and their targets included: what a command must not change. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const s = statSync(path, { throwIfNoEntry: false });
    out[name] = s?.isFile() ? createHash("sha256").update(readFileSync(path)).digest("hex") : "dangling or folder";
  }
  return out;
}
