// Trace address → object id, with the line of the free that ended an object (for double-free reports).
//
// JS Maps keyed by 47-bit addresses hash heap numbers and allocate; replay needs one lookup per op, so this is an
// open-addressing table over typed arrays (linear probing, tombstone-free: an ended object keeps its slot, marked
// with its free line, until its address is allocated again).
//
//   slot i:  keys[i] (address, 0 = empty) │ ids[i] (object id, -1 = ended) │ ended[i] (line of the ending free)

const EMPTY = 0;

export class AddressTable {
  private keys: Float64Array;
  private ids: Int32Array;
  private ended: Float64Array;
  private mask: number;
  private used = 0;

  constructor(capacity = 1 << 16) {
    this.keys = new Float64Array(capacity);
    this.ids = new Int32Array(capacity);
    this.ended = new Float64Array(capacity);
    this.mask = capacity - 1;
  }

  private slot(address: number): number {
    const lo = address >>> 4;
    const hi = (address / 4294967296) | 0;
    let i = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) & this.mask;
    const keys = this.keys;
    while (keys[i] !== EMPTY && keys[i] !== address) i = (i + 1) & this.mask;
    return i;
  }

  /** The live object at `address`, or -1. */
  live(address: number): number {
    const i = this.slot(address);
    return this.keys[i] === address ? this.ids[i] : -1;
  }

  /** The line of the free that ended the object last at `address`, or 0 when there is none. */
  endedAt(address: number): number {
    const i = this.slot(address);
    return this.keys[i] === address && this.ids[i] < 0 ? this.ended[i] : 0;
  }

  /** Binds `address` to object `id`; returns the id it replaces (a live object whose free was missed) or -1. */
  bind(address: number, id: number): number {
    let i = this.slot(address);
    if (this.keys[i] === address) {
      const previous = this.ids[i];
      this.ids[i] = id;
      return previous;
    }
    if ((this.used + 1) * 2 > this.keys.length) {
      this.grow();
      i = this.slot(address);
    }
    this.keys[i] = address;
    this.ids[i] = id;
    this.used++;
    return -1;
  }

  /** Marks the object at `address` as ended by the free on `line`. */
  end(address: number, line: number): void {
    const i = this.slot(address);
    if (this.keys[i] !== address) return;
    this.ids[i] = -1;
    this.ended[i] = line;
  }

  private grow(): void {
    const { keys, ids, ended } = this;
    this.keys = new Float64Array(keys.length * 2);
    this.ids = new Int32Array(keys.length * 2);
    this.ended = new Float64Array(keys.length * 2);
    this.mask = keys.length * 2 - 1;
    for (let j = 0; j < keys.length; j++) {
      if (keys[j] === EMPTY) continue;
      const i = this.slot(keys[j]);
      this.keys[i] = keys[j];
      this.ids[i] = ids[j];
      this.ended[i] = ended[j];
    }
  }
}
