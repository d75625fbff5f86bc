// Size classes of jemalloc 5.3.0 on x86-64 (LG_QUANTUM 4, LG_PAGE 12, four classes per doubling), computed at
// start-up the way sc.c lays them out, and the tables derived from them: bins (region size, slab pages, regions
// per slab), page-size classes (psz) for the extent sets, and the rounding functions (s2u, sa2u).
//
//   index  size                                      group
//   ╒═════╤═════════════════════════════════════════╤══════════════════════════════════════════╕
//   │ 0   │ 8                                       │ tiny (below the quantum)                 │
//   │ 1…4 │ 16 32 48 64                             │ the first group, spaced by the quantum   │
//   │ 5…  │ 2^k + n·2^(k-2), n = 1…4, k = 6 … 62    │ four per doubling (the last group has 3) │
//   ╘═════╧═════════════════════════════════════════╧══════════════════════════════════════════╛
//   bins: the 36 classes below 16 KiB (PAGE << 2); a slab is the least number of pages its regions tile exactly.
//   psz:  the classes that are page multiples, indexed by pind (extent sets are binned by them).
//
// Every table is immutable after init, so it lives in static data, outside simulated memory.

// @ts-ignore: decorator
@inline export const LG_PAGE: u64 = 12;
// @ts-ignore: decorator
@inline export const PAGE: u64 = 4096;
// @ts-ignore: decorator
@inline export const PAGE_MASK: u64 = 4095;
// @ts-ignore: decorator
@inline export const HUGEPAGE: u64 = 2 << 20;
// @ts-ignore: decorator
@inline export const CACHELINE: u64 = 64;
// @ts-ignore: decorator
@inline export const NBINS: i32 = 36;
// @ts-ignore: decorator
@inline export const SMALL_MAXCLASS: u64 = 14336;
// @ts-ignore: decorator
@inline export const LARGE_MINCLASS: u64 = 16384;
// @ts-ignore: decorator
@inline export const LARGE_MAXCLASS: u64 = 0x7000_0000_0000_0000;
/** The cache-oblivious pad every large extent carries (config_cache_oblivious: one page). */
// @ts-ignore: decorator
@inline export const LARGE_PAD: u64 = 4096;
// @ts-ignore: decorator
@inline export const MAX_SIZES: i32 = 240;

const indexSize = new StaticArray<u64>(MAX_SIZES);
const pindSize = new StaticArray<u64>(MAX_SIZES);
const binSlabPages = new StaticArray<u32>(NBINS);
const binRegions = new StaticArray<u32>(NBINS);
let nsizes: i32 = 0;
let npsizes: i32 = 0;

// @ts-ignore: decorator
@inline function gcd(a: u64, b: u64): u64 {
  while (b != 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** Appends the next size class. */
function addClass(size: u64): void {
  unchecked(indexSize[nsizes++] = size);
}

/** Fills the tables; idempotent. */
export function szInit(): void {
  if (nsizes != 0) return;
  addClass(8);
  for (let n: u64 = 1; n <= 4; n++) addClass(n << 4);
  for (let lg: u64 = 6; lg < 63; lg++) {
    const limit: u64 = lg == 62 ? 3 : 4;
    for (let n: u64 = 1; n <= limit; n++) addClass((<u64>1 << lg) + (n << (lg - 2)));
  }
  for (let i = 0; i < nsizes; i++) {
    const size = unchecked(indexSize[i]);
    if ((size & PAGE_MASK) == 0) unchecked(pindSize[npsizes++] = size);
  }
  // A sentinel past the last page class, as psz lookups beyond every class land on it.
  unchecked(pindSize[npsizes] = LARGE_MAXCLASS + PAGE);
  for (let b = 0; b < NBINS; b++) {
    const size = unchecked(indexSize[b]);
    const slabPages = (size * PAGE / gcd(size, PAGE)) / PAGE;
    unchecked(binSlabPages[b] = <u32>slabPages);
    unchecked(binRegions[b] = <u32>(slabPages * PAGE / size));
  }
}

/** Number of size classes (SC_NSIZES). */
// @ts-ignore: decorator
@inline export function sizeCount(): i32 {
  return nsizes;
}

/** Number of page-size classes (SC_NPSIZES). */
// @ts-ignore: decorator
@inline export function pszCount(): i32 {
  return npsizes;
}

/** Bytes of size class `ind`. */
// @ts-ignore: decorator
@inline export function index2size(ind: i32): u64 {
  return unchecked(indexSize[ind]);
}

/** The first of `table[0 … n)` (ascending) that is at least `value`; n when none is. */
function lowerBound(table: StaticArray<u64>, n: i32, value: u64): i32 {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (unchecked(table[mid]) >= value) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The least size class holding `size` bytes (0 for sizes up to 8); sizeCount() when beyond every class. */
export function size2index(size: u64): i32 {
  if (size > LARGE_MAXCLASS) return nsizes;
  return lowerBound(indexSize, nsizes, size);
}

/** Usable size of a request of `size` bytes (sz_s2u); 0 beyond the largest class. */
export function s2u(size: u64): u64 {
  if (size > LARGE_MAXCLASS) return 0;
  return index2size(size2index(size));
}

// @ts-ignore: decorator
@inline export function alignUp(value: u64, alignment: u64): u64 {
  return (value + alignment - 1) & ~(alignment - 1);
}

// @ts-ignore: decorator
@inline export function pageCeiling(value: u64): u64 {
  return (value + PAGE_MASK) & ~PAGE_MASK;
}

/** Usable size of an aligned request (sz_sa2u); 0 when it cannot be satisfied. */
export function sa2u(size: u64, alignment: u64): u64 {
  if (size <= SMALL_MAXCLASS && alignment <= PAGE) {
    if (size > u64.MAX_VALUE - alignment) return 0;
    const usize = s2u(alignUp(size, alignment));
    if (usize < LARGE_MINCLASS) return usize;
  }
  if (alignment > LARGE_MAXCLASS) return 0;
  let usize: u64;
  if (size <= LARGE_MINCLASS) {
    usize = LARGE_MINCLASS;
  } else {
    usize = s2u(size);
    if (usize < size) return 0;
  }
  if (usize + LARGE_PAD + pageCeiling(alignment) - PAGE < usize) return 0;
  return usize;
}

/** Bytes of page-size class `pind`. */
// @ts-ignore: decorator
@inline export function pind2sz(pind: i32): u64 {
  return unchecked(pindSize[pind]);
}

/** The least page-size class of at least `psz` bytes (sz_psz2ind); pszCount() beyond the largest. */
export function psz2ind(psz: u64): i32 {
  if (psz > LARGE_MAXCLASS) return npsizes;
  return lowerBound(pindSize, npsizes, psz);
}

/** The largest page class (plus the pad) that an extent of `size` bytes can serve (sz_psz_quantize_floor). */
export function pszQuantizeFloor(size: u64): u64 {
  const pind = psz2ind(size - LARGE_PAD + 1);
  if (pind == 0) return size;
  return pind2sz(pind - 1) + LARGE_PAD;
}

/** The least page class (plus the pad) whose every extent can serve `size` bytes (sz_psz_quantize_ceil). */
export function pszQuantizeCeil(size: u64): u64 {
  let ret = pszQuantizeFloor(size);
  if (ret < size) ret = pind2sz(psz2ind(ret - LARGE_PAD + 1)) + LARGE_PAD;
  return ret;
}

/** Pages in a slab of bin `bin`. */
// @ts-ignore: decorator
@inline export function binSlabSize(bin: i32): u64 {
  return <u64>unchecked(binSlabPages[bin]) << LG_PAGE;
}

/** Regions in a slab of bin `bin`. */
// @ts-ignore: decorator
@inline export function binNregs(bin: i32): u32 {
  return unchecked(binRegions[bin]);
}

/** floor(log2(n)) for n > 0. */
// @ts-ignore: decorator
@inline export function lgFloor(n: u64): u64 {
  return 63 - clz(n);
}
