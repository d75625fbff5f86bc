// Call-site tables of a report: at each peak, which call sites hold the live bytes, what share of the footprint
// their blocks take, and how much of those blocks their requests leave unused. Built from the site accounts
// (src/lab/site-accounts.ts) taken at the exact op of each peak.

import type { SiteSnapshot } from "../lab/site-accounts.js";
import { siteName } from "../trace/sites.js";
import type { CallSite, SiteFrame } from "../trace/types.js";
import { formatBytes, formatCount, formatPercent, table } from "./format.js";

/** One row of a call-site table: a site, the sites folded into "rest", or the ops without a site. */
export interface CallSiteRow {
  /** The site's id in the trace (`# site`); null for the folded rest and for ops without a site. */
  site: number | null;
  /** Function and source line (or module+offset, or address); "(rest: k sites)" or "(no call site)". */
  name: string;
  /** The site's frames, innermost first, when the trace resolves them. */
  frames?: SiteFrame[];
  /** Live objects the site allocated, and their requested bytes. */
  objects: number;
  live: number;
  /** Usable bytes of those objects' blocks (malloc_usable_size). */
  usable: number;
  /** The site's share of all live bytes at the peak. */
  liveShare: number | null;
  /** Its blocks' share of the footprint at the peak. */
  footprintShare: number | null;
  /** Internal fragmentation of its blocks: 1 − live / usable (null without blocks). */
  fragmentation: number | null;
}

export interface CallSiteTables {
  /** Sites listed before the rest is folded. */
  top: number;
  /** Distinct sites the replay saw. */
  sites: number;
  atPeakLive: CallSiteRow[];
  atPeakFootprint: CallSiteRow[];
}

/**
 * The table of one peak: the `top` sites with the most live bytes (with `byUsable`, the most usable bytes), the
 * rest folded into one row, and the ops without a call site in a row of their own. `live` and `footprint` are the
 * peak's totals.
 */
export function callSiteTable(
  snapshot: SiteSnapshot, sites: Map<number, CallSite> | undefined, top: number, live: number, footprint: number,
  byUsable = false,
): CallSiteRow[] {
  const row = (site: number | null, name: string, objects: number, bytes: number, usable: number): CallSiteRow => ({
    site, name, objects, live: bytes, usable,
    liveShare: live > 0 ? bytes / live : null,
    footprintShare: footprint > 0 ? usable / footprint : null,
    fragmentation: usable > 0 ? 1 - bytes / usable : null,
  });
  const order: number[] = [];
  for (let k = 1; k < snapshot.ids.length; k++) if (snapshot.objects[k] > 0) order.push(k);
  const key = byUsable ? snapshot.usable : snapshot.live;
  order.sort((x, y) => key[y] - key[x] || snapshot.ids[x] - snapshot.ids[y]);
  const rows = order.slice(0, top).map((k) => {
    const id = snapshot.ids[k];
    const r = row(id, siteName(sites?.get(id), id), snapshot.objects[k], snapshot.live[k], snapshot.usable[k]);
    const frames = sites?.get(id)?.frames;
    if (frames?.length) r.frames = frames;
    return r;
  });
  distinguish(rows);
  const rest = order.slice(top);
  if (rest.length) {
    let objects = 0;
    let bytes = 0;
    let usable = 0;
    for (const k of rest) {
      objects += snapshot.objects[k];
      bytes += snapshot.live[k];
      usable += snapshot.usable[k];
    }
    rows.push(row(null, `(rest: ${rest.length} sites)`, objects, bytes, usable));
  }
  // Objects allocated before the trace's first call site were never accounted: their bytes join the ops without one.
  let accounted = 0;
  for (let k = 0; k < snapshot.ids.length; k++) accounted += snapshot.live[k];
  const unaccounted = Math.max(0, live - accounted);
  if (snapshot.objects[0] > 0 || unaccounted > 0) {
    rows.push(row(null, "(no call site)", snapshot.objects[0], snapshot.live[0] + unaccounted, snapshot.usable[0]));
  }
  return rows;
}

/**
 * Rows whose sites share a name (one function, called from different places) get the caller that tells them apart:
 * the first frame at which each differs from every other, after an ellipsis when frames in between are alike.
 */
function distinguish(rows: CallSiteRow[]): void {
  const byName = new Map<string, CallSiteRow[]>();
  for (const r of rows) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  const text = (r: CallSiteRow, k: number): string => (r.frames?.[k] ? siteName({ id: 0, frames: [r.frames[k]] }, 0) : "");
  const firstDifference = (r: CallSiteRow, o: CallSiteRow): number => {
    const depth = Math.max(r.frames?.length ?? 0, o.frames?.length ?? 0);
    for (let k = 1; k < depth; k++) if (text(r, k) !== text(o, k)) return k;
    return -1;
  };
  for (const same of byName.values()) {
    if (same.length < 2) continue;
    const depths = same.map((r) => Math.max(...same.filter((o) => o !== r).map((o) => firstDifference(r, o))));
    same.forEach((r, i) => {
      const k = depths[i];
      if (k > 0 && text(r, k)) r.name += ` ← ${k > 1 ? "… ← " : ""}${text(r, k)}`;
    });
  }
}

/** The call-site tables as text: one table per peak. */
export function formatCallSites(tables: CallSiteTables): string {
  const one = (title: string, rows: CallSiteRow[]): string => table([
    [title, "objects", "live", "of live", "blocks", "of footprint", "internal"],
    ...rows.map((r) => [r.name, formatCount(r.objects), formatBytes(r.live), formatPercent(r.liveShare),
      formatBytes(r.usable), formatPercent(r.footprintShare), formatPercent(r.fragmentation)]),
  ], ["left", "right", "right", "right", "right", "right", "right"]);
  return [
    one("call site at peak live", tables.atPeakLive),
    one("call site at peak footprint", tables.atPeakFootprint),
    `${formatCount(tables.sites)} call sites; "blocks" are the usable bytes of the site's live blocks, "internal" `
      + "the part of them its requests leave unused",
  ].join("\n\n");
}
