// The pagemap (pagemap.h › TCMalloc_PageMap2<35>): page id → Span, a two-level radix tree. The root (2^17
// pointers) is a static array of the page heap; each leaf (2^18 span pointers, 2 MiB) comes from the metadata
// allocator on demand and covers 2 GiB of address space.
//
//   page id (35 bits)
//   ╒═════════════════════╤══════════════════════╕
//   │ root index (17 bits)│ leaf index (18 bits) │
//   ╘══════════╤══════════╧══════════╤═══════════╛
//              │                     │
//   PAGEMAP_ROOT[i1] ──► leaf (2^18 × Span*) [i2]
//
// Small-object spans are recorded at every page, free and large spans at their first and last page only.
//
// The size-class cache (packed-cache-inl.h › PackedCache): 2^16 direct-mapped words in front of the pagemap,
// indexed by the low 16 bits of the page id. A free that hits it never reads the span.
//
//   entry (u64)
//   ╒═════════════════════════════════╤══════════╤══════════════════╕
//   │ page id with its low 16 bits 0  │ 0 … 0    │ class (7 bits)   │   0x80 in the low byte: invalid
//   ╘═════════════════════════════════╧══════════╧══════════════════╛

import { ld64, st64 } from "../common/vmem";
import { PAGEMAP_ROOT, CLASS_CACHE } from "./globals";
import { metaDataAlloc } from "./system";

// @ts-ignore: decorator
@inline const LEAF_BITS: u64 = 18;
// @ts-ignore: decorator
@inline const ROOT_LENGTH: u64 = 1 << 17;
// @ts-ignore: decorator
@inline const LEAF_BYTES: u64 = (1 << LEAF_BITS) * 8;

/** The span recorded for page `p`, or 0. */
// @ts-ignore: decorator
@inline export function pagemapGet(p: u64): u64 {
  const i1 = p >> LEAF_BITS;
  if (i1 >= ROOT_LENGTH) return 0;
  const leaf = ld64(PAGEMAP_ROOT + (i1 << 3));
  if (leaf == 0) return 0;
  return ld64(leaf + ((p & ((1 << LEAF_BITS) - 1)) << 3));
}

/** Records span `s` for page `p` (its leaf exists: Ensure ran when the page was obtained). */
// @ts-ignore: decorator
@inline export function pagemapSet(p: u64, s: u64): void {
  const leaf = ld64(PAGEMAP_ROOT + ((p >> LEAF_BITS) << 3));
  st64(leaf + ((p & ((1 << LEAF_BITS) - 1)) << 3), s);
}

/** Ensure: allocates the leaves covering pages [start, start + n); false when out of range or memory. */
export function pagemapEnsure(start: u64, n: u64): bool {
  for (let key = start; key <= start + n - 1;) {
    const i1 = key >> LEAF_BITS;
    if (i1 >= ROOT_LENGTH) return false;
    if (ld64(PAGEMAP_ROOT + (i1 << 3)) == 0) {
      const leaf = metaDataAlloc(LEAF_BYTES);
      if (leaf == 0) return false;
      st64(PAGEMAP_ROOT + (i1 << 3), leaf);
    }
    key = (i1 + 1) << LEAF_BITS;
  }
  return true;
}

// @ts-ignore: decorator
@inline const CACHE_HASH_MASK: u64 = 0xffff;
// @ts-ignore: decorator
@inline const CACHE_INVALID: u64 = 0x80;

/** PackedCache::Clear: every byte 0x80. */
export function classCacheInit(): void {
  for (let i: u64 = 0; i <= CACHE_HASH_MASK; i++) st64(CLASS_CACHE + (i << 3), 0x8080808080808080);
}

/** The cached class of page `p`, or -1 on a miss. */
// @ts-ignore: decorator
@inline export function cachedClass(p: u64): i32 {
  const entry = ld64(CLASS_CACHE + ((p & CACHE_HASH_MASK) << 3)) ^ (p & ~CACHE_HASH_MASK);
  return entry >= 128 ? -1 : <i32>entry;
}

/** Remembers that page `p` holds objects of class `cl`. */
// @ts-ignore: decorator
@inline export function setCachedClass(p: u64, cl: i32): void {
  st64(CLASS_CACHE + ((p & CACHE_HASH_MASK) << 3), (p & ~CACHE_HASH_MASK) | <u64>cl);
}

/** Forgets page `p` (it starts a large object now). */
// @ts-ignore: decorator
@inline export function invalidateCachedClass(p: u64): void {
  st64(CLASS_CACHE + ((p & CACHE_HASH_MASK) << 3), (p & ~CACHE_HASH_MASK) | CACHE_INVALID);
}
