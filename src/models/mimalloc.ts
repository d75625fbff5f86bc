// mimalloc 2.0.9 as the rest of heaplab sees it (the model itself: assembly/mimalloc/).

import type { ModelDescriptor } from "./types.js";

const NAMESPACE = "MIMALLOC_";

export const mimalloc: ModelDescriptor = {
  name: "mimalloc",
  title: "mimalloc 2.0.9",
  tunables: {
    syntax: "its environment variables",
    example: "MIMALLOC_RESERVE_OS_MEMORY=67108864",
    owns: (name) => name.startsWith(NAMESPACE),
    short: (name) => name,
  },
  pageSize: 4096,
  // MI_MEDIUM_OBJ_SIZE_MAX: larger requests get a page of their own.
  largeRequest: 128 * 1024,
  stats: { title: "mi_stats_print (end)" },
  states: {
    allocated: { color: "#e4572e", held: true },
    pagefree: { color: "#17bebb", freeList: true },
    localfree: { color: "#2e86ab", freeList: true },
    threadfree: { color: "#4c6ef5", freeList: true },
    unlinked: { color: "#dee2e6" },
    freespan: { color: "#ced4da" },
  },
  parts: {
    live: { color: "#e4572e", meaning: "live", group: "live" },
    rounding: { color: "#ffd43b", meaning: "internal", group: "overhead" },
    pageFree: { color: "#17bebb", meaning: "external", group: "binned" },
    unusedCapacity: { color: "#dee2e6", meaning: "external", group: "slack" },
    freeSpans: { color: "#ced4da", meaning: "external", group: "slack" },
    metadata: { color: "#495057", meaning: "metadata", group: "metadata" },
  },
  spans: true,
  locks: [],
  // mimalloc never moves the program break: a recorded one means nothing to it.
  brkHeap: false,
  perThread: "its heap",
  // Bin edges, the small and medium object limits, a large page.
  edgeSizes: [0, 1, 8, 16, 1024, 8192, 16384, 131072, 131073, 1048576],
};
