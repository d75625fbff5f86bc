// Colours: one per chunk state and footprint part (as the models' descriptors give them), one per size class.

import { ALL_PARTS, ALL_STATES, MODEL_NAMES, MODELS } from "../models/index.js";

/** Fill colour of each chunk state of every model; allocated chunks are warm, free lists cool, untouched memory grey. */
export const STATE_COLORS: Readonly<Record<string, string>> =
  Object.fromEntries([...ALL_STATES].map(([name, info]) => [name, info.color]));

/** Colour of a state, grey for a state this palette does not know. */
export function stateColor(state: string): string {
  return STATE_COLORS[state] ?? "#868e96";
}

/** A stable, well-spread colour per size class (golden-angle hues); class 0 (large / none) is grey. */
export function sizeClassColor(sizeClass: number): string {
  if (sizeClass <= 0) return "#adb5bd";
  const hue = Math.round((sizeClass * 137.508) % 360);
  const light = 48 + (sizeClass % 3) * 8;
  return `hsl(${hue},62%,${light}%)`;
}

const PART_COLORS = ["#e4572e", "#f4a259", "#17bebb", "#4c6ef5", "#7048e8", "#2e86ab", "#a5d8ff", "#ced4da",
  "#ffd43b", "#63e6be", "#f783ac", "#868e96"];

/** Parts of a timeline drawn from heap walks (viz/record.ts timelineRowOf), which no model decomposes into. */
const WALK_PART_COLORS: Readonly<Record<string, string>> = { requested: "#e4572e", overhead: "#ffd43b" };

/**
 * Footprint parts bottom first: what the program holds, the allocator's overhead, then each model's parts and
 * free-list states in the model's order. Both the heap-walk names (chunk states) and the replay metrics' names are
 * listed.
 */
export const PART_ORDER: readonly string[] = [...new Set(["live", "requested", "headers", "rounding", "overhead",
  ...MODEL_NAMES.flatMap((m) => [...Object.keys(MODELS[m].parts), ...Object.keys(MODELS[m].states)])])];

/** Colour of a footprint part: by its name when known (chunk states keep their heap-map colour), else by position. */
export function partColor(name: string, index: number): string {
  return ALL_PARTS.get(name)?.color ?? WALK_PART_COLORS[name] ?? STATE_COLORS[name] ?? PART_COLORS[index % PART_COLORS.length];
}
