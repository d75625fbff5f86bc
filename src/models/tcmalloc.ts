// gperftools 2.10 TCMalloc as the rest of heaplab sees it (the model itself: assembly/tcmalloc/).

import type { ModelDescriptor } from "./types.js";

const NAMESPACE = "TCMALLOC_";

export const tcmalloc: ModelDescriptor = {
  name: "tcmalloc",
  title: "gperftools 2.10 TCMalloc",
  tunables: {
    syntax: "its environment variables",
    example: "TCMALLOC_RELEASE_RATE=0:TCMALLOC_TRANSFER_NUM_OBJ=64",
    owns: (name) => name.startsWith(NAMESPACE),
    short: (name) => name,
  },
  pageSize: 8192,
  // kMaxSize: larger requests bypass the size classes and go to the page heap.
  largeRequest: 256 * 1024,
  stats: { title: "MallocExtension (end)" },
  states: {
    allocated: { color: "#e4572e", held: true },
    threadcache: { color: "#17bebb", freeList: true },
    transfer: { color: "#2e86ab", freeList: true },
    central: { color: "#4c6ef5", freeList: true },
    pageheap: { color: "#ced4da" },
    released: { color: "#f1f3f5" },
    span: { color: "#adb5bd" },
  },
  parts: {
    live: { color: "#e4572e", meaning: "live", group: "live" },
    rounding: { color: "#ffd43b", meaning: "internal", group: "overhead" },
    threadCaches: { color: "#17bebb", meaning: "external", group: "cached" },
    transferCache: { color: "#2e86ab", meaning: "external", group: "cached" },
    centralLists: { color: "#4c6ef5", meaning: "external", group: "binned" },
    pageHeapFree: { color: "#ced4da", meaning: "external", group: "slack" },
    spanTails: { color: "#adb5bd", meaning: "external", group: "binned" },
    other: { color: "#868e96", meaning: "metadata", group: "metadata" },
  },
  spans: true,
  brkHeap: true,
  locks: ["centralLock", "pageheapLock"],
  perThread: "its thread cache",
  // Size-class edges, the page size, kMaxSize and its neighbours.
  edgeSizes: [0, 1, 8, 1024, 4096, 8192, 32768, 65536, 262144, 262145, 1048576],
};
