// Draws the pictures of this folder from real replays: `npm run build && node docs/pictures/make.mjs`.
// SVGs come straight from heaplab/viz; PNGs are screenshots taken by headless Chromium (/usr/bin/chromium).

import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { createLab } from "../../dist/index.js";
import * as viz from "../../dist/viz/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const traces = resolve(here, "../../../shared/traces");

async function record(model, trace) {
  const lab = await createLab({ model });
  const recording = await viz.recordReplay(lab, join(traces, `${trace}.trace.gz`), { snapshots: 16, samples: 600 });
  return { lab, recording, chunks: lab.chunks() };
}

function save(name, text) {
  writeFileSync(join(here, name), text);
  console.log(`${name}: ${text.length} bytes`);
}

const git = await record("ptmalloc", "git-log-p");
const gitTc = await record("tcmalloc", "git-log-p");
const sort = await record("ptmalloc", "sort-S1M");

save("heap-map.svg", viz.heapMapSVG(git.chunks, { title: "git log -p on ptmalloc: the heap at the end" }));
const first = [...sort.chunks].sort((a, b) => a.chunk - b.chunk).slice(0, 8);
const last = first[first.length - 1];
save("heap-map-zoom.svg", viz.heapMapSVG(sort.chunks, { mode: "linear", range: [first[0].chunk, last.chunk + last.size],
  title: "sort -S1M on ptmalloc, zoomed: headers (dark) and rounding (hatched)" }));
save("bins.svg", viz.binsSVG(viz.freeListsFromChunks(git.chunks), { chunks: git.chunks,
  title: "git log -p on ptmalloc: free lists at the end" }));
save("timeline.svg", viz.timelineSVG(git.recording.timeline, { title: "git log -p on ptmalloc: footprint over time" }));
save("timeline-diff.svg", viz.timelineDiffSVG(git.recording.timeline, gitTc.recording.timeline,
  { labels: ["ptmalloc", "tcmalloc"], title: "git log -p" }));
save("spans.svg", viz.spansSVG(viz.spanRows(gitTc.lab), { classSizes: viz.classSizes(gitTc.lab),
  title: "git log -p on TCMalloc: spans at the end" }));
const sortSnaps = sort.recording.snapshots;
const middle = sortSnaps[Math.floor(sortSnaps.length / 2)];
const end = sortSnaps[sortSnaps.length - 1];
save("heap-diff.svg", viz.heapDiffSVG(middle.chunks, end.chunks,
  { labels: [`sort -S1M after op ${middle.op}`, `after op ${end.op}`] }));
const snaps = git.recording.snapshots;
const report = viz.reportHTML({ title: "git log -p on ptmalloc", timeline: git.recording.timeline, snapshots: snaps,
  summary: { trace: "git-log-p", operations: git.recording.ops, "peak live": viz.bytes(git.recording.report.live.peak),
    "peak footprint": viz.bytes(git.recording.report.footprint.peak) } });

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"] });
const page = await browser.newPage({ viewport: { width: 1000, height: 1300 } });
const reportFile = join(tmpdir(), "heaplab-pictures-report.html");
writeFileSync(reportFile, report);
await page.goto(`file://${reportFile}`);
await page.evaluate((stop) => {
  const scrubber = document.getElementById("heaplab-scrubber");
  scrubber.value = String(stop);
  scrubber.dispatchEvent(new Event("input"));
}, Math.floor(snaps.length / 2));
await page.screenshot({ path: join(here, "report.png") });
for (const name of ["heap-map", "timeline", "spans"]) {
  await page.setContent(`<body style="margin:0">${readFileSync(join(here, `${name}.svg`), "utf8")}</body>`);
  await page.locator("svg").first().screenshot({ path: join(here, `${name}.png`) });
}
await browser.close();
console.log("report.png, heap-map.png, timeline.png, spans.png");
