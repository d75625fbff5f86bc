// `#host` in a browser build: the library's paths that need Node (files, gzip streams, workers) are never taken
// there, and reaching one anyway fails with a plain reason instead of a bundler's stub.

import type * as Node from "./node.js";

function absent<T>(what: string): () => Promise<T> {
  return () => Promise.reject(new Error(`${what} is not available in a browser`));
}

export const fs: typeof Node.fs = absent("node:fs");
export const fsPromises: typeof Node.fsPromises = absent("node:fs/promises");
export const os: typeof Node.os = absent("node:os");
export const stream: typeof Node.stream = absent("node:stream");
export const streamPromises: typeof Node.streamPromises = absent("node:stream/promises");
export const workerThreads: typeof Node.workerThreads = absent("node:worker_threads");
export const zlib: typeof Node.zlib = absent("node:zlib");
export const output: typeof Node.output = absent("writing files");
