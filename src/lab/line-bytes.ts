// Text lines built straight into a growing byte buffer: numbers are written digit by digit, so that output of
// hundreds of thousands of lines makes no string per field or per line. Every writer gives exactly the characters
// of JavaScript's own number formatting (`${v}`, v.toString(16)), except that an integer beyond 2^53 is written
// with all its digits (as C's %zu prints it, never 9223372036854776000); values outside the safe integers take the
// slow path.
//
//   buffer:  ┌────────────── length ──────────────┬──── free ────┐
//            │ "1 m 48 heap+0x2a0\n2 m 24 …"      │              │
//            └────────────────────────────────────┴──────────────┘

const HEX_DIGITS = new Uint8Array([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]);
/** Room for the longest field a number writer emits in one go (a 2^53 hex or decimal fits in 16). */
const FIELD_ROOM = 32;

export class LineBytes {
  /** The bytes written so far are buffer[0, length); writers that reserve room first may write there directly. */
  buffer: Uint8Array;
  length = 0;

  constructor(capacity = 1 << 20) {
    this.buffer = new Uint8Array(capacity);
  }

  /**
   * The bytes written since the last take, as a view of the buffer (no copy: output of millions of lines makes no
   * garbage), valid until the next write; the buffer starts over.
   */
  take(): Uint8Array {
    const out = this.buffer.subarray(0, this.length);
    this.length = 0;
    return out;
  }

  /** Makes room for `bytes` more (then `buffer` may have been replaced). */
  reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + bytes));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  /** One byte (a character code below 128). */
  byte(code: number): void {
    this.reserve(1);
    this.buffer[this.length++] = code;
  }

  /** Bytes given as such (a constant piece of a line, encoded once). */
  bytes(piece: Uint8Array): void {
    this.reserve(piece.length);
    const buffer = this.buffer;
    let at = this.length;
    for (let i = 0; i < piece.length; i++) buffer[at++] = piece[i];
    this.length = at;
  }

  /** A string of ASCII characters. */
  ascii(text: string): void {
    this.reserve(text.length);
    const buffer = this.buffer;
    let at = this.length;
    for (let i = 0; i < text.length; i++) buffer[at++] = text.charCodeAt(i);
    this.length = at;
  }

  /** `${value}`, or every digit of an integer beyond 2^53 (a bigint: its digits). */
  decimal(value: number | bigint): void {
    if (typeof value === "number" && value >= 0 && Number.isSafeInteger(value)) {
      this.reserve(FIELD_ROOM);
      this.digits(value, 10);
    } else if (typeof value === "bigint" || (value > Number.MAX_SAFE_INTEGER && Number.isInteger(value))) {
      this.ascii(BigInt(value).toString());
    } else {
      this.ascii(`${value}`);
    }
  }

  /** value.toString(16). */
  hex(value: number): void {
    if (!(value >= 0 && Number.isSafeInteger(value))) {
      this.ascii(value.toString(16));
      return;
    }
    this.reserve(FIELD_ROOM);
    this.digits(value, 16);
  }

  /** The digits of a safe non-negative integer in `radix`, most significant first (room already reserved). */
  private digits(value: number, radix: number): void {
    this.length = radix === 16 ? putHex(this.buffer, this.length, value) : putDecimal(this.buffer, this.length, value);
  }
}

const POWERS_OF_TEN = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

/**
 * Writes the decimal digits of a safe non-negative integer at `buffer[at]` (room already reserved: FIELD_ROOM);
 * returns the index after them.
 */
function putDecimal(buffer: Uint8Array, at: number, value: number): number {
  if (value > 0x7fffffff) return putDigitsOfDouble(buffer, at, value, 10);
  let count = 1;
  while (count < 10 && value >= POWERS_OF_TEN[count]) count++;
  const end = at + count;
  let p = end;
  do {
    const next = (value / 10) | 0;
    buffer[--p] = 48 + value - next * 10;
    value = next;
  } while (value !== 0);
  return end;
}

/** The hex digits of a safe non-negative integer (see putDecimal). */
function putHex(buffer: Uint8Array, at: number, value: number): number {
  if (value > 0xffffffff) return putDigitsOfDouble(buffer, at, value, 16);
  let end = at + (value === 0 ? 1 : (35 - Math.clz32(value)) >> 2);
  const stop = end;
  do {
    buffer[--end] = HEX_DIGITS[value & 15];
    value >>>= 4;
  } while (value !== 0);
  return stop;
}

/** Digits of any safe integer, in double arithmetic. */
function putDigitsOfDouble(buffer: Uint8Array, at: number, value: number, radix: number): number {
  let count = 1;
  for (let rest = Math.floor(value / radix); rest > 0; rest = Math.floor(rest / radix)) count++;
  let end = at + count;
  const stop = end;
  do {
    const next = Math.floor(value / radix);
    buffer[--end] = HEX_DIGITS[value - next * radix];
    value = next;
  } while (value > 0);
  return stop;
}
