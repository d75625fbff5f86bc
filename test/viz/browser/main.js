// The browser test page: replays a trace (fetched over http) with the built package and draws it.
// Query: ?trace=/shared/traces/NAME.trace.gz&model=ptmalloc, or ?synthetic=1 for views of made-up rows only.

const params = new URLSearchParams(location.search);

function show(id, markup) {
  document.getElementById(id).innerHTML = markup;
}

async function replayTrace(viz) {
  const { createLab } = await import("/dist/index.js");
  const model = params.get("model") ?? "ptmalloc";
  const trace = new URL(params.get("trace"), location.href);
  const lab = await createLab({ model });
  const recording = await viz.recordReplay(lab, trace, { snapshots: 8, samples: 200 });
  const chunks = lab.chunks();
  document.getElementById("heading").textContent = `${trace.pathname.split("/").pop()} on ${model}`;
  show("summary", `${recording.ops} operations, ${chunks.length} chunks`);
  show("timeline", viz.timelineSVG(recording.timeline, { title: "footprint over time" }));
  show("map", viz.heapMapSVG(chunks, { title: "heap at the end of the trace", pageSize: model === "tcmalloc" ? 8192 : 4096 }));
  show("bins", viz.binsSVG(viz.freeListsFromChunks(chunks), { chunks }));
  return { ops: recording.ops, chunks: chunks.length, states: chunks.map((c) => c.state) };
}

function synthetic(viz) {
  const chunks = [];
  let at = 0x55555555a000;
  const states = ["allocated", "allocated", "tcache", "allocated", "fastbin", "smallbin"];
  for (let i = 0; i < 30; i++) {
    const size = 32 + (i % 7) * 16;
    const state = states[i % states.length];
    chunks.push({ address: at + 16, chunk: at, size, requested: state === "allocated" ? size - 20 : 0, state,
      bin: state === "allocated" ? -1 : i % 4, region: "heap", line: state === "allocated" ? i + 1 : null });
    at += size;
  }
  chunks.push({ address: at + 16, chunk: at, size: 0x5555555a0000 - at, requested: 0, state: "top", bin: -1,
    region: "heap", line: null });
  show("map", viz.heapMapSVG(chunks, { title: "synthetic heap" }));
  show("bins", viz.binsSVG(viz.freeListsFromChunks(chunks), { chunks }));
  return { ops: 0, chunks: chunks.length, states: chunks.map((c) => c.state) };
}

try {
  const viz = await import("/dist/viz/index.js");
  window.heaplabResult = params.has("trace") ? await replayTrace(viz) : synthetic(viz);
  document.body.dataset.state = "done";
} catch (error) {
  window.heaplabResult = { error: String(error?.stack ?? error) };
  document.body.dataset.state = "failed";
}
