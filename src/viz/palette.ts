// Colours: one per chunk state, one per TCMalloc size class, one per footprint part.

/** Fill colour of each chunk state; allocated chunks are warm, free lists cool, untouched memory grey. */
export const STATE_COLORS: Readonly<Record<string, string>> = {
  allocated: "#e4572e",
  tcache: "#17bebb",
  fastbin: "#2e86ab",
  unsorted: "#a5d8ff",
  smallbin: "#4c6ef5",
  largebin: "#7048e8",
  top: "#dee2e6",
  mmapped: "#f4a259",
  threadcache: "#17bebb",
  transfer: "#2e86ab",
  central: "#4c6ef5",
  pageheap: "#ced4da",
  released: "#f1f3f5",
  span: "#adb5bd",
};

/** Colour of a state, grey for a state this palette does not know. */
export function stateColor(state: string): string {
  return STATE_COLORS[state] ?? "#868e96";
}

/** States drawn as free memory (everything but allocated and mmapped). */
export function isFreeState(state: string): boolean {
  return state !== "allocated" && state !== "mmapped";
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

/** Footprint parts bottom first: what the program holds, the allocator's overhead, then free memory by tier. */
export const PART_ORDER = ["requested", "overhead", "mmapped", "tcache", "fastbin", "unsorted", "smallbin",
  "largebin", "threadcache", "transfer", "central", "span", "pageheap", "released", "top"];

/**
 * Colour of a footprint part: requested bytes as allocated chunks, overhead yellow, a chunk state's part in
 * that state's colour, anything else by its position.
 */
export function partColor(name: string, index: number): string {
  if (name === "requested") return STATE_COLORS.allocated;
  if (name === "overhead") return "#ffd43b";
  return STATE_COLORS[name] ?? PART_COLORS[index % PART_COLORS.length];
}
