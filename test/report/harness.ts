// Compiles test/report/harness/index.ts (a stand-in model driving assembly/common/metrics.ts) once per test
// file and instantiates it.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type ASUtil, instantiate } from "@assemblyscript/loader";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface Harness extends ASUtil {
  memory: WebAssembly.Memory;
  init(): void;
  allocBuffer(bytes: number): number;
  step(code: number, object: number, a: number, b: number, address: number, footprint: number, syscalls: number,
    locks: number, live: number, flags: number): void;
  metricsRelease(va: number | bigint, len: number | bigint): void;
  residentTouch(va: bigint, len: bigint): void;
  residentRelease(va: bigint, len: bigint): void;
  residentPageCount(): bigint;
  [name: string]: unknown;
}

let compiled: WebAssembly.Module | undefined;

function compile(): WebAssembly.Module {
  if (compiled) return compiled;
  const out = join(mkdtempSync(join(tmpdir(), "heaplab-metrics-")), "harness.wasm");
  execFileSync(process.execPath, [join(root, "node_modules/assemblyscript/bin/asc.js"),
    "test/report/harness/index.ts", "--config", "asconfig.json", "--target", "release", "--outFile", out],
  { cwd: root, stdio: "inherit" });
  compiled = new WebAssembly.Module(readFileSync(out));
  return compiled;
}

/** A fresh, initialised harness instance. */
export async function harness(): Promise<Harness> {
  let instance: Harness;
  const result = await instantiate<Record<string, unknown>>(compile(), {
    env: {
      abort(message: number, file: number, line: number) {
        throw new Error(`harness aborted: ${instance.__getString(message)} at ${instance.__getString(file)}:${line}`);
      },
      seed: () => 0,
      trace: () => undefined,
    },
  });
  instance = result.exports as unknown as Harness;
  instance.init();
  return instance;
}
