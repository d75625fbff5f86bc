import { it } from "vitest";
import { readFileSync } from "node:fs";
it("timing", async () => {
  const { createLab } = await import("../../src/lab/lab.js");
  for (const t of ["sqlite", "git", "sqlite"]) {
    const bytes = readFileSync(`/tmp/tc/${t}.trace`);
    const { readAllocTrace } = await import("../../src/trace/alloc-trace.js");
    const lab = await createLab({ model: "tcmalloc" });
    const t0 = performance.now();
    const s = await lab.replay(bytes);
    const t1 = performance.now();
    // model only: replay again through a fresh lab but with pre-parsed batches
    const batches: any[] = []; const src = readAllocTrace(bytes);
    for await (const b of src.batches()) batches.push(b);
    const lab2 = await createLab({ model: "tcmalloc" });
    let wasmMs = 0; const h: any = lab2.handle; const orig = h.run.bind(h);
    h.run = (c: number, j: boolean) => { const a = performance.now(); const r = orig(c, j); wasmMs += performance.now() - a; return r; };
    const t2 = performance.now();
    await lab2.replay({ ...src, batches: async function* () { yield* batches; } } as any);
    const t3 = performance.now();
    console.log(t, s.ops, "total ns/op", ((t1 - t0) * 1e6 / s.ops).toFixed(0), "pre-parsed ns/op", ((t3 - t2) * 1e6 / s.ops).toFixed(0), "wasm ns/op", (wasmMs * 1e6 / s.ops).toFixed(0));
  }
}, 120000);
