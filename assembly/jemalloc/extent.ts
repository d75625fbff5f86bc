// Extent records (edata_t): one per contiguous run of pages the page allocator knows, active (a slab or a large
// allocation) or inactive in an ecache (dirty, muzzy, retained). The model keeps them in its own pool; the
// library's copies live in base blocks, whose bytes the model only counts (base.ts).
//
//   Extent (EXTENT_BYTES = 192)
//   ╒════════════════╤════════════════╤════════════════╤════════════════╕
//   │ base           │ size           │ addr (user)    │ serial number  │   0 … 31
//   ├───┬───┬───┬────┼────────────────┼────────────────┼────────────────┤
//   │st │hd │sl │ar  │ szind │ nfree  │ prev           │ next           │  32 … 63
//   ├───┴───┴───┴────┼────────────────┼────────────────┴────────────────┤
//   │ usize          │ requested      │ lchild         │ (unused)       │  64 … 127
//   ├────────────────┴────────────────┴─────────────────────────────────┤
//   │ slab bitmap: 512 bits, 1 = region free                            │ 128 … 191
//   ╘═══════════════════════════════════════════════════════════════════╛
//   st = state (active, dirty, muzzy, retained; FREE_RECORD when pooled), hd = head of a mapping (never merges
//   with the extent below it), sl = slab, ar = arena index. prev/next link the extent into one list at a time:
//   an eset bin of its ecache, or its bin's non-full slabs (pairing heaps, ph.ts, with lchild). Ordering everywhere is jemalloc's "snad": serial
//   number first, then address — older and lower extents are reused first.

import { ld64, st64, ld32, st32, ld8, st8, ld16, st16 } from "../common/vmem";
import { EXTENTS_BASE, G_RECORD_NEXT, G_RECORD_FREE, gld, gst } from "./globals";

export const EXTENT_BYTES: u64 = 192;
export const STATE_ACTIVE: u8 = 0;
export const STATE_DIRTY: u8 = 1;
export const STATE_MUZZY: u8 = 2;
export const STATE_RETAINED: u8 = 3;
export const FREE_RECORD: u8 = 0xff;
export const NO_SZIND: u32 = 0xffff;

// @ts-ignore: decorator
@inline export function eBase(e: u64): u64 { return ld64(e); }
// @ts-ignore: decorator
@inline export function setEBase(e: u64, v: u64): void { st64(e, v); }
// @ts-ignore: decorator
@inline export function eSize(e: u64): u64 { return ld64(e + 8); }
// @ts-ignore: decorator
@inline export function setESize(e: u64, v: u64): void { st64(e + 8, v); }
// @ts-ignore: decorator
@inline export function eAddr(e: u64): u64 { return ld64(e + 16); }
// @ts-ignore: decorator
@inline export function setEAddr(e: u64, v: u64): void { st64(e + 16, v); }
// @ts-ignore: decorator
@inline export function eSn(e: u64): u64 { return ld64(e + 24); }
// @ts-ignore: decorator
@inline export function setESn(e: u64, v: u64): void { st64(e + 24, v); }
// @ts-ignore: decorator
@inline export function eState(e: u64): u8 { return ld8(e + 32); }
// @ts-ignore: decorator
@inline export function setEState(e: u64, v: u8): void { st8(e + 32, v); }
// @ts-ignore: decorator
@inline export function eHead(e: u64): bool { return ld8(e + 33) != 0; }
// @ts-ignore: decorator
@inline export function setEHead(e: u64, v: bool): void { st8(e + 33, v ? 1 : 0); }
// @ts-ignore: decorator
@inline export function eSlab(e: u64): bool { return ld8(e + 34) != 0; }
// @ts-ignore: decorator
@inline export function setESlab(e: u64, v: bool): void { st8(e + 34, v ? 1 : 0); }
// @ts-ignore: decorator
@inline export function eArena(e: u64): i32 { return <i32>ld16(e + 36); }
// @ts-ignore: decorator
@inline export function setEArena(e: u64, v: i32): void { st16(e + 36, <u16>v); }
// @ts-ignore: decorator
@inline export function eSzind(e: u64): u32 { return ld32(e + 40); }
// @ts-ignore: decorator
@inline export function setESzind(e: u64, v: u32): void { st32(e + 40, v); }
// @ts-ignore: decorator
@inline export function eNfree(e: u64): u32 { return ld32(e + 44); }
// @ts-ignore: decorator
@inline export function setENfree(e: u64, v: u32): void { st32(e + 44, v); }
// @ts-ignore: decorator
@inline export function ePrev(e: u64): u64 { return ld64(e + 48); }
// @ts-ignore: decorator
@inline export function setEPrev(e: u64, v: u64): void { st64(e + 48, v); }
// @ts-ignore: decorator
@inline export function eNext(e: u64): u64 { return ld64(e + 56); }
// @ts-ignore: decorator
@inline export function setENext(e: u64, v: u64): void { st64(e + 56, v); }
// @ts-ignore: decorator
@inline export function eLchild(e: u64): u64 { return ld64(e + 80); }
// @ts-ignore: decorator
@inline export function setELchild(e: u64, v: u64): void { st64(e + 80, v); }
// @ts-ignore: decorator
@inline export function eUsize(e: u64): u64 { return ld64(e + 64); }
// @ts-ignore: decorator
@inline export function setEUsize(e: u64, v: u64): void { st64(e + 64, v); }
// @ts-ignore: decorator
@inline export function eRequested(e: u64): u64 { return ld64(e + 72); }
// @ts-ignore: decorator
@inline export function setERequested(e: u64, v: u64): void { st64(e + 72, v); }
// @ts-ignore: decorator
@inline export function eBitmapWord(e: u64, w: u64): u64 { return ld64(e + 128 + (w << 3)); }
// @ts-ignore: decorator
@inline export function setEBitmapWord(e: u64, w: u64, v: u64): void { st64(e + 128 + (w << 3), v); }

/** End of the extent (base + size). */
// @ts-ignore: decorator
@inline export function ePast(e: u64): u64 {
  return eBase(e) + eSize(e);
}

/** The snad order: negative when `a` is older (smaller serial number) or, at equal age, lower. */
// @ts-ignore: decorator
@inline export function snadLess(a: u64, b: u64): bool {
  const sa = eSn(a);
  const sb = eSn(b);
  return sa < sb || (sa == sb && eBase(a) < eBase(b));
}

/** A fresh record from the model's pool. */
export function recordNew(): u64 {
  let e = gld(G_RECORD_FREE);
  if (e != 0) {
    gst(G_RECORD_FREE, eNext(e));
  } else {
    const n = gld(G_RECORD_NEXT);
    gst(G_RECORD_NEXT, n + 1);
    e = EXTENTS_BASE + n * EXTENT_BYTES;
  }
  for (let off: u64 = 0; off < 88; off += 8) st64(e + off, 0);
  setESzind(e, NO_SZIND);
  return e;
}

/** Returns a record to the pool. */
export function recordFree(e: u64): void {
  setEState(e, FREE_RECORD);
  setENext(e, gld(G_RECORD_FREE));
  gst(G_RECORD_FREE, e);
}

/** Number of records ever carved (the walk visits each). */
export function recordCount(): u64 {
  return gld(G_RECORD_NEXT);
}

/** The record with pool index `i`. */
// @ts-ignore: decorator
@inline export function recordAt(i: u64): u64 {
  return EXTENTS_BASE + i * EXTENT_BYTES;
}
