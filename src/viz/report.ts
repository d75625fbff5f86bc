// The HTML report: one self-contained file (inline SVG, inline script, no network) with the timeline, the heap
// map and a scrubber that steps through snapshots taken along the trace.

import type { HeapSnapshot, TimelineRow } from "./types.js";
import type { CallSiteRow, CallSiteTables } from "../report/callsites.js";
import type { ReportTable } from "../report/text.js";
import { siteName } from "../trace/sites.js";
import type { CallSite } from "../trace/types.js";
import { bytes, escapeXml, num } from "./svg.js";
import { type HeapMapOptions, heapMapSVG, sharedRowBytes } from "./heapmap.js";
import { type TimelineOptions, timelineSVG, timelineScale } from "./timeline.js";

export interface ReportInput {
  title?: string;
  /** Footprint samples for the timeline (left out when empty). */
  timeline?: readonly TimelineRow[];
  /** Heap snapshots in trace order; the scrubber steps through them. */
  snapshots: readonly HeapSnapshot[];
  heapMap?: HeapMapOptions;
  timelineOptions?: TimelineOptions;
  /** Key figures shown as a table above the plots. */
  summary?: Readonly<Record<string, string | number>>;
  /** The trace's call sites: heap-map tooltips name the site that allocated each block. */
  sites?: Map<number, CallSite>;
  /** The report's tables (`reportTables` of src/report/text.ts), shown above the plots as the text report has them. */
  tables?: readonly ReportTable[];
  /** The report's call-site tables, shown below the heap map. */
  callSites?: CallSiteTables;
}

/** One scrubber stop, as embedded in the page: the prerendered map and where the timeline cursor goes. */
export interface ScrubberFrame {
  op: number;
  label: string;
  cursor: number | null;
  svg: string;
}

/** A one-line summary of a snapshot: chunk count and bytes by allocated / free. */
export function snapshotLabel(snapshot: HeapSnapshot): string {
  let allocated = 0;
  let free = 0;
  for (const chunk of snapshot.chunks) {
    if (chunk.state === "allocated" || chunk.state === "mmapped") allocated += chunk.size;
    else free += chunk.size;
  }
  return `op ${snapshot.op}: ${snapshot.chunks.length} chunks, ${bytes(allocated)} allocated, ${bytes(free)} free`;
}

/** JSON that is safe inside a `<script>` element: no `</` and no `<!--` (which could end it), no line separators. */
export function scriptJSON(value: unknown): string {
  return JSON.stringify(value)
    .replace(/<\//g, "<\\/")
    .replace(/<!--/g, "\\u003c!--")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** The scrubber frames: one prerendered heap map per snapshot, with the timeline cursor position. */
export function scrubberFrames(input: ReportInput): ScrubberFrame[] {
  const rows = input.timeline ?? [];
  const scale = rows.length > 0 ? timelineScale(rows, input.timelineOptions) : null;
  // Every frame at one scale: the largest row size any snapshot needs.
  const shared = input.snapshots.length > 1 && input.heapMap?.mode !== "linear"
    ? { rowBytes: sharedRowBytes(input.snapshots.map((s) => s.chunks), { pageSize: input.snapshots[0].pageSize, ...input.heapMap }) }
    : {};
  return input.snapshots.map((snapshot) => ({
    op: snapshot.op,
    label: snapshotLabel(snapshot),
    cursor: scale ? Number(num(scale.x(snapshot.op))) : null,
    svg: heapMapSVG(snapshot.chunks, {
      pageSize: snapshot.pageSize,
      title: `${snapshot.model ?? "heap"} after ${snapshot.op} operations`,
      ...(input.sites ? { siteName: (id: number) => siteName(input.sites!.get(id), id) } : {}),
      ...shared,
      ...input.heapMap,
    }),
  }));
}

/**
 * Frames as the page embeds them: each frame's SVG cut before every `<rect `, the distinct pieces kept once in
 * `pool` and each frame listing its pieces by index (chunks that stay put are shared between frames).
 */
export interface PackedFrames {
  pool: string[];
  frames: (Omit<ScrubberFrame, "svg"> & { pieces: number[] })[];
}

/** Packs frames for embedding (see PackedFrames). */
export function packFrames(frames: readonly ScrubberFrame[]): PackedFrames {
  const index = new Map<string, number>();
  const pool: string[] = [];
  const packed = frames.map(({ svg, ...rest }) => ({
    ...rest,
    pieces: svg.split(/(?=<rect )/).map((piece) => {
      let i = index.get(piece);
      if (i === undefined) {
        i = pool.push(piece) - 1;
        index.set(piece, i);
      }
      return i;
    }),
  }));
  return { pool, frames: packed };
}

/** The SVG of frame `i` of packed frames. */
export function unpackFrame(packed: PackedFrames, i: number): string {
  return packed.frames[i].pieces.map((piece) => packed.pool[piece]).join("");
}

// Runs in the page: swaps the heap map and moves the timeline cursor as the scrubber moves.
const SCRUBBER_SCRIPT = `(() => {
  const { pool, frames } = JSON.parse(document.getElementById("heaplab-frames").textContent);
  const range = document.getElementById("heaplab-scrubber");
  const map = document.getElementById("heaplab-map");
  const label = document.getElementById("heaplab-frame-label");
  const cursor = document.querySelector("#heaplab-timeline .cursor");
  function show(i) {
    const frame = frames[i];
    range.value = String(i);
    map.innerHTML = frame.pieces.map((piece) => pool[piece]).join("");
    label.textContent = (i + 1) + "/" + frames.length + " — " + frame.label;
    if (cursor && frame.cursor !== null) {
      cursor.setAttribute("x1", frame.cursor);
      cursor.setAttribute("x2", frame.cursor);
      cursor.setAttribute("visibility", "visible");
    }
  }
  const step = (d) => show(Math.min(frames.length - 1, Math.max(0, Number(range.value) + d)));
  range.addEventListener("input", () => show(Number(range.value)));
  document.getElementById("heaplab-prev").addEventListener("click", () => step(-1));
  document.getElementById("heaplab-next").addEventListener("click", () => step(1));
  document.addEventListener("keydown", (e) => {
    if (e.key === "ArrowLeft") step(-1);
    if (e.key === "ArrowRight") step(1);
  });
  if (frames.length > 0) show(Number(range.value));
})();`;

const STYLE = `body{font:14px system-ui,sans-serif;margin:16px;color:#212529}
h1{font-size:20px;margin:0 0 12px}table{border-collapse:collapse;margin-bottom:12px}
td{padding:2px 12px 2px 0}td:first-child{color:#495057}
.callsites th{text-align:left;padding:2px 12px 2px 0}.callsites td+td{text-align:right}
.report{display:inline-table;vertical-align:top;margin-right:24px}.report th{text-align:left;padding:2px 12px 2px 0}
.report .num{text-align:right}
.scrubber{display:flex;gap:8px;align-items:center;margin:8px 0}.scrubber input{flex:1}
#heaplab-frame-label{font-family:ui-monospace,monospace}svg{max-width:100%;height:auto}`;

/** A key/value table of the summary. */
function summaryTable(summary: Readonly<Record<string, string | number>>): string {
  const rows = Object.entries(summary).map(([k, v]) => `<tr><td>${escapeXml(k)}</td><td>${escapeXml(String(v))}</td></tr>`);
  return rows.length ? `<table class="summary">${rows.join("")}</table>` : "";
}

/** The report's tables as HTML: the same cells as the text report, a header row of `th`. */
function reportSection(tables: readonly ReportTable[]): string {
  const cell = (tag: string, text: string, align?: string): string =>
    `<${tag}${align === "right" ? ' class="num"' : ""}>${escapeXml(text)}</${tag}>`;
  const one = (t: ReportTable): string => {
    const [head, ...rows] = t.rows;
    const align = (c: number): string => t.align?.[c] ?? (c === 0 ? "left" : "right");
    return `<table class="report" data-table="${escapeXml(t.id)}"><thead><tr>${head.map((h, c) => cell("th", h, align(c))).join("")}` +
      `</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((v, c) => cell("td", v, align(c))).join("")}</tr>`).join("")}</tbody></table>`;
  };
  return `<section id="heaplab-report">${tables.map(one).join("\n")}</section>`;
}

/** The call-site tables: at each peak, the sites' live bytes, their blocks' share of the footprint, fragmentation. */
function callSiteSection(tables: CallSiteTables): string {
  const percent = (f: number | null): string => (f === null ? "n/a" : `${(f * 100).toFixed(1)} %`);
  const one = (title: string, rows: CallSiteRow[]): string => {
    const body = rows.map((r) => {
      const where = (r.frames ?? []).map((f, k) => `${k ? "← " : ""}${siteName({ id: 0, frames: [f] }, 0)}`).join("\n");
      return `<tr title="${escapeXml(where)}"><td>${escapeXml(r.name)}</td><td>${r.objects}</td><td>${bytes(r.live)}</td>` +
        `<td>${percent(r.liveShare)}</td><td>${bytes(r.usable)}</td><td>${percent(r.footprintShare)}</td>` +
        `<td>${percent(r.fragmentation)}</td></tr>`;
    }).join("");
    return `<table class="callsites"><tr><th>${escapeXml(title)}</th><th>objects</th><th>live</th><th>of live</th>` +
      `<th>blocks</th><th>of footprint</th><th>internal</th></tr>${body}</table>`;
  };
  return `<section id="heaplab-callsites">${one("call site at peak live", tables.atPeakLive)}` +
    `${one("call site at peak footprint", tables.atPeakFootprint)}</section>`;
}

/** The report page as one self-contained HTML document. */
export function reportHTML(input: ReportInput): string {
  const title = input.title ?? "heaplab report";
  const frames = scrubberFrames(input);
  const last = Math.max(0, frames.length - 1);
  const timeline = input.timeline && input.timeline.length > 0
    ? `<section id="heaplab-timeline">${timelineSVG(input.timeline, input.timelineOptions)}</section>` : "";
  const scrubber = frames.length > 1
    ? `<div class="scrubber"><button id="heaplab-prev" type="button">◀</button>` +
      `<input id="heaplab-scrubber" type="range" min="0" max="${last}" value="${last}" step="1">` +
      `<button id="heaplab-next" type="button">▶</button></div>`
    : `<input id="heaplab-scrubber" type="hidden" value="${last}">` +
      `<button id="heaplab-prev" hidden></button><button id="heaplab-next" hidden></button>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>${STYLE}</style></head>
<body>
<h1>${escapeXml(title)}</h1>
${summaryTable(input.summary ?? {})}
${input.tables?.length ? reportSection(input.tables) : ""}
${timeline}
${scrubber}
<div id="heaplab-frame-label">${escapeXml(frames[last]?.label ?? "no snapshots")}</div>
<section id="heaplab-map">${frames[last]?.svg ?? ""}</section>
${input.callSites ? callSiteSection(input.callSites) : ""}
<script type="application/json" id="heaplab-frames">${scriptJSON(packFrames(frames))}</script>
<script>${SCRUBBER_SCRIPT}</script>
</body></html>
`;
}
