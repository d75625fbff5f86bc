// The ranges every reader holds a trace's numbers to, so that no format lets through what another refuses: sizes
// are size_t values, addresses and ids are exact doubles, the heap base is a user-space page, and a line is short
// enough that reading it costs bounded time and memory.

import { ParseError } from "./types.js";

/** 2^64: a size (size_t) lies below it. */
export const SIZE_LIMIT = 18446744073709551616;

/**
 * The longest line a text reader takes. The longest record of any supported format is a few hundred bytes (an
 * ltrace line with a long library path); a longer "line" is a binary or corrupt file, and joining it would cost
 * time quadratic in its length.
 */
export const MAX_LINE_BYTES = 1 << 20;

/** The error for a line longer than MAX_LINE_BYTES, quoting its start. */
export function lineTooLong(file: string, line: number, start: string): ParseError {
  return new ParseError(file, line, "line", `longer than ${MAX_LINE_BYTES} bytes (starts '${quote(start)}')`);
}

/** At most 80 characters of `text`, for an error message. */
export function quote(text: string): string {
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/** Digits beyond which a double may be inexact (2^53 has 16 decimal and 14 hex digits). */
const EXACT_DIGITS = { 10: 15, 16: 13 } as const;

/**
 * The value of a string of decimal or hex digits (no prefix) that a size_t can hold, as the nearest double; -1
 * when it is 2^64 or more. Leading zeros are allowed (`%020zu`).
 */
export function u64Digits(digits: string, radix: 10 | 16): number {
  let from = 0;
  while (from < digits.length - 1 && digits.charCodeAt(from) === 48) from++;
  const significant = from ? digits.slice(from) : digits;
  if (significant.length <= EXACT_DIGITS[radix]) return parseInt(significant, radix);
  if (significant.length > (radix === 10 ? 20 : 16)) return -1;
  const exact = BigInt(radix === 16 ? `0x${significant}` : significant);
  return exact >= 18446744073709551616n ? -1 : Number(exact);
}

/** A size field from its digits: ParseError when it does not fit in a size_t. */
export function sizeField(digits: string, radix: 10 | 16, file: string, line: number, field: string): number {
  const v = u64Digits(digits, radix);
  if (v < 0) throw new ParseError(file, line, field, `'${quote(digits)}' does not fit in 64 bits (size_t)`);
  return v;
}

/**
 * An address, thread id or sequence number from its digits: ParseError beyond 2^53, where doubles stop being
 * exact (user-space addresses end at 2^47, 2^56 with five-level paging).
 */
export function exactField(digits: string, radix: 10 | 16, file: string, line: number, field: string): number {
  const v = u64Digits(digits, radix);
  if (v < 0 || v > Number.MAX_SAFE_INTEGER) {
    throw new ParseError(file, line, field, `'${quote(digits)}' is beyond 2^53, larger than any ${field} can be`);
  }
  return v;
}

/** Lowest user-space address Linux maps by default (vm.mmap_min_addr). */
const LOWEST_MAP = 0x10000;
/** End of the x86-64 user address space (four-level paging). */
const USER_END = 2 ** 47;

/**
 * Why `base` cannot be a recorded program break, or null when it can: the break is a page address in user space
 * (a model given another would place the heap where no program's heap is, and fail every allocation).
 */
export function heapBaseProblem(base: number): string | null {
  if (!Number.isSafeInteger(base) || base < LOWEST_MAP || base >= USER_END) {
    return `${describe(base)} is outside user space [0x${LOWEST_MAP.toString(16)}, 2^47)`;
  }
  if (base % 4096 !== 0) return `0x${base.toString(16)} is not a multiple of the 4096-byte page`;
  return null;
}

function describe(v: number): string {
  return Number.isSafeInteger(v) && v >= 0 ? `0x${v.toString(16)}` : String(v);
}
