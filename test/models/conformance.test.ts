// What every model promises the rest of heaplab, checked for each model in the registry: the replay rules of the
// model ABI, a heap walk and a decomposition the descriptor can name, exact rollback of a failed call, and a
// descriptor that agrees with the wasm it describes. A new model in MODELS gets all of these without a line here.

import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createLab, type Lab } from "../../src/lab/lab.js";
import { HeapError } from "../../src/lab/types.js";
import { MODEL_NAMES, MODELS, type ModelName } from "../../src/models/index.js";
import { replayReport } from "../../src/report/report.js";
import { ModelMetrics } from "../../src/report/metrics.js";
import { traceSource } from "../../src/fuzz/source.js";
import { traceArbitrary } from "../../src/fuzz/arbitraries.js";
import { checkConstants, hasCapability, names } from "../../src/wasm/abi.js";
import { ABI_CONSTANTS } from "../../src/lab/model.js";
import { OpCode, type TraceOp } from "../../src/trace/types.js";

const asconfig = JSON.parse(readFileSync(new URL("../../asconfig.json", import.meta.url), "utf8")) as {
  models: string[];
};

/**
 * Promises a model does not keep yet, each a known bug: the test runs and must fail (`it.fails`), so that the day
 * it passes the entry has to go.
 */
const KNOWN_BROKEN: ReadonlySet<string> = new Set<string>();

/** `it`, or `it.fails` for a promise the model is known to break. */
const promise = (model: ModelName, title: string) =>
  (KNOWN_BROKEN.has(`${model}: ${title.split(" into ")[0]}`) ? it.fails : it);

/** An op code no model knows. */
const UNKNOWN_OP = 99;

/** The error a call throws (fails the test when it throws none, or something else). */
function thrown(call: () => unknown): HeapError {
  try {
    call();
  } catch (e) {
    if (e instanceof HeapError) return e;
    throw e;
  }
  throw new Error("the call did not fail");
}

/** Traces that reach every tier of an allocator: small and large sizes, several threads, frees in any order. */
const workloads = (model: ModelName) => traceArbitrary({
  sizes: "adversarial", threads: 3, minOps: 50, maxOps: 300, edges: MODELS[model].edgeSizes,
});

/** One sample of each workload, the same on every run. */
function sampleTraces(model: ModelName, count: number): TraceOp[][] {
  return fc.sample(workloads(model), { seed: 13, numRuns: count });
}

/** A lab with `ops` replayed on real threads. */
async function labAfter(model: ModelName, ops: readonly TraceOp[], metrics = false): Promise<Lab> {
  const lab = await createLab({ model, metrics });
  await lab.replay(traceSource(ops), { threads: "arena" });
  return lab;
}

describe("the registry", () => {
  it("lists the models asconfig.json builds, and only those", () => {
    expect([...MODEL_NAMES].sort()).toEqual([...asconfig.models].sort());
  });

  it("gives every model its name", () => {
    for (const name of MODEL_NAMES) expect(MODELS[name].name).toBe(name);
  });
});

describe.each(MODEL_NAMES)("the %s model", (model) => {
  const descriptor = MODELS[model];

  it("has the batch format heaplab has, and a changed constant would be caught", async () => {
    const lab = await createLab({ model, metrics: false });
    expect(() => checkConstants(model, lab.handle.wasm, ABI_CONSTANTS)).not.toThrow();
    expect(() => checkConstants(model, lab.handle.wasm, { ...ABI_CONSTANTS, OP_TRIM: 11 })).toThrow(/OP_TRIM is 10/);
    expect(() => checkConstants(model, lab.handle.wasm, { OP_SPLIT: 12 })).toThrow(/OP_SPLIT is not named/);
  });

  it("refuses an op code it does not know, changing nothing", async () => {
    const lab = await createLab({ model, metrics: false });
    const before = lab.chunks();
    for (const code of [UNKNOWN_OP, 0, -1, 2.5]) {
      const error = thrown(() => lab.handle.call(code, 0, -1, 16, 0, 0));
      expect(error.kind, String(code)).toBe("limit");
      expect(error.allocatorMessage).toMatch(/unknown operation/);
    }
    expect(lab.chunks()).toEqual(before);
  });

  it("refuses every option once it is initialised", async () => {
    const lab = await createLab({ model, metrics: false });
    lab.handle.optionNames.forEach((name, id) => {
      expect(lab.handle.wasm.setOption(id, 4096), name).toBe(0);
    });
  });

  it("refuses a thread index it keeps no state for", async () => {
    const lab = await createLab({ model, metrics: false });
    for (const thread of [-1, 2 ** 31, 1e12]) {
      const error = thrown(() => lab.handle.call(OpCode.malloc, thread, -1, 16, 0, 0));
      expect(error.kind, String(thread)).toBe("limit");
      expect(error.allocatorMessage).toMatch(/thread/);
    }
    expect(lab.malloc(16, { thread: 3 })).toBeGreaterThan(0);
  });

  it("names every state of its heap walk, and its descriptor describes each", async () => {
    const states = lab0States(await createLab({ model, metrics: false }));
    expect(new Set(states).size).toBe(states.length);
    expect(states.sort()).toEqual(Object.keys(descriptor.states).sort());
    for (const ops of sampleTraces(model, 8)) {
      const lab = await labAfter(model, ops);
      const codes = lab.handle.walk();
      for (let i = 0; i < codes.count; i++) expect(lab.handle.walkStates[codes.get(i, "state")]).toBeDefined();
      for (const chunk of lab.chunks()) expect(descriptor.states[chunk.state], chunk.state).toBeDefined();
    }
  });

  const decomposes = "decomposes its footprint into the parts its descriptor names, adding up on every row";
  promise(model, decomposes)(decomposes, async () => {
    for (const ops of sampleTraces(model, 6)) {
      const report = await replayReport(traceSource(ops), { model, timeline: true, every: 7, threads: "arena" });
      expect(report.decomposition.parts.sort()).toEqual(Object.keys(descriptor.parts).sort());
      expect(report.timeline!.length).toBeGreaterThan(0);
      for (const row of report.timeline!) {
        const sum = Object.values(row.parts).reduce((a, b) => a + b, 0);
        expect(sum, `op ${row.op}`).toBe(row.footprint);
      }
      const final = Object.values(report.decomposition.final).reduce((a, b) => a + b, 0);
      expect(final).toBe(report.footprint.final);
    }
  });

  it("undoes a failed call exactly: the next calls go where they go on a heap that never saw it", async () => {
    for (const ops of sampleTraces(model, 6)) {
      const failing = await labAfter(model, ops, true);
      const twin = await labAfter(model, ops, true);
      const before = { chunks: failing.chunks(), stats: failing.stats(), check: failing.check() };
      // An address far from any heap: every allocator refuses to free it.
      expect(["abort", "segv"]).toContain(thrown(() => failing.free(0x7000_0000_0010)).kind);
      expect(failing.chunks()).toEqual(before.chunks);
      expect(failing.stats()).toEqual(before.stats);
      expect(failing.check()).toEqual(before.check);
      for (const size of [24, 200, 5000, 300_000]) {
        expect(failing.malloc(size, { thread: 1 }), `malloc(${size})`).toBe(twin.malloc(size, { thread: 1 }));
      }
      const metrics = [new ModelMetrics(failing.handle).read(), new ModelMetrics(twin.handle).read()];
      expect(metrics[0].counters).toEqual(metrics[1].counters);
    }
  });

  it("names its statistics, counters and walk fields once each, and has what its descriptor reports", async () => {
    const lab = await createLab({ model });
    const { statNames, walkFields } = lab.handle;
    expect(new Set(statNames).size).toBe(statNames.length);
    expect(new Set(walkFields).size).toBe(walkFields.length);
    for (const field of ["address", "chunk", "size", "requested", "state", "bin", "region", "object"]) {
      expect(walkFields).toContain(field);
    }
    for (const field of descriptor.stats.fields ?? []) expect(statNames).toContain(field);
    const counters = new ModelMetrics(lab.handle).counterNames;
    expect(new Set(counters).size).toBe(counters.length);
    for (const lock of descriptor.locks) expect(counters).toContain(lock);
  });

  it("has spans exactly when its descriptor says so", async () => {
    const lab = await createLab({ model, metrics: false });
    expect(hasCapability(lab.handle.wasm, "spans")).toBe(descriptor.spans);
  });

  it("owns the tunables it names in its namespace, and no other model does", async () => {
    const lab = await createLab({ model, metrics: false });
    for (const name of lab.handle.optionNames.filter((n) => descriptor.tunables.owns(n))) {
      for (const other of MODEL_NAMES.filter((m) => m !== model)) expect(MODELS[other].tunables.owns(name)).toBe(false);
    }
  });
});

/** The walk's state names as the model exports them. */
function lab0States(lab: Lab): string[] {
  return names(lab.handle.wasm, lab.handle.wasm.walkStates());
}
