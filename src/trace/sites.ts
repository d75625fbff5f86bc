// Call sites in traces: the comment lines that define them and the names a report gives them.
//
//   # site <id> 0x<addr> [0x<addr> …]                         as recorded: return addresses, innermost first
//   # site <id> <module>+0x<offset> <function> <file>:<line>    resolved: the innermost frame
//   # frame <id> <k> <module>+0x<offset> <function> <file>:<line>   resolved: frame k ≥ 1 (its callers)
//   # module <id> <path> 0x<base>                              a module of the recorded process and its load address
//
// An op line names its site with `site=<id>` (ids from 1; alloc-trace readers ignore other key=value fields). A
// function or file that is not known reads `??`, as addr2line prints it; a function's name may hold spaces (C++),
// so a resolved frame is read from both ends.

import type { CallSite, SiteFrame, TraceHeader, TraceModule } from "./types.js";

const SITE = "# site ";
const FRAME = "# frame ";
const MODULE = "# module ";

/** Reads a `# site`, `# frame` or `# module` comment into `header`; false when `text` is none of them. */
export function readSiteComment(text: string, header: TraceHeader): boolean {
  if (text.startsWith(SITE)) {
    const [id, ...rest] = text.slice(SITE.length).trim().split(" ");
    const n = idOf(id);
    if (n === undefined || !rest.length) return true;
    const frames = rest.every(isHexAddress) ? rest.map((t) => ({ address: Number(t) })) : [resolvedFrame(rest)];
    (header.sites ??= new Map()).set(n, { id: n, frames });
    return true;
  }
  if (text.startsWith(FRAME)) {
    const [id, k, ...rest] = text.slice(FRAME.length).trim().split(" ");
    const site = header.sites?.get(idOf(id) ?? -1);
    const depth = idOf(k);
    if (site && depth !== undefined && rest.length) site.frames[depth] = resolvedFrame(rest);
    return true;
  }
  if (text.startsWith(MODULE)) {
    const parts = text.slice(MODULE.length).trim().split(" ");
    const id = idOf(parts[0]);
    const base = parts[parts.length - 1];
    if (id !== undefined && parts.length >= 3 && isHexAddress(base)) {
      (header.modules ??= []).push({ id, path: parts.slice(1, -1).join(" "), base: Number(base) });
    }
    return true;
  }
  return false;
}

function idOf(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}

function isHexAddress(text: string): boolean {
  return /^0x[0-9a-fA-F]{1,13}$/.test(text);
}

/** `<module>+0x<offset> [<function…> <file>:<line>]`, or a bare `0x<addr>`. */
function resolvedFrame(tokens: string[]): SiteFrame {
  const frame: SiteFrame = {};
  const where = tokens[0];
  const plus = where.lastIndexOf("+0x");
  if (isHexAddress(where)) frame.address = Number(where);
  else if (plus > 0) {
    frame.module = where.slice(0, plus);
    frame.offset = Number(where.slice(plus + 1));
  } else frame.module = where;
  if (tokens.length >= 2) {
    const position = tokens[tokens.length - 1];
    const colon = position.lastIndexOf(":");
    const fn = tokens.slice(1, tokens.length >= 3 ? -1 : undefined).join(" ");
    if (fn && fn !== "??") frame.fn = fn;
    if (tokens.length >= 3 && colon > 0 && position.slice(0, colon) !== "??") {
      frame.file = position.slice(0, colon);
      const line = Number(position.slice(colon + 1));
      if (Number.isSafeInteger(line) && line > 0) frame.line = line;
    }
  }
  return frame;
}

/** A frame as its comment writes it: `<module>+0x<offset> <function> <file>:<line>` (or `0x<addr>`). */
export function frameText(frame: SiteFrame): string {
  const where = frame.module !== undefined
    ? `${frame.module.replace(/ /g, "_")}+0x${(frame.offset ?? 0).toString(16)}`
    : `0x${(frame.address ?? 0).toString(16)}`;
  if (frame.module === undefined && frame.fn === undefined && frame.file === undefined) return where;
  return `${where} ${frame.fn ?? "??"} ${frame.file?.replace(/ /g, "_") ?? "??"}:${frame.line ?? 0}`;
}

/** The comment lines that define `site`: its `# site` line, then a `# frame` line per caller. */
export function siteLines(site: CallSite): string[] {
  const [first, ...callers] = site.frames;
  return [
    `${SITE}${site.id} ${first ? frameText(first) : "0x0"}`,
    ...callers.map((frame, k) => `${FRAME}${site.id} ${k + 1} ${frameText(frame)}`),
  ];
}

/** The `# module` line of a module. */
export function moduleLine(module: TraceModule): string {
  return `${MODULE}${module.id} ${module.path} 0x${module.base.toString(16)}`;
}

/**
 * A site's short name for tables and tooltips: the innermost frame's function and source line where known, else
 * its module and offset, else its address.
 */
export function siteName(site: CallSite | undefined, id: number): string {
  const frame = site?.frames.find((f) => f.fn !== undefined || f.file !== undefined) ?? site?.frames[0];
  if (!frame) return `site ${id}`;
  const file = frame.file ? ` ${frame.file.slice(frame.file.lastIndexOf("/") + 1)}:${frame.line ?? 0}` : "";
  if (frame.fn || file) return `${frame.fn ?? "??"}${file}`;
  if (frame.module !== undefined) return `${frame.module}+0x${(frame.offset ?? 0).toString(16)}`;
  return `0x${(frame.address ?? 0).toString(16)}`;
}
