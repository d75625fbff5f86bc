// The free lists as glibc links them, read from simulated memory: the thread's tcache bins and every arena's
// fastbins, unsorted, small and large bins, following the links glibc follows (tcache and fastbin links decoded
// through PROTECT_PTR, bins by fd). A poisoned list is shown as it is: a node outside the allocator's heaps is
// flagged foreign (a fake chunk on the stack or in libc), a link into unmapped memory ends the list as broken,
// and a link back to a node already listed ends it as a loop.

import type { Model } from "./model.js";
import { names } from "../wasm/abi.js";
import { labExports, type Pointer } from "./memory.js";

export type LabListKind = "tcache" | "fastbin" | "unsorted" | "small" | "large";

export interface LabListNode<P extends Pointer = number> {
  /** The chunk's address (a tcache entry's mem − 16). */
  chunk: P;
  /** The size field of its header without the flag bits; null when the header is not mapped. */
  size: number | null;
  /** What the chunk lies in: "heap", "mmapped", "libc", "stack" or "unmapped". */
  where: string;
  /** Outside the allocator's heaps (a forged chunk elsewhere, or unmapped). */
  foreign: boolean;
  /** Its user pointer is not 16-aligned (glibc's "unaligned … chunk detected" when it is reached). */
  misaligned: boolean;
}

export interface LabList<P extends Pointer = number> {
  kind: LabListKind;
  /** tcache: the bin (tidx); fastbin: the fastbin index; bins: glibc's bin index (1 = unsorted). */
  index: number;
  /** The arena, in creation order (0 = main_arena); -1 for the tcache. */
  arena: number;
  /** tcache: counts[index] as glibc keeps it (it may disagree with the nodes on a poisoned list). */
  count?: number;
  nodes: LabListNode<P>[];
  /** The links came back to a node already listed. */
  loop: boolean;
  /** A link led into unmapped memory (the last node is that address). */
  broken: boolean;
}

export interface LabLists<P extends Pointer = number> {
  tcache: LabList<P>[];
  fastbins: LabList<P>[];
  unsorted: LabList<P>[];
  small: LabList<P>[];
  large: LabList<P>[];
}

const NODES_MAX = 1024;
const TCACHE_BINS = 64;
const NFASTBINS = 10;
const NBINS = 128;
const ARENAS_MAX = 1024;
const MASK64 = (1n << 64n) - 1n;
const SIZE_BITS = 7n;

/** Reads the free lists of the lab's thread 0 tcache and of every arena. */
export function labLists<P extends Pointer>(model: Model, pointer: (value: bigint) => P): LabLists<P> {
  const lab = labExports(model);
  const kinds = names(model.wasm, lab.addressKinds());
  const scratch = model.buffer(8);
  const word = (at: bigint): bigint | undefined => {
    if (at < 0n || at > MASK64 - 8n || !lab.memRead(at, scratch, 8)) return undefined;
    return new DataView(model.wasm.memory.buffer, scratch, 8).getBigUint64(0, true);
  };
  const where = (at: bigint): string => (at <= MASK64 ? kinds[lab.addressKind(at)] ?? "unmapped" : "unmapped");
  const node = (chunk: bigint): LabListNode<P> => {
    const header = word(chunk + 8n);
    const place = where(chunk);
    return {
      chunk: pointer(chunk),
      size: header === undefined ? null : Number(header & ~SIZE_BITS),
      where: place,
      foreign: place !== "heap",
      misaligned: ((chunk + 16n) & 15n) !== 0n,
    };
  };

  /** Follows a list from `first` (a chunk) with `next(chunk)`, until `end`, a loop, unmapped memory or the cap. */
  const follow = (list: LabList<P>, first: bigint, end: bigint, next: (chunk: bigint) => bigint | undefined): void => {
    const seen = new Set<bigint>();
    for (let chunk = first; chunk !== end && list.nodes.length < NODES_MAX;) {
      if (seen.has(chunk)) {
        list.loop = true;
        return;
      }
      seen.add(chunk);
      list.nodes.push(node(chunk));
      const link = next(chunk);
      if (link === undefined) {
        list.broken = true;
        return;
      }
      chunk = link;
    }
  };
  const make = (kind: LabListKind, index: number, arena: number): LabList<P> =>
    ({ kind, index, arena, nodes: [], loop: false, broken: false });

  const out: LabLists<P> = { tcache: [], fastbins: [], unsorted: [], small: [], large: [] };

  const tc = BigInt.asUintN(64, lab.tcacheOf(0));
  if (tc !== 0n) {
    for (let i = 0; i < TCACHE_BINS; i++) {
      const count = Number((word(tc + BigInt(2 * i) & ~7n) ?? 0n) >> BigInt(16 * (i % 4)) & 0xffffn);
      const entry = word(tc + 128n + BigInt(8 * i)) ?? 0n;
      if (entry === 0n && count === 0) continue;
      const list = { ...make("tcache", i, -1), count };
      // e->next is stored as PROTECT_PTR(&e->next, next); a chunk is its entry − 16, and NULL ends the list.
      const end = MASK64 - 15n;
      follow(list, entry === 0n ? end : entry - 16n, end, (chunk) => {
        const e = chunk + 16n;
        const stored = word(e);
        if (stored === undefined) return undefined;
        const next = (e >> 12n) ^ stored;
        return next === 0n ? end : BigInt.asUintN(64, next - 16n);
      });
      out.tcache.push(list);
    }
  }

  const mainArena = BigInt(names(model.wasm, lab.symbols()).find((p) => p.startsWith("main_arena="))!.slice(11));
  let av = mainArena;
  for (let arena = 0; arena < ARENAS_MAX; arena++) {
    for (let i = 0; i < NFASTBINS; i++) {
      const first = word(av + 16n + BigInt(8 * i)) ?? 0n;
      if (first === 0n) continue;
      const list = make("fastbin", i, arena);
      follow(list, first, 0n, (chunk) => {
        const stored = word(chunk + 16n);
        return stored === undefined ? undefined : ((chunk + 16n) >> 12n) ^ stored;
      });
      out.fastbins.push(list);
    }
    for (let i = 1; i < NBINS; i++) {
      const bin = av + 80n + BigInt(16 * i);
      const first = word(bin + 16n);
      if (first === undefined || first === bin) continue;
      const kind: LabListKind = i === 1 ? "unsorted" : i < 64 ? "small" : "large";
      const list = make(kind, i, arena);
      follow(list, first, bin, (chunk) => word(chunk + 16n));
      (kind === "unsorted" ? out.unsorted : kind === "small" ? out.small : out.large).push(list);
    }
    const next = word(av + 2160n);
    if (next === undefined || next === mainArena || next === 0n) break;
    av = next;
  }
  return out;
}
