// Trace address → object id, with the line of the free that ended an object (for double-free reports).
//
// JS Maps keyed by 47-bit addresses hash heap numbers and allocate; replay needs one lookup per op, so this is an
// open-addressing table over typed arrays (linear probing, tombstone-free: an ended object keeps its slot, marked
// with its free line, until its address is allocated again).
//
// Ended addresses are kept only while they are not the bulk of the table: past FORGET_AFTER slots, a table that
// would grow mostly because of ended addresses is rebuilt without them, so that memory stays bounded on traces of
// any length (a later free of a forgotten address then counts as one the trace never allocated).
//
//   slot i:  keys[i] (address, 0 = empty) │ ids[i] (object id, -1 = ended) │ ended[i] (line of the ending free)

const EMPTY = 0;
const FORGET_AFTER = 1 << 22;

export class AddressTable {
  private keys: Float64Array;
  private ids: Int32Array;
  private ended: Float64Array;
  private mask: number;
  private used = 0;
  private liveCount = 0;
  /** Ended addresses dropped to bound memory. */
  forgotten = 0;

  private readonly forgetAfter: number;

  constructor(capacity = 1 << 16, forgetAfter = FORGET_AFTER) {
    this.forgetAfter = forgetAfter;
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

  /** Addresses currently bound to a live object. */
  get liveObjects(): number {
    return this.liveCount;
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
      if (previous < 0) this.liveCount++;
      return previous;
    }
    if ((this.used + 1) * 2 > this.keys.length) {
      this.rebuild();
      i = this.slot(address);
    }
    this.keys[i] = address;
    this.ids[i] = id;
    this.used++;
    this.liveCount++;
    return -1;
  }

  /** Marks the object at `address` as ended by the free on `line`. */
  end(address: number, line: number): void {
    const i = this.slot(address);
    if (this.keys[i] !== address || this.ids[i] < 0) return;
    this.ids[i] = -1;
    this.ended[i] = line;
    this.liveCount--;
  }

  /** Doubles the table, or, when ended addresses are most of a large table, drops them at the same size. */
  private rebuild(): void {
    const { keys, ids, ended } = this;
    const forget = this.used >= this.forgetAfter && this.liveCount * 4 < this.used;
    const capacity = forget ? keys.length : keys.length * 2;
    this.keys = new Float64Array(capacity);
    this.ids = new Int32Array(capacity);
    this.ended = new Float64Array(capacity);
    this.mask = capacity - 1;
    if (forget) {
      this.forgotten += this.used - this.liveCount;
      this.used = this.liveCount;
    }
    for (let j = 0; j < keys.length; j++) {
      if (keys[j] === EMPTY || (forget && ids[j] < 0)) continue;
      const i = this.slot(keys[j]);
      this.keys[i] = keys[j];
      this.ids[i] = ids[j];
      this.ended[i] = ended[j];
    }
  }
}
