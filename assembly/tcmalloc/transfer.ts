// The transfer cache of each central free list (central_freelist.cc): slots that each hold one full batch
// (exactly num_objects_to_move objects, as a linked chain), LIFO. A class starts with 16 slots of capacity and
// may grow to max_cache_size by taking capacity from other classes, one victim per try, round robin.
//
//   at central(cl) + 112
//   ╒════════════╤════════════╤════════════════╤═══════════════════════════════════════╕
//   │ used_slots │ cache_size │ max_cache_size │ slot[0 … 63] = (head, tail)           │
//   ╘════════════╧════════════╧════════════════╧═══════════════════════════════════════╛

import { ld64, st64 } from "../common/vmem";
import { count, LOCK_CENTRAL } from "../common/counters";
import { gld, gst, gadd, G_RACE_COUNTER, G_TRANSFER_BYTES } from "./globals";
import { numClasses, classToSize, batchSize } from "./sizemap";
import { central, releaseListToSpans } from "./central";

// @ts-ignore: decorator
@inline const MAX_ENTRIES: i64 = 64;

// @ts-ignore: decorator
@inline function usedAt(cl: i32): u64 { return central(cl) + 112; }
// @ts-ignore: decorator
@inline function sizeAt(cl: i32): u64 { return central(cl) + 120; }
// @ts-ignore: decorator
@inline function maxAt(cl: i32): u64 { return central(cl) + 128; }
// @ts-ignore: decorator
@inline function slotAt(cl: i32, slot: i64): u64 { return central(cl) + 136 + (<u64>slot << 4); }

// @ts-ignore: decorator
@inline export function transferUsed(cl: i32): i64 { return <i64>ld64(usedAt(cl)); }
/** Sets the used slots of class `cl`, keeping the running total of transfer-cache bytes. */
function setUsed(cl: i32, used: i64): void {
  const bytesPerSlot = classToSize(cl) * <u64>batchSize(cl);
  gadd(G_TRANSFER_BYTES, <u64>(used - transferUsed(cl)) * bytesPerSlot);
  st64(usedAt(cl), <u64>used);
}
// @ts-ignore: decorator
@inline export function transferCapacity(cl: i32): i64 { return <i64>ld64(sizeAt(cl)); }
// @ts-ignore: decorator
@inline export function transferSlotHead(cl: i32, slot: i64): u64 { return ld64(slotAt(cl, slot)); }

/** The transfer-cache part of CentralFreeList::Init. */
export function transferInit(cl: i32): void {
  let limit = MAX_ENTRIES;
  let size: i64 = 16;
  if (cl > 0) {
    const fit = <i64>(1048576 / (<i64>classToSize(cl) * <i64>batchSize(cl)));
    limit = min(limit, max(<i64>1, fit));
    size = min(size, limit);
  }
  setUsed(cl, 0);
  st64(sizeAt(cl), <u64>size);
  st64(maxAt(cl), <u64>limit);
}

/** ShrinkCache: gives up one slot of capacity (forced: even a used one, whose batch returns to its spans). */
function shrinkCache(cl: i32, force: bool): bool {
  const size = transferCapacity(cl);
  if (size == 0) return false;
  const used = transferUsed(cl);
  if (!force && used == size) return false;
  count(LOCK_CENTRAL, 0);
  count(LOCK_CENTRAL, 0);
  if (used == size) {
    st64(sizeAt(cl), <u64>(size - 1));
    setUsed(cl, used - 1);
    releaseListToSpans(cl, ld64(slotAt(cl, used - 1)));
    return true;
  }
  st64(sizeAt(cl), <u64>(size - 1));
  return true;
}

function evictRandomSizeClass(locked: i32, force: bool): bool {
  let t = <i32>gld(G_RACE_COUNTER);
  gst(G_RACE_COUNTER, <u64>(t + 1));
  const n = numClasses();
  if (t >= n) {
    while (t >= n) t -= n;
    gst(G_RACE_COUNTER, <u64>t);
  }
  if (t == locked) return false;
  return shrinkCache(t, force);
}

function makeCacheSpace(cl: i32): bool {
  const size = transferCapacity(cl);
  if (transferUsed(cl) < size) return true;
  if (size == <i64>ld64(maxAt(cl))) return false;
  if (evictRandomSizeClass(cl, false) || evictRandomSizeClass(cl, true)) {
    const now = transferCapacity(cl);
    if (now < <i64>ld64(maxAt(cl))) {
      st64(sizeAt(cl), <u64>(now + 1));
      return true;
    }
  }
  return false;
}

/** Stores a full batch (start … end) in a free slot; false when there is no room. */
export function transferPush(cl: i32, start: u64, end: u64): bool {
  if (!makeCacheSpace(cl)) return false;
  const slot = transferUsed(cl);
  setUsed(cl, slot + 1);
  st64(slotAt(cl, slot), start);
  st64(slotAt(cl, slot) + 8, end);
  return true;
}

let popStart: u64 = 0;
let popEnd: u64 = 0;

// @ts-ignore: decorator
@inline export function removedTransferStart(): u64 { return popStart; }
// @ts-ignore: decorator
@inline export function removedTransferEnd(): u64 { return popEnd; }

/** Takes the most recently stored batch (the caller checked that one exists). */
export function transferPop(cl: i32): void {
  const slot = transferUsed(cl) - 1;
  setUsed(cl, slot);
  popStart = ld64(slotAt(cl, slot));
  popEnd = ld64(slotAt(cl, slot) + 8);
}
