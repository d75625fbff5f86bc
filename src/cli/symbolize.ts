// Resolves a recording's call sites after the program has ended: the recorder writes each site's return addresses
// ("# site <id> 0x… …") and the process's modules ("# module <id> <path> 0x<base>"); this runs addr2line once per
// module on every address that falls in it, and rewrites each site line as its resolved frames
// ("# site <id> <module>+0x<offset> <function> <file>:<line>", "# frame <id> <k> …", src/trace/sites.ts).
//
// A return address is the instruction after the call, which may belong to the next source line: addr2line is asked
// about the address before it, as debuggers and heaptrack do, while the line keeps the return address's offset.

import { spawnSync } from "node:child_process";
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { basename } from "node:path";
import { withOutput, writeChunk } from "../io/output.js";
import { readSiteComment, siteLines } from "../trace/sites.js";
import type { CallSite, SiteFrame, TraceHeader, TraceModule } from "../trace/types.js";

export interface SymbolizeResult {
  sites: number;
  /** Frames addr2line named a function or a source line for. */
  resolved: number;
  frames: number;
  /** Why nothing was resolved (no addr2line), when so. */
  problem?: string;
}

const RAW_SITE = /^# site \d+ 0x[0-9a-f]+( 0x[0-9a-f]+)*$/;

/** Bytes read at a time: the op lines between site lines are never decoded, only searched and copied. */
const CHUNK = 1 << 23;

/** A comment line of the file and where its bytes are (`end` before its newline). */
interface Found {
  text: string;
  start: number;
  end: number;
}

/** The `# site` and `# module` lines of a file, found by searching its bytes for line starts. */
function siteAndModuleLines(path: string): Found[] {
  const found: Found[] = [];
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(CHUNK);
    let base = 0;
    let carry = Buffer.alloc(0);
    for (;;) {
      const got = readSync(fd, buffer, 0, CHUNK, base + carry.length);
      const bytes = carry.length ? Buffer.concat([carry, buffer.subarray(0, got)]) : buffer.subarray(0, got);
      const last = got === 0;
      let from = 0;
      let complete = 0;
      for (;;) {
        let at = 0;
        if (base !== 0 || from !== 0 || bytes[0] !== 35) {
          const newline = bytes.indexOf("\n# ", from);
          if (newline < 0) break;
          at = newline + 1;
        }
        const nl = bytes.indexOf(10, at);
        if (nl < 0 && !last) break;
        const end = nl < 0 ? bytes.length : nl;
        const head = bytes.toString("latin1", at, Math.min(end, at + 9));
        if (head.startsWith("# site ") || head.startsWith("# module ")) {
          found.push({ text: bytes.toString("utf8", at, end), start: base + at, end: base + end });
        }
        from = end;
        complete = end;
      }
      if (last) break;
      // Keep the unfinished line (and a line start cut by the chunk's end) for the next chunk.
      const keep = Math.max(complete, bytes.lastIndexOf(10) >= 0 ? bytes.lastIndexOf(10) : 0);
      carry = Buffer.from(bytes.subarray(keep));
      base += keep;
    }
  } finally {
    closeSync(fd);
  }
  return found;
}

function fileSize(fd: number): number {
  return fstatSync(fd).size;
}

/** The module an address lies in: the one loaded at the highest base at or below it. */
function moduleOf(modules: TraceModule[], address: number): TraceModule | undefined {
  let found: TraceModule | undefined;
  for (const m of modules) if (m.base <= address && (!found || m.base > found.base)) found = m;
  return found;
}

/** addr2line's answers for `offsets` in the ELF file `path`: function and `file:line` each, in order. */
function addr2line(path: string, offsets: number[], tool: string): { fn: string; position: string }[] | null {
  const input = offsets.map((o) => `0x${Math.max(0, o - 1).toString(16)}`).join("\n") + "\n";
  const run = spawnSync(tool, ["-f", "-C", "-e", path], { input, encoding: "utf8", maxBuffer: 1 << 28 });
  if (run.status !== 0 || run.error) return null;
  const out = run.stdout.split("\n");
  return offsets.map((_, k) => ({ fn: out[2 * k] ?? "??", position: (out[2 * k + 1] ?? "??:0").replace(/ \(discriminator \d+\)$/, "") }));
}

/**
 * Resolves the raw call sites of the recorded file `path` in place (the file is rewritten beside itself and renamed
 * over). A file without raw sites is left alone.
 */
export async function symbolizeRecording(path: string, tool = "addr2line"): Promise<SymbolizeResult> {
  const header: TraceHeader = { format: "alloc-trace" };
  const raw = siteAndModuleLines(path).filter((line) => {
    const site = RAW_SITE.test(line.text);
    if (site || line.text.startsWith("# module ")) readSiteComment(line.text, header);
    return site;
  });
  const sites = header.sites ?? new Map<number, CallSite>();
  const result: SymbolizeResult = { sites: sites.size, resolved: 0, frames: 0 };
  if (!raw.length) return result;
  if (spawnSync(tool, ["--version"]).error) {
    result.problem = `'${tool}' did not run (install binutils): call sites are left as return addresses`;
    return result;
  }
  const modules = header.modules ?? [];
  const byModule = new Map<TraceModule, SiteFrame[]>();
  for (const site of sites.values()) {
    for (const frame of site.frames) {
      result.frames++;
      const module = frame.address === undefined ? undefined : moduleOf(modules, frame.address);
      if (!module) continue;
      frame.module = basename(module.path);
      frame.offset = frame.address! - module.base;
      let frames = byModule.get(module);
      if (!frames) byModule.set(module, (frames = []));
      frames.push(frame);
    }
  }
  for (const [module, frames] of byModule) {
    const answers = existsSync(module.path) ? addr2line(module.path, frames.map((f) => f.offset!), tool) : null;
    frames.forEach((frame, k) => {
      delete frame.address;
      const answer = answers?.[k];
      if (!answer) return;
      const colon = answer.position.lastIndexOf(":");
      const file = answer.position.slice(0, colon);
      const line = Number(answer.position.slice(colon + 1));
      if (answer.fn !== "??") frame.fn = answer.fn;
      if (file && file !== "??") frame.file = file;
      if (line > 0) frame.line = line;
      if (frame.fn !== undefined || frame.file !== undefined) result.resolved++;
    });
  }
  await withOutput(path, { label: path, inputs: [] }, async (output) => {
    const fd = openSync(path, "r");
    try {
      const buffer = Buffer.alloc(CHUNK);
      /** Copies the file's bytes [from, to) to the output. */
      const copy = async (from: number, to: number): Promise<void> => {
        for (let at = from; at < to;) {
          const got = readSync(fd, buffer, 0, Math.min(CHUNK, to - at), at);
          if (got <= 0) throw new Error(`${path}: changed while its call sites were resolved`);
          await writeChunk(output.stream, buffer.subarray(0, got), output.label);
          at += got;
        }
      };
      let at = 0;
      for (const line of raw) {
        await copy(at, line.start);
        const site = sites.get(Number(line.text.split(" ")[2]));
        await writeChunk(output.stream, site ? siteLines(site).join("\n") : line.text, output.label);
        at = line.end;
      }
      await copy(at, fileSize(fd));
    } finally {
      closeSync(fd);
    }
  });
  return result;
}
