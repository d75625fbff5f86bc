// What the commands write: buffered lines and bytes to a stream (backpressure respected, a closed pipe ends quietly, a
// failed write a one-line error), and output files that never destroy anything. A file is written to a temporary
// file beside it and renamed over it only when complete, so a failure, or a second process writing the same
// path, never leaves a truncated or mixed file; the only path ever removed is that temporary file. `-` and
// /dev/stdout are standard output; other devices and pipes are written in place.

import { randomBytes } from "node:crypto";
import {
  type Stats, createWriteStream, fchmodSync, fstatSync, openSync, readlinkSync, realpathSync, renameSync,
  rmSync, statSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Writable } from "node:stream";
import { reasonOf } from "./reason.js";

/** An output the command must not write (the input itself, a folder): the command line's mistake. */
export class OutputRefused extends Error {
  override name = "OutputRefused";
}

/** The names that mean standard output. */
export const STANDARD_OUTPUT: ReadonlySet<string> = new Set(["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"]);

/** Errors of `out` are kept for its writes to report (an unhandled 'error' event would crash the process). */
function watchErrors(out: Writable): void {
  if (out.listenerCount("error")) return;
  out.on("error", (e: NodeJS.ErrnoException) => {
    // A reader that closes the pipe early (`| head`) ends the process quietly instead of with an error.
    if (e.code === "EPIPE") process.exit(0);
  });
}

/** Writes `data` and waits until the stream is done with it: the caller may then reuse it. */
export function writeChunk(out: Writable, data: string | Uint8Array, label: string): Promise<void> {
  if (!data.length) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    out.write(data, (e) => {
      if (!e) resolve();
      // A closed pipe is left to the error handler, which ends the process quietly.
      else if ((e as NodeJS.ErrnoException).code !== "EPIPE") reject(new Error(`${label}: ${reasonOf(e)}`));
    });
  });
}

export class LineWriter {
  private buffer: string[] = [];
  private size = 0;
  private readonly out: Writable;
  private readonly label: string;

  /** `label` names the output in the error of a failed write. */
  constructor(out: Writable = process.stdout, label = "standard output") {
    this.out = out;
    this.label = label;
    watchErrors(out);
  }

  /** Queues lines; call `drain()` between batches to write them out. */
  push(lines: string[]): void {
    for (const l of lines) {
      this.buffer.push(l);
      this.size += l.length + 1;
    }
  }

  /** Writes what is queued once it exceeds `threshold` bytes, waiting for the stream to take it. */
  async drain(threshold = 1 << 16): Promise<void> {
    if (this.size < threshold || !this.buffer.length) return;
    const text = this.buffer.join("\n") + "\n";
    this.buffer = [];
    this.size = 0;
    await writeChunk(this.out, text, this.label);
  }

  async end(): Promise<void> {
    await this.drain(0);
  }
}

/** Byte chunks to a stream: backpressure respected, a closed pipe ends quietly. */
export class ByteWriter {
  private readonly out: Writable;
  private readonly label: string;

  constructor(out: Writable = process.stdout, label = "standard output") {
    this.out = out;
    this.label = label;
    watchErrors(out);
  }

  /** Writes `bytes` and waits until the stream is done with them: the caller may then overwrite them. */
  write(bytes: Uint8Array): Promise<void> {
    return writeChunk(this.out, bytes, this.label);
  }
}

export interface OutputOptions {
  /** The files the command reads: an output that is one of them (after links) is refused. */
  inputs?: readonly string[];
  /** How the output is named in errors, e.g. `--timeline t.csv` (default: the path). */
  label?: string;
}

/** A command's output: standard output, a device written in place, or a file replaced when complete. */
export class Output {
  /** The stream's first error: a writer that meets it reports it raw, and it is the output's to name. */
  private failure?: Error;

  private constructor(
    readonly stream: Writable,
    readonly label: string,
    /** The temporary file renamed to `target` on commit; none for standard output and devices. */
    private readonly temp?: string,
    private readonly target?: string,
  ) {
    watchErrors(stream);
    stream.on("error", (e: Error) => { this.failure ??= e; });
  }

  /** `error` named by this output when it is the output's own failure (a full disk), else as it is. */
  explain(error: unknown): unknown {
    return error === this.failure && error instanceof Error ? new Error(`${this.label}: ${reasonOf(error)}`) : error;
  }

  /** Opens the output `path` names; fails as `checkOutput` does, before anything is written. */
  static open(path: string, options: OutputOptions = {}): Output {
    const place = checkOutput(path, options);
    const label = options.label ?? path;
    if (place.kind !== "file") return new Output(place.kind === "device" ? createWriteStream(path) : process.stdout, label);
    const temp = join(dirname(place.target), `.${basename(place.target)}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
    let fd: number;
    try {
      fd = openSync(temp, "wx", 0o666);
    } catch (e) {
      throw new Error(`${label}: ${reasonOf(e as Error)}`);
    }
    try {
      // A file replaced keeps its permissions.
      if (place.mode !== undefined) fchmodSync(fd, place.mode);
    } catch {
      // Another owner's file: the new one is ours, with the default permissions.
    }
    removeOnInterrupt(temp);
    return new Output(createWriteStream(temp, { fd }), label, temp, place.target);
  }

  /** Finishes the output: the file replaces the target only now, whole. */
  async commit(): Promise<void> {
    if (this.stream === process.stdout) return;
    try {
      await new Promise<void>((resolve, reject) => {
        this.stream.once("error", reject);
        this.stream.end((e?: Error | null) => (e ? reject(e) : resolve()));
      });
      if (this.temp) renameSync(this.temp, this.target!);
      if (this.temp) pending.delete(this.temp);
    } catch (e) {
      this.abort();
      throw new Error(`${this.label}: ${reasonOf(e as Error)}`);
    }
  }

  /** Gives the output up: the temporary file goes; the target, whatever it is, is left as it was. */
  abort(): void {
    if (this.stream === process.stdout) return;
    this.stream.destroy();
    if (this.temp) removeTemporary(this.temp);
  }
}

/** Temporary files not yet renamed or removed: an interrupted command removes them on its way out. */
const pending = new Set<string>();
let interruptsHandled = false;

function removeTemporary(temp: string): void {
  rmSync(temp, { force: true });
  pending.delete(temp);
}

/** Registers `temp` for removal if the process is interrupted (Ctrl-C, kill) or exits before it is committed. */
function removeOnInterrupt(temp: string): void {
  if (!interruptsHandled) {
    interruptsHandled = true;
    const removeAll = (): void => pending.forEach(removeTemporary);
    process.on("exit", removeAll);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      process.once(signal, () => {
        removeAll();
        // The listener is gone: the signal's default action now ends the process, with the status it gives.
        process.kill(process.pid, signal);
      });
    }
  }
  pending.add(temp);
}

/** Where an output goes: standard output, a device or pipe written in place, or a regular file `target` replaced. */
export type OutputPlace =
  | { kind: "standard output" | "device" }
  | { kind: "file"; target: string; mode?: number };

/**
 * Where the output `path` names would go, checked without writing anything: fails when it is one of `inputs`, a
 * folder, or in a folder that does not exist. Commands that run long check their outputs first.
 */
export function checkOutput(path: string, options: OutputOptions = {}): OutputPlace {
  const label = options.label ?? path;
  if (STANDARD_OUTPUT.has(path)) {
    refuseInput(fstatSync(1), options.inputs, label);
    return { kind: "standard output" };
  }
  const existing = statSync(path, { throwIfNoEntry: false });
  if (existing) {
    refuseInput(existing, options.inputs, label);
    if (existing.isDirectory()) throw new OutputRefused(`${label}: is a folder`);
    if (!existing.isFile()) return { kind: "device" };
  }
  const target = targetOf(path, existing);
  const folder = statSync(dirname(target), { throwIfNoEntry: false });
  if (!folder?.isDirectory()) throw new Error(`${label}: no such folder ${dirname(path)}`);
  return { kind: "file", target, mode: existing && existing.mode & 0o7777 };
}

/** Runs `write` on the output `path` names and commits it; on any error the output is given up and the error rethrown. */
export async function withOutput<T>(path: string, options: OutputOptions, write: (output: Output) => Promise<T>): Promise<T> {
  const output = Output.open(path, options);
  try {
    const result = await write(output);
    await output.commit();
    return result;
  } catch (e) {
    output.abort();
    throw output.explain(e);
  }
}

/** Writes `data` as the output `path` names: all of it or, on error, nothing. */
export function writeOutput(path: string, data: string | Uint8Array, options: OutputOptions = {}): Promise<void> {
  return withOutput(path, options, (output) => writeChunk(output.stream, data, output.label));
}

/** The regular file `path` stands for: a link's target, so that the link stays and its target is replaced. */
function targetOf(path: string, existing: Stats | undefined): string {
  if (existing) return realpathSync(path);
  try {
    // A dangling link: the file it names is created, as writing through the link would.
    return resolve(dirname(path), readlinkSync(path));
  } catch {
    return resolve(path);
  }
}

/** Refuses an output that is one of the inputs: it would be replaced while it is read, or truncated before. */
function refuseInput(output: Stats, inputs: readonly string[] | undefined, label: string): void {
  for (const input of inputs ?? []) {
    const s = statSync(input, { throwIfNoEntry: false });
    if (s && s.dev === output.dev && s.ino === output.ino && output.isFile()) {
      throw new OutputRefused(`${label}: is the input ${input}; write to another file`);
    }
  }
}

