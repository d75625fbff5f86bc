// The registry of allocator models: MODELS is the only list of them. Everything outside src/models/ and the
// models' own wasm reads a descriptor (or asks the wasm instance what it can do) instead of naming a model.

import { ptmalloc } from "./ptmalloc.js";
import { tcmalloc } from "./tcmalloc.js";
import { mimalloc } from "./mimalloc.js";
import { jemalloc } from "./jemalloc.js";
import type { ModelDescriptor, PartInfo, StateInfo } from "./types.js";
import { strtoulValue } from "./tunables.js";

export { parseMallocConf, strtoulValue } from "./tunables.js";

export type { ModelDescriptor, PartGroup, PartInfo, PartMeaning, StateInfo, TunableSyntax } from "./types.js";

/** Every model, by name; the first is the default. */
export const MODELS = { ptmalloc, tcmalloc, mimalloc, jemalloc } as const satisfies Record<string, ModelDescriptor>;

export type ModelName = keyof typeof MODELS;

/** The models' names in registry order. */
export const MODEL_NAMES = Object.keys(MODELS) as ModelName[];

/** The model a lab or command runs when none is named. */
export const DEFAULT_MODEL: ModelName = MODEL_NAMES[0];

/** Whether `name` names a model. */
export function isModelName(name: string): name is ModelName {
  return Object.hasOwn(MODELS, name);
}

/** The descriptor of `name`; an error listing the known models when there is none. */
export function modelDescriptor(name: string): ModelDescriptor {
  if (!isModelName(name)) throw new Error(`unknown model '${name}' (known: ${MODEL_NAMES.join(", ")})`);
  return MODELS[name];
}

/**
 * Whether tunable `name` applies to `model`: it lies in the model's namespace, or in no model's namespace (options
 * every model takes, such as heap_base).
 */
export function tunableApplies(model: ModelName, name: string): boolean {
  return MODELS[model].tunables.owns(name) || !MODEL_NAMES.some((m) => MODELS[m].tunables.owns(name));
}

/** The model whose namespace `name` lies in, if any. */
function ownerOf(name: string): ModelDescriptor | undefined {
  const owner = MODEL_NAMES.find((m) => MODELS[m].tunables.owns(name));
  return owner && MODELS[owner];
}

/** A tunable's name without its namespace, for column titles. */
export function shortTunable(name: string): string {
  return ownerOf(name)?.tunables.short(name) ?? name;
}

/**
 * Parses `name=value:name=value` (every model's tunable syntax, e.g. `glibc.malloc.tcache_count=0:…`) into a
 * record. Each name is read by the model whose namespace it lies in: its `value` reader, and names it `ignores`
 * left out.
 */
export function parseTunables(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(":")) {
    if (!part.trim()) continue;
    const eq = part.indexOf("=");
    if (eq < 0) throw new Error(`tunable '${part}' has no value (expected name=value)`);
    const name = part.slice(0, eq).trim();
    const tunables = ownerOf(name)?.tunables;
    if (tunables?.ignores?.(name)) continue;
    const value = part.slice(eq + 1);
    if (!/^[ \t]*[-+]?[0-9]/.test(value)) throw new Error(`tunable '${name}' has a non-numeric value '${value}'`);
    out[name] = (tunables?.value ?? strtoulValue)(value);
  }
  return out;
}

/** Every model's entries of one descriptor table, the registry's first model winning on a shared name. */
function merged<T>(table: (d: ModelDescriptor) => Readonly<Record<string, T>>): ReadonlyMap<string, T> {
  const out = new Map<string, T>();
  for (const m of MODEL_NAMES) for (const [k, v] of Object.entries(table(MODELS[m]))) if (!out.has(k)) out.set(k, v);
  return out;
}

/** Heap-walk states of every model (viz draws rows without knowing their model). */
export const ALL_STATES: ReadonlyMap<string, StateInfo> = merged((d) => d.states);

/** Footprint parts of every model (report and viz read decompositions without knowing their model). */
export const ALL_PARTS: ReadonlyMap<string, PartInfo> = merged((d) => d.parts);

/** Request sizes at which any model changes behaviour, ascending. */
export const ALL_EDGE_SIZES: readonly number[] = [...new Set(MODEL_NAMES.flatMap((m) => MODELS[m].edgeSizes))]
  .sort((a, b) => a - b);

/** Where help text's descriptions start (the CLI's option tables). */
const HELP_COLUMN = 30;

/** One help line per model under an option's line: the model's name, then `text(model)`. */
function perModelLines(text: (d: ModelDescriptor) => string): string {
  const width = Math.max(...MODEL_NAMES.map((m) => m.length));
  const indent = " ".repeat(HELP_COLUMN + 2);
  return MODEL_NAMES.map((m) => `\n${indent}${m.padEnd(width)}  ${text(MODELS[m])}`).join("");
}

/** The models in help text, a line each: name and what it models. */
export function modelList(): string {
  return perModelLines((d) => d.title);
}

/** `--model` in help text, a line per model. */
export function modelHelp(): string {
  return `allocator model (default ${DEFAULT_MODEL}):${modelList()}`;
}

/** `--tunables` in help text: each model's syntax and an example, a line per model. */
export function tunablesHelp(): string {
  return `name=value:name=value, as the model reads them:${perModelLines((d) =>
    `${d.tunables.syntax}, e.g. ${d.tunables.example}`)}`;
}

/** `--threads arena` in help text: what each thread gets, a line per model. */
export function threadsHelp(): string {
  return `arena (default): each thread gets its own state:${perModelLines((d) => d.perThread)}`;
}
