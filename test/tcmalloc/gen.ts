// fast-check traces aimed at TCMalloc's machinery: runs of one size class (thread-cache limits, transfer
// cache, span release), sizes at span boundaries, large and page-aligned blocks, and several threads that free
// each other's blocks. Rendered as alloc-trace v1 text with fresh keys for every block.

import fc from "fast-check";

export type Step =
  | { kind: "malloc"; size: number; thread: number }
  | { kind: "free"; pick: number; thread: number }
  | { kind: "run"; size: number; count: number; thread: number; freeThread: number; reverse: boolean }
  | { kind: "memalign"; align: number; size: number; thread: number }
  | { kind: "realloc"; pick: number; size: number; thread: number };

/** Sizes: class sizes and their neighbours, classes with few objects per span, and large blocks. */
const size: fc.Arbitrary<number> = fc.oneof(
  { weight: 30, arbitrary: fc.integer({ min: 0, max: 1024 }) },
  { weight: 20, arbitrary: fc.constantFrom(8, 16, 17, 48, 64, 100, 1000, 1024, 1025, 2817, 4096, 12288, 24577, 40000) },
  { weight: 15, arbitrary: fc.integer({ min: 1025, max: 65_536 }) },
  { weight: 8, arbitrary: fc.integer({ min: 65_537, max: 262_144 }) },
  { weight: 4, arbitrary: fc.integer({ min: 262_145, max: 3 << 20 }) },
);

/** Steps over `threads` threads, with request sizes drawn from `sizes`. */
export function stepArbitrary(threads: number, sizes: fc.Arbitrary<number> = size): fc.Arbitrary<Step> {
  const thread = fc.nat({ max: threads - 1 });
  const pick = fc.nat({ max: 1 << 16 });
  return fc.oneof(
    { weight: 30, arbitrary: fc.record({ size: sizes, thread }).map((s): Step => ({ kind: "malloc", ...s })) },
    { weight: 28, arbitrary: fc.record({ pick, thread }).map((s): Step => ({ kind: "free", ...s })) },
    {
      weight: 6,
      arbitrary: fc.record({
        size: sizes, count: fc.integer({ min: 2, max: 160 }), thread, freeThread: thread, reverse: fc.boolean(),
      }).map((s): Step => ({ kind: "run", ...s })),
    },
    {
      weight: 3,
      arbitrary: fc.record({ align: fc.integer({ min: 3, max: 17 }).map((k) => 2 ** k), size: sizes, thread })
        .map((s): Step => ({ kind: "memalign", ...s })),
    },
    {
      weight: 8,
      arbitrary: fc.record({ pick, size: fc.oneof(sizes, fc.constant(0)), thread })
        .map((s): Step => ({ kind: "realloc", ...s })),
    },
  );
}

const PID = 5150;

/**
 * Renders steps as alloc-trace v1 text; thread k runs as tid PID + k (the main thread is the pid). The thread of
 * the first operation becomes the main thread: the native replayer and the lab agree on which thread is the main
 * one only when the pid appears in the trace.
 */
export function render(list: readonly Step[]): string {
  const first = list.find((s) => s.kind !== "free" && s.kind !== "realloc");
  const swap = first ? first.thread : 0;
  const tid = (thread: number): number => PID + (thread === swap ? 0 : thread === 0 ? swap : thread);
  const lines = [`# alloc-trace v1 pid=${PID} ppid=1 exe=generated`];
  const live: string[] = [];
  let next = 0x100000;
  let seq = 0;
  const fresh = (): string => `0x${(next += 0x1000).toString(16)}`;
  const emit = (thread: number, text: string): void => { lines.push(`${++seq} ${tid(thread)} ${text}`); };
  const take = (pick: number): string => live.splice(pick % live.length, 1)[0];
  for (const s of list) {
    switch (s.kind) {
      case "malloc": { const a = fresh(); live.push(a); emit(s.thread, `m ${s.size} ${a}`); break; }
      case "memalign": { const a = fresh(); live.push(a); emit(s.thread, `a ${s.align} ${s.size} ${a}`); break; }
      case "free": if (live.length) emit(s.thread, `f ${take(s.pick)}`); break;
      case "realloc": {
        if (!live.length) break;
        const old = take(s.pick);
        if (s.size === 0) { emit(s.thread, `r ${old} 0 0x0`); break; }
        const a = fresh();
        live.push(a);
        emit(s.thread, `r ${old} ${s.size} ${a}`);
        break;
      }
      case "run": {
        const run: string[] = [];
        for (let i = 0; i < s.count; i++) { const a = fresh(); run.push(a); emit(s.thread, `m ${s.size} ${a}`); }
        if (s.reverse) run.reverse();
        for (const a of run) emit(s.freeThread, `f ${a}`);
        break;
      }
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Generated traces over `threads` threads, as text (never empty: the native replayer waits forever on a
 * threaded replay without operations). */
export function traces(threads: number, maxSteps: number, sizes: fc.Arbitrary<number> = size): fc.Arbitrary<string> {
  return fc.array(stepArbitrary(threads, sizes), { minLength: 1, maxLength: maxSteps }).map(render)
    .filter((text) => text.split("\n").length > 2);
}
