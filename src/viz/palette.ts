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

/** A stable, well-spread colour per size class (golden-angle hues); class 0 (large / none) is grey. */
export function sizeClassColor(sizeClass: number): string {
  if (sizeClass <= 0) return "#adb5bd";
  const hue = Math.round((sizeClass * 137.508) % 360);
  const light = 48 + (sizeClass % 3) * 8;
  return `hsl(${hue},62%,${light}%)`;
}

const PART_COLORS = ["#e4572e", "#f4a259", "#17bebb", "#4c6ef5", "#7048e8", "#2e86ab", "#a5d8ff", "#ced4da",
  "#ffd43b", "#63e6be", "#f783ac", "#868e96"];

/**
 * Footprint parts bottom first: what the program holds, the allocator's overhead, then free memory by tier. Both
 * the heap-walk names (chunk states) and the replay metrics' names are listed.
 */
export const PART_ORDER = ["live", "requested", "headers", "rounding", "overhead", "metadata", "mmapSlack", "mmapped",
  "tcache", "fastbin", "fastbins", "unsorted", "smallbin", "smallBins", "largebin", "largeBins", "threadcache",
  "threadCaches", "transfer", "transferCache", "central", "centralLists", "span", "spanTails", "pageheap",
  "pageHeapFree", "released", "top", "other"];

/** Colours of parts whose names are not chunk states. */
const NAMED_PART_COLORS: Readonly<Record<string, string>> = {
  live: STATE_COLORS.allocated, requested: STATE_COLORS.allocated, headers: "#9c36b5", rounding: "#ffd43b",
  overhead: "#ffd43b", metadata: "#495057", mmapSlack: STATE_COLORS.mmapped, fastbins: STATE_COLORS.fastbin,
  smallBins: STATE_COLORS.smallbin, largeBins: STATE_COLORS.largebin, threadCaches: STATE_COLORS.threadcache,
  transferCache: STATE_COLORS.transfer, centralLists: STATE_COLORS.central, pageHeapFree: STATE_COLORS.pageheap,
  spanTails: STATE_COLORS.span, other: "#868e96",
};

/** Colour of a footprint part: by its name when known (chunk states keep their heap-map colour), else by position. */
export function partColor(name: string, index: number): string {
  return NAMED_PART_COLORS[name] ?? STATE_COLORS[name] ?? PART_COLORS[index % PART_COLORS.length];
}
