// fast-check generator of alloc-trace v1 traces for differential testing: many small requests, some large ones,
// random lifetimes, realloc grow/shrink/NULL/0, calloc, the memalign family, malloc_trim and frees.
//
// A trace is generated as a list of abstract steps; rendering turns it into text with consistent addresses, so
// shrinking a step list always yields a valid trace. Addresses are keys only (neither the models nor the native
// replayer read them as addresses): every new block gets a fresh one.

import fc from "fast-check";

export type Step =
  | { kind: "malloc"; size: number }
  | { kind: "calloc"; nmemb: number; size: number }
  | { kind: "memalign" | "aligned_alloc" | "posix_memalign"; align: number; size: number }
  | { kind: "valloc" | "pvalloc"; size: number }
  | { kind: "realloc"; pick: number; size: number }
  | { kind: "realloc_null"; size: number }
  | { kind: "free"; pick: number }
  | { kind: "free_null" }
  | { kind: "trim"; pad: number };

/** Request sizes: mostly tcache/fastbin sizes, then small-bin, large-bin, mmap-threshold and multi-MiB ones. */
export const requestSize: fc.Arbitrary<number> = fc.oneof(
  { weight: 40, arbitrary: fc.integer({ min: 0, max: 128 }) },
  { weight: 25, arbitrary: fc.integer({ min: 129, max: 1100 }) },
  { weight: 15, arbitrary: fc.integer({ min: 1101, max: 70_000 }) },
  { weight: 6, arbitrary: fc.integer({ min: 70_001, max: 300_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 300_001, max: 6 << 20 }) },
  { weight: 2, arbitrary: fc.constantFrom(0, 24, 1032, 1033, 4096, 131_072, 135_168, 4 << 20) },
);

/** Alignments 16…65536 (powers of two), plus the odd values memalign rounds up. */
const alignment: fc.Arbitrary<number> = fc.oneof(
  { weight: 9, arbitrary: fc.integer({ min: 4, max: 16 }).map((k) => 1 << k) },
  { weight: 1, arbitrary: fc.constantFrom(1, 8, 24, 48, 100, 3000) },
);

const powerOfTwoAlignment: fc.Arbitrary<number> = fc.integer({ min: 3, max: 16 }).map((k) => 1 << k);

const pick = fc.nat({ max: 1 << 16 });

/**
 * An alignment above a page on a request big enough to be mmapped makes glibc itself nondeterministic: the chunk's
 * size (and so hblkhd and, after its free, the mmap threshold) depends on where the kernel placed the mapping. Such
 * requests keep page alignment; aligned requests that stay in the heap keep every alignment.
 */
function deterministic(align: number, size: number): number {
  return align > 4096 && size + align >= 60_000 ? 4096 : align;
}

export const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 30, arbitrary: requestSize.map((size): Step => ({ kind: "malloc", size })) },
  { weight: 30, arbitrary: pick.map((p): Step => ({ kind: "free", pick: p })) },
  {
    weight: 4,
    arbitrary: fc.record({ nmemb: fc.integer({ min: 0, max: 64 }), size: fc.integer({ min: 0, max: 4096 }) })
      .map(({ nmemb, size }): Step => ({ kind: "calloc", nmemb, size })),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      pick, size: fc.oneof(requestSize, fc.constant(0)),
    }).map(({ pick: p, size }): Step => ({ kind: "realloc", pick: p, size })),
  },
  { weight: 2, arbitrary: requestSize.map((size): Step => ({ kind: "realloc_null", size })) },
  {
    weight: 3,
    arbitrary: fc.record({ align: alignment, size: requestSize })
      .map(({ align, size }): Step => ({ kind: "memalign", align: deterministic(align, size), size })),
  },
  {
    weight: 1,
    arbitrary: fc.record({ align: alignment, size: requestSize })
      .map(({ align, size }): Step => ({ kind: "aligned_alloc", align: deterministic(align, size), size })),
  },
  {
    weight: 2,
    arbitrary: fc.record({ align: powerOfTwoAlignment, size: requestSize })
      .map(({ align, size }): Step => ({ kind: "posix_memalign", align: deterministic(align, size), size })),
  },
  { weight: 1, arbitrary: requestSize.map((size): Step => ({ kind: "valloc", size })) },
  { weight: 1, arbitrary: requestSize.map((size): Step => ({ kind: "pvalloc", size })) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: "free_null" }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(0, 64, 4096, 131_072).map((pad): Step => ({ kind: "trim", pad })),
  },
);

/** A list of steps; `maxLength` bounds the trace length. */
export function steps(maxLength = 300): fc.Arbitrary<Step[]> {
  return fc.array(step, { minLength: 1, maxLength });
}

const PID = 4242;

/** Renders steps as alloc-trace v1 text. Frees and reallocs name a live block chosen by `pick`; with no live
 * block they are dropped. Every allocation gets a fresh address; a realloc to 0 frees (glibc 2.36). */
export function renderTrace(list: readonly Step[]): string {
  const lines = [`# alloc-trace v1 pid=${PID} ppid=1 exe=generated`];
  const live: string[] = [];
  let next = 0x100000;
  let seq = 0;
  const fresh = (): string => `0x${(next += 0x1000).toString(16)}`;
  const emit = (text: string): void => {
    lines.push(`${++seq} ${PID} ${text}`);
  };
  const allocate = (text: string): void => {
    const address = fresh();
    live.push(address);
    emit(`${text} ${address}`);
  };
  for (const s of list) {
    switch (s.kind) {
      case "malloc": allocate(`m ${s.size}`); break;
      case "calloc": allocate(`c ${s.nmemb} ${s.size}`); break;
      case "memalign": allocate(`a ${s.align} ${s.size}`); break;
      case "aligned_alloc": allocate(`A ${s.align} ${s.size}`); break;
      case "posix_memalign": allocate(`P ${s.align} ${s.size}`); break;
      case "valloc": allocate(`v ${s.size}`); break;
      case "pvalloc": allocate(`V ${s.size}`); break;
      case "realloc_null": allocate(`r 0x0 ${s.size}`); break;
      case "free_null": emit("f 0x0"); break;
      case "trim": emit(`t ${s.pad} 0`); break;
      case "free": {
        if (live.length === 0) break;
        const [victim] = live.splice(s.pick % live.length, 1);
        emit(`f ${victim}`);
        break;
      }
      case "realloc": {
        if (live.length === 0) break;
        const i = s.pick % live.length;
        const old = live[i];
        if (s.size === 0) {
          live.splice(i, 1);
          emit(`r ${old} 0 0x0`);
        } else {
          live[i] = fresh();
          emit(`r ${old} ${s.size} ${live[i]}`);
        }
        break;
      }
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Generated traces, as text. */
export function traceText(maxLength = 300): fc.Arbitrary<string> {
  return steps(maxLength).map(renderTrace);
}
