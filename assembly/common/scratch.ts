// Growable scratch memory for walks and checks: linear memory that only grows (the stub runtime frees nothing),
// reused by every call that needs a table as long as the heap is large.

export class Scratch {
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
