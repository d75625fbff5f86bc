// Resolves a recording's call sites after the program has ended: the recorder writes each site's return addresses
// ("# site <id> 0x… …") and the process's modules ("# module <id> <path> 0x<base>"); this runs addr2line once per
// module on every address that falls in it, and rewrites each site line as its resolved frames
// ("# site <id> <module>+0x<offset> <function> <file>:<line>", "# frame <id> <k> …", src/trace/sites.ts).
//
// A return address is the instruction after the call, which may belong to the next source line: addr2line is asked
// about the address before it, as debuggers and heaptrack do, while the line keeps the return address's offset.

import { spawnSync } from "node:child_process";
import { createReadStream, existsSync } from "node:fs";
import { basename } from "node:path";
import { createInterface } from "node:readline";
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

/** Streams the lines of a file to `visit`. */
async function eachLine(path: string, visit: (line: string) => void): Promise<void> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) visit(line);
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
  let raw = 0;
  await eachLine(path, (line) => {
    if (line.startsWith("# site ") ? RAW_SITE.test(line) && ++raw > 0 : line.startsWith("# module ")) {
      readSiteComment(line, header);
    }
  });
  const sites = header.sites ?? new Map<number, CallSite>();
  const result: SymbolizeResult = { sites: sites.size, resolved: 0, frames: 0 };
  if (!raw) return result;
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
    const chunk: string[] = [];
    const drain = async (): Promise<void> => {
      if (chunk.length) await writeChunk(output.stream, chunk.join("\n") + "\n", output.label);
      chunk.length = 0;
    };
    const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
    for await (const line of lines) {
      const site = RAW_SITE.test(line) ? sites.get(Number(line.split(" ")[2])) : undefined;
      if (site) chunk.push(...siteLines(site));
      else chunk.push(line);
      if (chunk.length >= 4096) await drain();
    }
    await drain();
  });
  return result;
}
