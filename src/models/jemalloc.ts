// jemalloc 5.3.0 as the rest of heaplab sees it (the model itself: assembly/jemalloc/).

import { parseMallocConf } from "./tunables.js";
import type { ModelDescriptor } from "./types.js";

/** The MALLOC_CONF options that change the allocator (the model's other options describe the process). */
const OWN = new Set(["narenas", "tcache", "tcache_max", "lg_tcache_nslots_mul", "tcache_nslots_small_min",
  "tcache_nslots_small_max", "tcache_nslots_large", "lg_extent_max_active_fit", "dirty_decay_ms", "muzzy_decay_ms",
  "retain", "oversize_threshold"]);

export const jemalloc: ModelDescriptor = {
  name: "jemalloc",
  title: "jemalloc 5.3.0",
  tunables: {
    syntax: "MALLOC_CONF syntax",
    example: "narenas:1,tcache:false",
    owns: (name) => OWN.has(name),
    short: (name) => name,
    parse: parseMallocConf,
  },
  pageSize: 4096,
  // SC_LARGE_MINCLASS: larger requests are large extents, not slab regions.
  largeRequest: 16 * 1024,
  stats: { title: "mallctl stats (end)" },
  states: {
    allocated: { color: "#e4572e", held: true },
    tcache: { color: "#17bebb", freeList: true },
    central: { color: "#4c6ef5", freeList: true },
    pageheap: { color: "#ced4da" },
    released: { color: "#f1f3f5" },
  },
  parts: {
    live: { color: "#e4572e", meaning: "live", group: "live" },
    rounding: { color: "#ffd43b", meaning: "internal", group: "overhead" },
    tcache: { color: "#17bebb", meaning: "external", group: "cached" },
    slabs: { color: "#4c6ef5", meaning: "external", group: "binned" },
    dirty: { color: "#ced4da", meaning: "external", group: "slack" },
    muzzy: { color: "#adb5bd", meaning: "external", group: "slack" },
    metadata: { color: "#495057", meaning: "metadata", group: "metadata" },
  },
  spans: false,
  locks: [],
  brkHeap: false,
  perThread: "its tcache and arena",
  // The largest small class, the first large class, a huge request.
  edgeSizes: [0, 1, 8, 16, 14336, 16384, 16385, 65536, 1048576],
};
