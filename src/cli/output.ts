// Buffered line output for the CLI: large writes, backpressure respected, a closed pipe ends quietly.

import type { Writable } from "node:stream";

/** A reader that closes the pipe early (`| head`) ends the process quietly instead of with an error. */
function endQuietlyOnClosedPipe(out: Writable): void {
  out.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
}

export class LineWriter {
  private buffer: string[] = [];
  private size = 0;
  private readonly out: Writable;

  constructor(out: Writable = process.stdout) {
    this.out = out;
    endQuietlyOnClosedPipe(out);
  }

  /** Queues lines; call `drain()` between batches to write them out. */
  push(lines: string[]): void {
    for (const l of lines) {
      this.buffer.push(l);
      this.size += l.length + 1;
    }
  }

  /** Writes what is queued once it exceeds `threshold` bytes, waiting for the stream when it is full. */
  async drain(threshold = 1 << 16): Promise<void> {
    if (this.size < threshold || !this.buffer.length) return;
    const text = this.buffer.join("\n") + "\n";
    this.buffer = [];
    this.size = 0;
    if (!this.out.write(text)) await new Promise<void>((resolve) => this.out.once("drain", () => resolve()));
  }

  async end(): Promise<void> {
    await this.drain(0);
  }
}

/** Byte chunks to a stream: backpressure respected, a closed pipe ends quietly. */
export class ByteWriter {
  private readonly out: Writable;

  constructor(out: Writable = process.stdout) {
    this.out = out;
    endQuietlyOnClosedPipe(out);
  }

  /** Writes `bytes` and waits until the stream is done with them: the caller may then overwrite them. */
  write(bytes: Uint8Array): Promise<void> {
    if (!bytes.length) return Promise.resolve();
    // A failed write resolves too: the stream's error handler decides (a closed pipe ends the process quietly).
    return new Promise<void>((resolve) => this.out.write(bytes, () => resolve()));
  }
}
