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
//   slot i:  ┌──────────────────────────────┬─────────────────────────────────────────────────────┐
//   slots    │ [2i]   address (0 = empty)   │ [2i+1] object id ≥ 0, or −(line of the ending free) │
//            │                              │        (−0.5 when that line is unknown)             │
//            └──────────────────────────────┴─────────────────────────────────────────────────────┘
// Key and value share a cache line: a lookup in a table larger than the cache costs one miss, not three.
//
// The table grows at 3/4 load: on a trace of millions of addresses it outgrows every cache, and then its size,
// not the length of its probe runs, sets the cost of a lookup (a table twice as large misses twice as often).
// Replay looks an address up and then binds or ends it: the slot the last lookup found is kept, so the second call
// probes nothing. Neighbouring addresses get neighbouring slots while that keeps probe runs short (see `slot`).

const EMPTY = 0;
/** Probes of one insertion beyond which the table gives up keeping neighbours together (see `slot`). */
const LONG_RUN = 64;
const FORGET_AFTER = 1 << 22;

export class AddressTable {
  private slots: Float64Array;
  private mask: number;
  private used = 0;
  private liveCount = 0;
  /** Ended addresses dropped to bound memory. */
  forgotten = 0;

  private readonly forgetAfter: number;
  /** The address `slot` last looked up (NaN: none) and the index it found, until a key lands elsewhere. */
  private lastAddress = NaN;
  private lastSlot = 0;
  /** Probes the last search made. */
  private lastProbes = 0;
  /** Whether keys are scattered over the table (see `slot`). */
  private scattered = false;

  constructor(capacity = 1 << 12, forgetAfter = FORGET_AFTER) {
    this.forgetAfter = forgetAfter;
    this.slots = new Float64Array(2 * capacity);
    this.mask = capacity - 1;
  }

  /**
   * Index in `slots` of the key `address` has or would have. Addresses 16 bytes apart start in neighbouring slots,
   * so a replay's lookups, which follow the heap's own locality, land on table lines and pages used just before.
   * Addresses closer than that (8-byte blocks) or aliasing ranges can pile up into long runs: the first insertion
   * that probes more than LONG_RUN slots makes the table scatter its keys with a multiplicative hash instead.
   */
  private slot(address: number): number {
    if (address === this.lastAddress) return this.lastSlot;
    const lo = address >>> 4;
    const hi = (address / 4294967296) | 0;
    let i = (this.scattered ? Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) : lo + Math.imul(hi, 0x9e3779b1))
      & this.mask;
    const slots = this.slots;
    let probes = 0;
    while (slots[2 * i] !== EMPTY && slots[2 * i] !== address) {
      i = (i + 1) & this.mask;
      probes++;
    }
    this.lastProbes = probes;
    this.lastAddress = address;
    this.lastSlot = 2 * i;
    return 2 * i;
  }

  /** Addresses currently bound to a live object. */
  get liveObjects(): number {
    return this.liveCount;
  }

  /** The live object at `address`, or -1. */
  live(address: number): number {
    const k = this.slot(address);
    const value = this.slots[k + 1];
    return this.slots[k] === address && value >= 0 ? value : -1;
  }

  /** The line of the free that ended the object last at `address`, or 0 when there is none. */
  endedAt(address: number): number {
    const k = this.slot(address);
    const value = this.slots[k + 1];
    return this.slots[k] === address && value < 0 ? Math.floor(-value) : 0;
  }

  /** Binds `address` to object `id`; returns the id it replaces (a live object whose free was missed) or -1. */
  bind(address: number, id: number): number {
    let k = this.slot(address);
    const slots = this.slots;
    if (slots[k] === address) {
      const previous = slots[k + 1];
      slots[k + 1] = id;
      if (previous < 0) {
        this.liveCount++;
        return -1;
      }
      return previous;
    }
    if ((this.used + 1) * 8 > this.slots.length * 3) {
      this.rebuild(true);
      k = this.slot(address);
    } else if (this.lastProbes > LONG_RUN && !this.scattered) {
      this.scattered = true;
      this.rebuild(false);
      k = this.slot(address);
    }
    this.slots[k] = address;
    this.slots[k + 1] = id;
    this.used++;
    this.liveCount++;
    return -1;
  }

  /** Marks the object at `address` as ended by the free on `line` (0: unknown, which endedAt reports as 0). */
  end(address: number, line: number): void {
    const k = this.slot(address);
    if (this.slots[k] !== address || this.slots[k + 1] < 0) return;
    this.slots[k + 1] = line > 0 ? -line : -0.5;
    this.liveCount--;
  }

  /**
   * Doubles the table (`grow`) or rebuilds it at its size; when ended addresses are most of a large table, drops
   * them at the same size.
   */
  private rebuild(grow: boolean): void {
    const old = this.slots;
    const capacity = old.length / 2;
    this.lastAddress = NaN;
    const forget = this.used >= this.forgetAfter && this.liveCount * 4 < this.used;
    const grown = forget || !grow ? capacity : capacity * 2;
    this.slots = new Float64Array(2 * grown);
    this.mask = grown - 1;
    if (forget) {
      this.forgotten += this.used - this.liveCount;
      this.used = this.liveCount;
    }
    for (let k = 0; k < old.length; k += 2) {
      if (old[k] === EMPTY || (forget && old[k + 1] < 0)) continue;
      const at = this.slot(old[k]);
      this.slots[at] = old[k];
      this.slots[at + 1] = old[k + 1];
    }
  }
}
