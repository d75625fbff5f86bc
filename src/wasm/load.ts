// Loads a model's wasm module: from the file system in Node, with fetch in a browser. The module is compiled once
// per model and instantiated once per lab, so labs never share state.

import { type ASUtil, instantiateSync } from "@assemblyscript/loader";
import * as host from "#host";
import { type ModelInstance, validateExports } from "./abi.js";

import { isModelName, MODEL_NAMES, type ModelName } from "../models/index.js";

export type { ModelName };

export type { ModelExports, ModelInstance } from "./abi.js";

const compiled = new Map<ModelName, Promise<WebAssembly.Module>>();

/** Where the built module of `model` lives, relative to this file (src/wasm or dist/wasm). */
export function wasmUrl(model: ModelName): URL {
  return new URL(`../../build/${model}.wasm`, import.meta.url);
}

async function wasmBytes(model: ModelName): Promise<BufferSource> {
  const url = wasmUrl(model);
  if (url.protocol === "file:") {
    const { readFile } = await host.fsPromises();
    try {
      return new Uint8Array(await readFile(url));
    } catch {
      throw new Error(`the ${model} model is not built (${url.pathname}): run \`npm run build\``);
    }
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot fetch ${url.href}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

function compile(model: ModelName): Promise<WebAssembly.Module> {
  let p = compiled.get(model);
  if (!p) {
    p = wasmBytes(model).then((bytes) => WebAssembly.compile(bytes));
    compiled.set(model, p);
  }
  return p;
}

/** Starts compiling `model`'s module ahead of its first instance; a failure is reported by that instance. */
export function precompile(model: string): void {
  if (isModelName(model)) compile(model).catch(() => {});
}

/** A fresh instance of `model`'s module. */
export async function instantiateModel(model: ModelName): Promise<ModelInstance> {
  if (!isModelName(model)) throw new Error(`unknown model '${model}' (known: ${MODEL_NAMES.join(", ")})`);
  const module = await compile(model);
  let instance: ASUtil & Record<string, unknown>;
  const imports = {
    env: {
      abort(message: number, file: number, line: number, column: number): never {
        const text = (p: number) => (p ? instance.__getString(p) : "?");
        throw new Error(`${model} model aborted: ${text(message)} at ${text(file)}:${line}:${column}`);
      },
      seed: () => 0,
      trace(message: number) {
        console.error(`[${model}] ${instance.__getString(message)}`);
      },
    },
  };
  // Synchronous on the compiled module: the loader's async path asks whether its argument is a fetch Response,
  // and in Node the first mention of `Response` loads the whole fetch implementation (~15 ms at start-up).
  const result = instantiateSync<Record<string, unknown>>(module, imports);
  instance = result.exports as unknown as ASUtil & Record<string, unknown>;
  validateExports(model, instance);
  return instance as unknown as ModelInstance;
}
