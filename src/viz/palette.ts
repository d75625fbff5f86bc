// Colours: one per chunk state and footprint part (as the models' descriptors give them), one per size class.

import { ALL_PARTS, ALL_STATES, MODEL_NAMES, MODELS } from "../models/index.js";
import { formatBytes } from "../report/format.js";

/** Fill colour of each chunk state of every model; allocated chunks are warm, free lists cool, untouched memory grey. */
export const STATE_COLORS: Readonly<Record<string, string>> =
  Object.fromEntries([...ALL_STATES].map(([name, info]) => [name, info.color]));

/** Colour of a state, grey for a state this palette does not know. */
export function stateColor(state: string): string {
  return STATE_COLORS[state] ?? "#868e96";
}

/** Upper bounds of the object size bands, each four times the one before: small objects to large ones. */
export const SIZE_BANDS: readonly number[] = [16, 64, 256, 1024, 4096, 16384, 65536, 262144, Infinity];

/** A hue per size band, running from violet (the smallest objects) through blue and green to red (the largest). */
const BAND_HUES = [275, 235, 200, 165, 120, 75, 40, 15, 345];

/** The size band of objects of `size` bytes: the first band whose bound holds it. */
export function sizeBand(size: number): number {
  return SIZE_BANDS.findIndex((bound) => size <= bound);
}

/** The legend label of a size band: `≤ 64 B`, and `> 256.0 KiB` for the last. */
export function sizeBandLabel(band: number): string {
  return band === SIZE_BANDS.length - 1 ? `> ${formatBytes(SIZE_BANDS[band - 1])}` : `≤ ${formatBytes(SIZE_BANDS[band])}`;
}

/** The colour of a size band's middle, for its legend swatch. */
export function sizeBandColor(band: number): string {
  return `hsl(${BAND_HUES[band]},62%,50%)`;
}

/**
 * The colour of a size class: by its objects' size band when `size` is known (the band's hue, lighter for the
 * smaller sizes of the band, so that neighbouring classes are told apart and near sizes look alike); otherwise
 * a stable, well-spread colour per class (golden-angle hues). Class 0 (large / none) is grey.
 */
export function sizeClassColor(sizeClass: number, size?: number): string {
  if (sizeClass <= 0) return "#adb5bd";
  if (size !== undefined && size > 0) {
    const band = sizeBand(size);
    const low = band === 0 ? 1 : SIZE_BANDS[band - 1];
    const high = Number.isFinite(SIZE_BANDS[band]) ? SIZE_BANDS[band] : low * 4;
    const within = Math.min(1, Math.max(0, Math.log(size / low) / Math.log(high / low)));
    return `hsl(${BAND_HUES[band]},62%,${Math.round(64 - within * 24)}%)`;
  }
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
