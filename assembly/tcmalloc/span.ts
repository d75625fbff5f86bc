// Span records (span.h): one per run of pages, allocated by the span allocator in the metadata chunks, at
// simulated addresses, and the doubly linked span lists (DLL_*). A list head is a sentinel span.
//
//   Span (48 bytes)
//   ╒════════════════╤════════════════╤════════════════╤════════════════╕
//   │ start page id  │ length (pages) │ next           │ prev           │  0 … 31
//   ├────────────────┼────────┬───────┴┬──────┬────────┴────────────────┤
//   │ objects / node │refcount│ class  │ loc. │ (unused)                │ 32 … 47
//   ╘════════════════╧════════╧════════╧══════╧═════════════════════════╛
//   objects: the free-object list of a small-object span; for a free span in a large set, the set node.

import { ld64, st64, ld16, st16, ld8, st8 } from "../common/vmem";
import { allocatorNew, allocatorDelete } from "./system";
import { ALLOC_SPAN } from "./globals";

export const SPAN_BYTES: u64 = 48;
export const IN_USE: u8 = 0;
export const ON_NORMAL_FREELIST: u8 = 1;
export const ON_RETURNED_FREELIST: u8 = 2;

// @ts-ignore: decorator
@inline export function spanStart(s: u64): u64 { return ld64(s); }
// @ts-ignore: decorator
@inline export function setSpanStart(s: u64, v: u64): void { st64(s, v); }
// @ts-ignore: decorator
@inline export function spanLength(s: u64): u64 { return ld64(s + 8); }
// @ts-ignore: decorator
@inline export function setSpanLength(s: u64, v: u64): void { st64(s + 8, v); }
// @ts-ignore: decorator
@inline export function spanNext(s: u64): u64 { return ld64(s + 16); }
// @ts-ignore: decorator
@inline export function setSpanNext(s: u64, v: u64): void { st64(s + 16, v); }
// @ts-ignore: decorator
@inline export function spanPrev(s: u64): u64 { return ld64(s + 24); }
// @ts-ignore: decorator
@inline export function setSpanPrev(s: u64, v: u64): void { st64(s + 24, v); }
// @ts-ignore: decorator
@inline export function spanObjects(s: u64): u64 { return ld64(s + 32); }
// @ts-ignore: decorator
@inline export function setSpanObjects(s: u64, v: u64): void { st64(s + 32, v); }
// @ts-ignore: decorator
@inline export function spanRefcount(s: u64): u32 { return <u32>ld16(s + 40); }
// @ts-ignore: decorator
@inline export function setSpanRefcount(s: u64, v: u32): void { st16(s + 40, <u16>v); }
// @ts-ignore: decorator
@inline export function spanClass(s: u64): i32 { return <i32>ld8(s + 42); }
// @ts-ignore: decorator
@inline export function setSpanClass(s: u64, v: i32): void { st8(s + 42, <u8>v); }
// @ts-ignore: decorator
@inline export function spanLocation(s: u64): u8 { return ld8(s + 43); }
// @ts-ignore: decorator
@inline export function setSpanLocation(s: u64, v: u8): void { st8(s + 43, v); }

/** NewSpan: a zeroed, in-use span of `length` pages at page `start`. */
export function newSpan(start: u64, length: u64): u64 {
  const s = allocatorNew(ALLOC_SPAN, SPAN_BYTES);
  st64(s, start);
  st64(s + 8, length);
  st64(s + 16, 0);
  st64(s + 24, 0);
  st64(s + 32, 0);
  st64(s + 40, 0);
  return s;
}

/** DeleteSpan: back to the span allocator's free list. */
export function deleteSpan(s: u64): void {
  allocatorDelete(ALLOC_SPAN, s);
}

/** DLL_Init: an empty list is a sentinel linked to itself. */
export function dllInit(list: u64): void {
  setSpanNext(list, list);
  setSpanPrev(list, list);
}

// @ts-ignore: decorator
@inline export function dllIsEmpty(list: u64): bool {
  return spanNext(list) == list;
}

export function dllRemove(s: u64): void {
  const prev = spanPrev(s);
  const next = spanNext(s);
  setSpanNext(prev, next);
  setSpanPrev(next, prev);
  setSpanNext(s, 0);
  setSpanPrev(s, 0);
}

/** DLL_Prepend: `s` becomes the first span of `list`. */
export function dllPrepend(list: u64, s: u64): void {
  const first = spanNext(list);
  setSpanNext(s, first);
  setSpanPrev(s, list);
  setSpanPrev(first, s);
  setSpanNext(list, s);
}

/** Inserts `s` before `at` (used by the address-ordered large sets). */
export function dllInsertBefore(at: u64, s: u64): void {
  const prev = spanPrev(at);
  setSpanNext(s, at);
  setSpanPrev(s, prev);
  setSpanNext(prev, s);
  setSpanPrev(at, s);
}
