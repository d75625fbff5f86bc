// A program's own memory accesses in a lab: bytes and 64-bit words at simulated addresses, the layout's symbols,
// and a stack to put fake chunks on. An access outside the regions the real process has mapped is the process's
// segmentation fault: a HeapError of kind "segv", with nothing read or written, and the lab stays usable.

import type { Model } from "./model.js";
import type { LabMemoryExports } from "../wasm/abi.js";
import { names } from "../wasm/abi.js";

/** A pointer as a lab hands it out: a number (exact below 2^53), or a bigint with `pointers: "bigint"`. */
export type Pointer = number | bigint;

export interface LabMemory<P extends Pointer = number> {
  /** `n` bytes at `address`. */
  read(address: Pointer, n: number): Uint8Array;
  /** Stores `bytes` at `address`, all or nothing. */
  write(address: Pointer, bytes: ArrayLike<number>): void;
  /** The little-endian 64-bit word at `address`. */
  read64(address: Pointer): bigint;
  /** Stores a 64-bit word (taken modulo 2^64) at `address`. */
  write64(address: Pointer, value: bigint | number): void;
  /**
   * The address of a symbol of the layout: `main_arena`, `stack` (the stack's lowest address) and `stack_end`
   * in every layout; `mp_`, `tcache` (the thread variable that points at the tcache), `tcache_key` and
   * `global_max_fast` in the debian12 layout.
   */
  symbol(name: string): P;
  /** `n` bytes of stack, `align`-aligned (a power of two, 16 by default), below the ones handed out before. */
  stackAlloc(n: number, align?: number): P;
}

const U64 = 1n << 64n;

/** An address argument as the model's u64: a non-negative integer below 2^64, number or bigint. */
export function addressBigint(value: unknown): bigint {
  if (typeof value === "bigint") {
    if (value < 0n || value >= U64) throw new RangeError(`address ${value} is outside [0, 2^64)`);
    return value;
  }
  if (typeof value !== "number") throw new TypeError(`address must be a number or a bigint, not ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`address ${value} is not an exact non-negative integer (pass a bigint beyond 2^53)`);
  }
  return BigInt(value);
}

/** The model's exports of lab memory; an error naming the model when it has none. */
export function labExports(model: Model): LabMemoryExports {
  const wasm = model.wasm as unknown as Partial<LabMemoryExports>;
  if (typeof wasm.memRead !== "function") {
    throw new Error(`the ${model.name} model does not model a process's memory (read, write, symbols): use ptmalloc`);
  }
  return wasm as LabMemoryExports;
}

/** Parses `name=value,…` (decimal values) into a map. */
function pairs(model: Model, ptr: number): Map<string, bigint> {
  return new Map(names(model.wasm, ptr).map((pair) => {
    const eq = pair.indexOf("=");
    return [pair.slice(0, eq), BigInt(pair.slice(eq + 1))] as const;
  }));
}

/** The memory half of a lab over `model`; `pointer` turns an address into the lab's pointer type. */
export function labMemory<P extends Pointer>(model: Model, pointer: (value: bigint) => P): LabMemory<P> {
  let scratch = 0;
  let scratchBytes = 0;
  const buffer = (n: number): number => {
    if (n > scratchBytes) {
      scratchBytes = Math.max(4096, 2 ** Math.ceil(Math.log2(n)));
      scratch = model.buffer(scratchBytes);
    }
    return scratch;
  };
  const length = (n: unknown): number => {
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0 || n > 1 << 30) {
      throw new RangeError(`length ${String(n)} is not an integer in [0, 2^30]`);
    }
    return n;
  };
  let symbols: Map<string, bigint> | undefined;
  const symbolTable = (): Map<string, bigint> => (symbols ??= pairs(model, labExports(model).symbols()));
  let stackCursor: bigint | undefined;

  const read = (address: Pointer, n: number): Uint8Array => {
    const at = addressBigint(address);
    const len = length(n);
    const buf = buffer(len);
    if (!labExports(model).memRead(at, buf, len)) throw model.error();
    return new Uint8Array(model.wasm.memory.buffer, buf, len).slice();
  };
  const write = (address: Pointer, bytes: ArrayLike<number>): void => {
    const at = addressBigint(address);
    const len = length(bytes.length);
    const buf = buffer(len);
    const view = new Uint8Array(model.wasm.memory.buffer, buf, len);
    for (let i = 0; i < len; i++) {
      const b = bytes[i];
      if (!Number.isInteger(b) || b < 0 || b > 255) throw new RangeError(`byte ${i} (${b}) is not an integer in [0, 255]`);
      view[i] = b;
    }
    if (!labExports(model).memWrite(at, buf, len)) throw model.error();
  };
  const word = (value: bigint | number): Uint8Array => {
    const v = typeof value === "bigint" ? value : addressBigint(value);
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
    return out;
  };
  const symbol = (name: string): bigint => {
    const value = symbolTable().get(name);
    if (value === undefined) {
      throw new Error(`no symbol '${name}' in this lab's layout (known: ${[...symbolTable().keys()].join(", ")})`);
    }
    return value;
  };

  return {
    read,
    write,
    read64: (address) => new DataView(read(address, 8).buffer).getBigUint64(0, true),
    write64: (address, value) => write(address, word(value)),
    symbol: (name) => pointer(symbol(name)),
    stackAlloc(n, align = 16) {
      const len = BigInt(length(n));
      if (typeof align !== "number" || !Number.isSafeInteger(align) || align <= 0 || (align & (align - 1)) !== 0) {
        throw new RangeError(`alignment ${String(align)} is not a power of two`);
      }
      // Below the frames of main and the environment strings at the top of the stack, as a C program's locals.
      stackCursor ??= symbol("stack_end") - 0x1000n;
      const at = (stackCursor - len) & ~(BigInt(align) - 1n);
      if (at < symbol("stack")) throw new RangeError(`the stack has no room for ${n} more bytes`);
      stackCursor = at;
      return pointer(at);
    },
  };
}
