// The size map of gperftools 2.10 (common.cc › SizeMap::Init): 85 size classes computed at start-up from the
// page size, the alignment rule and the batch size, exactly as the library computes them.
//
//   class_array  (2169 × u8)   ClassIndex(size) → class
//   ╒══════════════════════╤══════════════════════════════════════════════╕
//   │ size ≤ 1024          │ (size + 7) >> 3                              │
//   │ 1024 < size ≤ 256 KiB│ (size + 127 + 120·128) >> 7                  │
//   ╘══════════════════════╧══════════════════════════════════════════════╛
//
//   per class c (1 … 85), in static data (immutable after init, so outside simulated memory)
//   ╒═════════════════╤═════════════════╤═════════════════════════╕
//   │ size (u32)      │ pages (u32)     │ num_objects_to_move u32 │
//   ╘═════════════════╧═════════════════╧═════════════════════════╛

// @ts-ignore: decorator
@inline export const PAGE_SHIFT: u64 = 13;
// @ts-ignore: decorator
@inline export const PAGE_SIZE: u64 = 8192;
// @ts-ignore: decorator
@inline export const MAX_SIZE: u64 = 262144;
// @ts-ignore: decorator
@inline export const MAX_PAGES: u64 = 128;
// @ts-ignore: decorator
@inline export const CLASS_SIZES_MAX: i32 = 128;
// @ts-ignore: decorator
@inline const ALIGNMENT: u64 = 8;
// @ts-ignore: decorator
@inline const MIN_ALIGN: u64 = 16;
// @ts-ignore: decorator
@inline const MAX_SMALL_SIZE: u64 = 1024;
// @ts-ignore: decorator
@inline const CLASS_ARRAY_LENGTH: i32 = <i32>(((MAX_SIZE + 127 + (120 << 7)) >> 7) + 1);

const classArray = new StaticArray<u8>(CLASS_ARRAY_LENGTH);
const classSize = new StaticArray<u32>(CLASS_SIZES_MAX);
const classPages = new StaticArray<u32>(CLASS_SIZES_MAX);
const classBatch = new StaticArray<u32>(CLASS_SIZES_MAX);
let classCount: i32 = 0;

/** Upper limit of num_objects_to_move (TCMALLOC_TRANSFER_NUM_OBJ). */
let transferNumObjects: i32 = 32;

// @ts-ignore: decorator
@inline function classIndex(size: u64): i32 {
  return size <= MAX_SMALL_SIZE ? <i32>((size + 7) >> 3) : <i32>((size + 127 + (120 << 7)) >> 7);
}

function lgFloor(n: u64): i32 {
  return 63 - <i32>clz(n);
}

function alignmentForSize(size: u64): u64 {
  let alignment = ALIGNMENT;
  if (size > MAX_SIZE) alignment = PAGE_SIZE;
  else if (size >= 128) alignment = (<u64>1 << lgFloor(size)) / 8;
  else if (size >= MIN_ALIGN) alignment = MIN_ALIGN;
  return alignment > PAGE_SIZE ? PAGE_SIZE : alignment;
}

function numMoveSize(size: u64): i32 {
  if (size == 0) return 0;
  let num = <i32>(65536.0 / <f64>size);
  if (num < 2) num = 2;
  if (num > transferNumObjects) num = transferNumObjects;
  return num;
}

/** Sets the upper limit of batch sizes; only before `sizeMapInit`. */
export function setTransferNumObjects(n: i32): void {
  transferNumObjects = n;
}

/** Computes the classes, the lookup array and the batch sizes (SizeMap::Init). */
export function sizeMapInit(): void {
  let sc = 1;
  let alignment = ALIGNMENT;
  for (let size = ALIGNMENT; size <= MAX_SIZE; size += alignment) {
    alignment = alignmentForSize(size);
    const blocksToMove = numMoveSize(size) / 4;
    let psize: u64 = 0;
    do {
      psize += PAGE_SIZE;
      while (psize % size > (psize >> 3)) psize += PAGE_SIZE;
    } while (<i64>(psize / size) < <i64>blocksToMove);
    const pages = <u32>(psize >> PAGE_SHIFT);
    if (sc > 1 && pages == unchecked(classPages[sc - 1])) {
      const objects = (<u64>pages << PAGE_SHIFT) / size;
      const previous = (<u64>unchecked(classPages[sc - 1]) << PAGE_SHIFT) / <u64>unchecked(classSize[sc - 1]);
      if (objects == previous) {
        unchecked(classSize[sc - 1] = <u32>size);
        continue;
      }
    }
    unchecked(classPages[sc] = pages);
    unchecked(classSize[sc] = <u32>size);
    sc++;
  }
  classCount = sc;
  let next: u64 = 0;
  for (let c = 1; c < sc; c++) {
    const max = <u64>unchecked(classSize[c]);
    for (let s = next; s <= max; s += ALIGNMENT) unchecked(classArray[classIndex(s)] = <u8>c);
    next = max + ALIGNMENT;
  }
  for (let c = 1; c < sc; c++) unchecked(classBatch[c] = <u32>numMoveSize(<u64>unchecked(classSize[c])));
}

/** Number of classes including the unused class 0 (num_size_classes). */
// @ts-ignore: decorator
@inline export function numClasses(): i32 {
  return classCount;
}

/** The class of a request of `size` bytes, or 0 when it is larger than MAX_SIZE. */
// @ts-ignore: decorator
@inline export function sizeClass(size: u64): i32 {
  return size <= MAX_SIZE ? <i32>unchecked(classArray[classIndex(size)]) : 0;
}

// @ts-ignore: decorator
@inline export function classToSize(cl: i32): u64 {
  return <u64>unchecked(classSize[cl]);
}

// @ts-ignore: decorator
@inline export function classToPages(cl: i32): u64 {
  return <u64>unchecked(classPages[cl]);
}

// @ts-ignore: decorator
@inline export function batchSize(cl: i32): i32 {
  return <i32>unchecked(classBatch[cl]);
}

/** Pages needed for `bytes` (tcmalloc::pages). */
// @ts-ignore: decorator
@inline export function pagesFor(bytes: u64): u64 {
  return (bytes >> PAGE_SHIFT) + <u64>((bytes & (PAGE_SIZE - 1)) != 0);
}

/** What nallocx(size, 0) returns. */
export function allocationSize(size: u64): u64 {
  const cl = sizeClass(size);
  return cl != 0 ? classToSize(cl) : pagesFor(size) << PAGE_SHIFT;
}
