// What the rest of heaplab knows about an allocator model, in one place per model (src/models/<model>.ts). Report,
// viz, CLI and fuzz read a descriptor instead of testing a model's name, so a new model is one new descriptor.
//
//   ModelDescriptor
//   ├── name, title, summary             CLI help, titles
//   ├── tunables                          syntax, example, which names are the model's own, short column titles
//   ├── pageSize, largeRequest            heap-map page lines, the cost table's "large alloc" class
//   ├── stats                             the allocator's own statistics section of the report
//   ├── states                            heap-walk states: colour, free list or not (in the model's search order)
//   ├── parts                             footprint parts: colour, how the report explains them, comparison group
//   ├── locks                             which event counters are the model's locks
//   └── edgeSizes                         request sizes where the model changes behaviour (fuzzing)

/** How the report splits the footprint (`Explained` in report/fragmentation.ts). */
export type PartMeaning = "live" | "internal" | "external" | "metadata";

/** The comparison rows parts of different models are summed into (`compare`). */
export type PartGroup = "live" | "overhead" | "cached" | "binned" | "slack" | "metadata";

/** One part of the footprint's decomposition, named as the model's `decomposeParts` export names it. */
export interface PartInfo {
  color: string;
  meaning: PartMeaning;
  group: PartGroup;
}

/** One heap-walk state, named as the model's `walkStates` export names it. */
export interface StateInfo {
  color: string;
  /** The program holds the chunk (its bytes are requested bytes and overhead, not free memory). */
  held?: boolean;
  /** The chunk sits on a free list: the bins view draws it, grouped by its `bin`. */
  freeList?: boolean;
  /** A free list whose members differ in size: the bins view labels it with its smallest size, `≥ n`. */
  ranged?: boolean;
}

/** A model's tunables: their syntax on the command line and which names are the model's own. */
export interface TunableSyntax {
  /** The syntax's name in help text ("GLIBC_TUNABLES syntax"). */
  syntax: string;
  /** A valid `--tunables` value. */
  example: string;
  /**
   * Whether `name` lies in the model's own namespace (`glibc.*`). Options in no model's namespace (heap_base,
   * mmap_base …) apply to every model.
   */
  owns(name: string): boolean;
  /** A tunable's name in column titles: its namespace left out. */
  short(name: string): string;
  /**
   * Names in the model's namespace that do not concern the allocator: they may share the string, as in the real
   * environment variable, and are left out.
   */
  ignores?(name: string): boolean;
  /** How the real allocator reads a value (default: C's strtoul). */
  value?(text: string): number;
  /** Parses a whole tunables string when the model's syntax is not `name=value:name=value`. */
  parse?(text: string): Record<string, number>;
}

export interface ModelDescriptor {
  /** The name on the command line, in reports and of the wasm module (`build/<name>.wasm`). */
  name: string;
  /** The allocator and version the model reproduces. */
  title: string;
  tunables: TunableSyntax;
  /** Bytes per page of the model's heap: where heap maps draw page lines. */
  pageSize: number;
  /** Requests of at least this many bytes are "large" in the cost table (where the model takes its large path). */
  largeRequest: number;
  /** The allocator's own statistics: the report's section title and the statistics it keeps (all when absent). */
  stats: { title: string; fields?: readonly string[] };
  /** Every state the model's heap walk names; free lists in the order the allocator searches them. */
  states: Readonly<Record<string, StateInfo>>;
  /** Every part the model's footprint decomposition names. */
  parts: Readonly<Record<string, PartInfo>>;
  /** Whether the model walks spans (the `spans` capability of src/wasm/abi.ts): `render --view spans`. */
  spans: boolean;
  /** Event counters (the `counterNames` export) that count the model's lock acquisitions. */
  locks: readonly string[];
  /** Whether the model grows a brk heap: a recording's program break becomes its heap_base. */
  brkHeap: boolean;
  /** What `--threads arena` gives each thread, for help text ("its arena"). */
  perThread: string;
  /** Request sizes at which the model changes behaviour: thresholds, class edges, limits. */
  edgeSizes: readonly number[];
}
