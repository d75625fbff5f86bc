// What the library needs of Node, loaded on first use. This module is what `#host` names in Node; in a browser
// build (package.json "imports", condition "browser") browser.ts takes its place, so that no bundler meets a
// Node built-in in the library's module graph.

export const fs = (): Promise<typeof import("node:fs")> => import("node:fs");
export const fsPromises = (): Promise<typeof import("node:fs/promises")> => import("node:fs/promises");
export const os = (): Promise<typeof import("node:os")> => import("node:os");
export const stream = (): Promise<{ Readable: typeof import("node:stream").Readable }> => import("node:stream");
export const streamPromises = (): Promise<typeof import("node:stream/promises")> => import("node:stream/promises");
export const workerThreads = (): Promise<typeof import("node:worker_threads")> => import("node:worker_threads");
export const zlib = (): Promise<typeof import("node:zlib")> => import("node:zlib");
/** Safe output files (src/io): Node only, like the rest. */
export const output = (): Promise<typeof import("../io/output.js")> => import("../io/output.js");
