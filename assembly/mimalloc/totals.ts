// Running totals of where mimalloc's footprint sits, kept as pages, spans and segments change hands, so that
// decomposing the footprint (decompose.ts) costs O(1) at any operation instead of a walk of every segment, page
// and free list: a report decomposes at every new peak, and a growing heap has a new peak at almost every op.
//
//   STATICS_BASE + G_TOTALS (u64 each, in simulated memory: the journal undoes them with the heap)
//   ╒══════╤═══════════════╤══════════════════════════════════════════════════════════════════════════════╕
//   │ +0   │ page bytes    │ slices of every page (a huge page: its segment less the header)               │
//   │ +8   │ page free     │ bytes of free blocks on pages: free, local_free and thread_free lists         │
//   │ +16  │ span bytes    │ free spans of live segments (in the span queues, or of abandoned segments)   │
//   │ +24  │ segment bytes │ live segments (owned by a thread; cached ones are not)                       │
//   ╘══════╧═══════════════╧══════════════════════════════════════════════════════════════════════════════╛
//
// Page free bytes follow from mimalloc's own invariant (used + |free| + |local_free| = capacity): a page holds
// (capacity − used + |thread_free|) × block size free bytes, so it changes with `used` and `capacity` (page.ts's
// setters), with each push on thread_free, and when a page is cleared. The checker (check.ts) holds the totals
// equal to a walk (decompose.ts › decomposeByWalk).

import { gld, gadd, G_TOTALS } from "./globals";

// @ts-ignore: decorator
@inline const T_PAGE_BYTES: u64 = 0;
// @ts-ignore: decorator
@inline const T_PAGE_FREE: u64 = 8;
// @ts-ignore: decorator
@inline const T_SPAN_BYTES: u64 = 16;
// @ts-ignore: decorator
@inline const T_SEGMENT_BYTES: u64 = 24;

/** Bytes of every page. */
// @ts-ignore: decorator
@inline export function totalPageBytes(): u64 { return gld(G_TOTALS + T_PAGE_BYTES); }
/** Bytes of free blocks on pages. */
// @ts-ignore: decorator
@inline export function totalPageFree(): u64 { return gld(G_TOTALS + T_PAGE_FREE); }
/** Bytes of the free spans of live segments. */
// @ts-ignore: decorator
@inline export function totalSpanBytes(): u64 { return gld(G_TOTALS + T_SPAN_BYTES); }
/** Bytes of the live segments. */
// @ts-ignore: decorator
@inline export function totalSegmentBytes(): u64 { return gld(G_TOTALS + T_SEGMENT_BYTES); }

/** A page of `bytes` was allocated (+) or freed (−). */
// @ts-ignore: decorator
@inline export function pageBytesAdd(delta: u64): void { gadd(G_TOTALS + T_PAGE_BYTES, delta); }
/** Free blocks on pages changed by `delta` bytes (two's complement for a decrease). */
// @ts-ignore: decorator
@inline export function pageFreeAdd(delta: u64): void { gadd(G_TOTALS + T_PAGE_FREE, delta); }
/** A free span of `delta` bytes appeared (+) or was taken (−). */
// @ts-ignore: decorator
@inline export function spanBytesAdd(delta: u64): void { gadd(G_TOTALS + T_SPAN_BYTES, delta); }
/** A segment of `delta` bytes became live (+) or left its thread (−). */
// @ts-ignore: decorator
@inline export function segmentBytesAdd(delta: u64): void { gadd(G_TOTALS + T_SEGMENT_BYTES, delta); }
