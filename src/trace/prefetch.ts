// Reading a trace ahead of its consumer: the first batch is requested at once (which starts the file read, the
// gunzip and, for a large alloc-trace file, the parsing worker) while the caller still prepares its model.

import type { BatchOptions, TraceBatch, TraceSource } from "./types.js";

/** A trace whose first batch is on its way; `firstRead` settles once it is in (its header then known). */
export interface Prefetched extends TraceSource {
  firstRead: Promise<void>;
}

/**
 * The same trace, its first batch already requested (with `options`, which the consumer must honour). The first
 * `batches()` call continues that read; later calls read the trace anew. A read error surfaces from the first
 * `batches()` iteration, never before (`firstRead` resolves either way).
 */
export function prefetch(source: TraceSource, options?: BatchOptions): Prefetched {
  let started: AsyncIterator<TraceBatch> | undefined = source.batches(options)[Symbol.asyncIterator]();
  const first = started.next();
  const firstRead = first.then(() => {}, () => {}); // an error is reported by the iteration that awaits it
  return {
    ...source,
    firstRead,
    batches(later?: BatchOptions) {
      const it = started;
      started = undefined;
      if (!it) return source.batches(later);
      let pending: Promise<IteratorResult<TraceBatch>> | undefined = first;
      return {
        [Symbol.asyncIterator]() {
          return {
            next() {
              const p = pending ?? it.next();
              pending = undefined;
              return p;
            },
            return(value?: unknown) {
              return it.return ? it.return(value) : Promise.resolve({ done: true as const, value: undefined });
            },
          };
        },
      };
    },
  };
}
