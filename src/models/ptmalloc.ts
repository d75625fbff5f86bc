// glibc 2.36 ptmalloc as the rest of heaplab sees it (the model itself: assembly/ptmalloc/).

import type { ModelDescriptor } from "./types.js";

const NAMESPACE = "glibc.malloc.";

export const ptmalloc: ModelDescriptor = {
  name: "ptmalloc",
  title: "glibc 2.36 ptmalloc",
  tunables: {
    syntax: "GLIBC_TUNABLES syntax",
    example: "glibc.malloc.tcache_count=0:glibc.malloc.mxfast=0",
    owns: (name) => name.startsWith("glibc."),
    short: (name) => (name.startsWith(NAMESPACE) ? name.slice(NAMESPACE.length) : name),
    // glibc.rtld.…, glibc.cpu.… are other parts of glibc's.
    ignores: (name) => !name.startsWith(NAMESPACE),
  },
  pageSize: 4096,
  // glibc's default mmap threshold: larger requests take the mmap path.
  largeRequest: 128 * 1024,
  stats: {
    title: "mallinfo2 (end)",
    fields: ["arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost"],
  },
  states: {
    allocated: { color: "#e4572e", held: true },
    tcache: { color: "#17bebb", freeList: true },
    fastbin: { color: "#2e86ab", freeList: true },
    unsorted: { color: "#a5d8ff", freeList: true, ranged: true },
    smallbin: { color: "#4c6ef5", freeList: true },
    largebin: { color: "#7048e8", freeList: true, ranged: true },
    top: { color: "#dee2e6" },
    mmapped: { color: "#f4a259", held: true },
  },
  parts: {
    live: { color: "#e4572e", meaning: "live", group: "live" },
    headers: { color: "#9c36b5", meaning: "internal", group: "overhead" },
    rounding: { color: "#ffd43b", meaning: "internal", group: "overhead" },
    tcache: { color: "#17bebb", meaning: "external", group: "cached" },
    fastbins: { color: "#2e86ab", meaning: "external", group: "cached" },
    unsorted: { color: "#a5d8ff", meaning: "external", group: "binned" },
    smallBins: { color: "#4c6ef5", meaning: "external", group: "binned" },
    largeBins: { color: "#7048e8", meaning: "external", group: "binned" },
    top: { color: "#dee2e6", meaning: "external", group: "slack" },
    mmapSlack: { color: "#f4a259", meaning: "internal", group: "slack" },
    metadata: { color: "#495057", meaning: "metadata", group: "metadata" },
  },
  spans: false,
  brkHeap: true,
  locks: ["arenaLock"],
  perThread: "its arena",
  // Bin and tcache edges (24-byte chunk steps), the small/large bin border, the mmap threshold and its neighbours.
  edgeSizes: [0, 1, 8, 24, 25, 40, 56, 72, 88, 104, 120, 128, 136, 1000, 1008, 1016, 1024, 1032, 1033, 4096, 131064,
    131072, 131073, 1048576],
};
