// Size classes ("bins") as mimalloc 2.0.9 computes them on x86-64 (page-queue.c › mi_bin, with MI_ALIGN2W since
// max_align_t is two words), and the bins of free slice spans (segment.c › mi_slice_bin8).
//
//   bin   1      2   4   6   8   9   10  11  12  13 …  72      73                 74
//   size  8     16  32  48  64  80  96 112 128 160 … 524288   huge (> 128 KiB)   full
//   Every power of two is split in four (12.5 % worst rounding); bins 3, 5 and 7 stay empty because blocks of
//   more than one word are two-word aligned.

// @ts-ignore: decorator
@inline export const WORD: u64 = 8;
// @ts-ignore: decorator
@inline export const SMALL_SIZE_MAX: u64 = 128 * 8;                 // MI_SMALL_SIZE_MAX: the direct-page fast path
// @ts-ignore: decorator
@inline export const SMALL_OBJ_SIZE_MAX: u64 = 16 << 10;           // 64 KiB small pages hold blocks up to 16 KiB
// @ts-ignore: decorator
@inline export const MEDIUM_OBJ_SIZE_MAX: u64 = 128 << 10;         // 512 KiB medium pages: up to 128 KiB
// @ts-ignore: decorator
@inline export const MEDIUM_OBJ_WSIZE_MAX: u64 = MEDIUM_OBJ_SIZE_MAX / 8;
// @ts-ignore: decorator
@inline export const LARGE_OBJ_SIZE_MAX: u64 = 16 << 20;           // half a segment
// @ts-ignore: decorator
@inline export const BIN_HUGE: i32 = 73;
// @ts-ignore: decorator
@inline export const BIN_FULL: i32 = 74;
// @ts-ignore: decorator
@inline export const MAX_ALIGN_GUARANTEE: u64 = 8 * 16;            // blocks up to this size are naturally aligned

/** _mi_wsize_from_size: machine words that hold `size` bytes. */
// @ts-ignore: decorator
@inline export function wsizeFromSize(size: u64): u64 {
  return (size + WORD - 1) / WORD;
}

/** mi_bin: the page queue of a block size. */
export function binOf(size: u64): i32 {
  let wsize = wsizeFromSize(size);
  if (wsize <= 1) return 1;
  if (wsize <= 8) return <i32>((wsize + 1) & ~(<u64>1));
  if (wsize > MEDIUM_OBJ_WSIZE_MAX) return BIN_HUGE;
  wsize--;
  const b = <i32>(63 - clz(wsize));
  return ((b << 2) + <i32>((wsize >> <u64>(b - 2)) & 3)) - 3;
}

/** Block size of bin `bin`: the largest size that maps to it (bins 3, 5, 7: the word count itself). */
export function binSize(bin: i32): u64 {
  if (bin <= 8) return <u64>bin * WORD;
  if (bin == BIN_HUGE) return MEDIUM_OBJ_SIZE_MAX + WORD;
  if (bin == BIN_FULL) return MEDIUM_OBJ_SIZE_MAX + 2 * WORD;
  // bins from 9 on cover ((4 + r) << (b - 2), (5 + r) << (b - 2)] words with bin = 4b + r - 3
  const b = (bin + 3) >> 2;
  const r = (bin + 3) & 3;
  return (<u64>(5 + r) << <u64>(b - 2)) * WORD;
}

/** mi_good_size: what a request of `size` bytes really gets (small and medium sizes). */
export function goodSize(size: u64): u64 {
  return size <= MEDIUM_OBJ_SIZE_MAX ? binSize(binOf(size)) : (size + 4095) & ~(<u64>4095);
}

/** mi_slice_bin8: the span queue of a free span of `count` slices (0 … 35). */
export function sliceBin(count: u64): i32 {
  if (count <= 1) return <i32>count;
  count--;
  const s = <i32>(63 - clz(count));
  if (s <= 2) return <i32>count + 1;
  return ((s << 2) | <i32>((count >> <u64>(s - 2)) & 3)) - 4;
}
