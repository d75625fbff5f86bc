// Growable arrays of fixed-size records in linear memory, for the walks and checks that collect what they find
// before they know how much there is (outside simulated memory: scratch is never journaled and never part of the
// model's state). A scratch array grows by doubling and keeps its memory for the next walk.
//
//   base ─▶ ┌──────────┬──────────┬─────┬──────────────┬─────────────────────┐
//           │ record 0 │ record 1 │ ··· │ record n − 1 │ (capacity − n free) │     n = count
//           └──────────┴──────────┴─────┴──────────────┴─────────────────────┘

export class Scratch {
  base: usize = 0;
  capacity: i32 = 0;
  count: i32 = 0;
  readonly recordBytes: usize;
  readonly firstCapacity: i32;

  constructor(recordBytes: i32, firstCapacity: i32) {
    this.recordBytes = <usize>recordBytes;
    this.firstCapacity = firstCapacity;
  }

  /** Appends a record and returns its address; the caller writes all of its bytes. */
  push(): usize {
    if (this.count == this.capacity) this.grow();
    return this.at(this.count++);
  }

  /** Address of record `i`. */
  // @ts-ignore: decorator
  @inline at(i: i32): usize {
    return this.base + <usize>i * this.recordBytes;
  }

  /** Forgets every record; the memory stays for the next round. */
  clear(): void {
    this.count = 0;
  }

  private grow(): void {
    const capacity = this.capacity == 0 ? this.firstCapacity : this.capacity << 1;
    const grown = heap.alloc(<usize>capacity * this.recordBytes);
    if (this.count > 0) memory.copy(grown, this.base, <usize>this.count * this.recordBytes);
    if (this.base != 0) heap.free(this.base);
    this.base = grown;
    this.capacity = capacity;
  }
}

/** A growable block of scratch bytes for a table laid out by its user (the stub runtime frees nothing). */
export class ScratchBytes {
  ptr: usize = 0;
  bytes: usize = 0;

  /** At least `bytes` bytes; earlier contents survive only when no growth was needed. */
  reserve(bytes: usize): usize {
    if (bytes > this.bytes) {
      this.bytes = max(bytes, this.bytes << 1);
      this.ptr = heap.alloc(this.bytes);
    }
    return this.ptr;
  }
}
