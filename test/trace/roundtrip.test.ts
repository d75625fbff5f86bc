// Writers and the binary format: exact round trips (text → binary → text byte for byte, on the shared traces and
// on generated traces), and the lossy targets (.rep, mtrace) keeping what they can express.

import { readFileSync } from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readAllocTrace } from "../../src/trace/alloc-trace.js";
import { readBinary } from "../../src/trace/binary.js";
import { openTrace } from "../../src/trace/detect.js";
import { readMtrace } from "../../src/trace/mtrace.js";
import { readRep } from "../../src/trace/rep.js";
import { LETTER_OF_CODE, OpCode, type TraceOp, emptyLoss } from "../../src/trace/types.js";
import { encodeToBytes } from "../../src/trace/write.js";
import { collect, sharedTraceFiles, show, sourceOf } from "./helpers.js";

const decode = (b: Uint8Array): string => new TextDecoder().decode(b);

describe.skipIf(sharedTraceFiles().length === 0)("shared traces", () => {
  for (const path of sharedTraceFiles()) {
    const name = path.split("/").pop()!;
    it(`${name}: text → binary → text is identical, and the binary reads as the same ops and lines`, async () => {
      const text = gunzipSync(readFileSync(path));
      const binary = await encodeToBytes(readAllocTrace(path), "binary");
      if (text.length > 100_000) expect(binary.length).toBeLessThan(text.length * 0.8);
      const again = await encodeToBytes(readBinary(binary), "alloc-trace");
      expect(Buffer.from(again).equals(text)).toBe(true);
      const fromText = await collect(readAllocTrace(text));
      const fromBinary = await collect(readBinary(gzipSync(binary)));
      expect(fromBinary.length).toBe(fromText.length);
      const step = Math.max(1, Math.floor(fromText.length / 5000));
      for (let i = 0; i < fromText.length; i += step) expect(fromBinary[i]).toEqual(fromText[i]);
    });
  }
});

const address = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 47 - 1 }), fc.integer({ min: 0x555555554000, max: 0x555555654000 }));
const size = fc.oneof(fc.integer({ min: 0, max: 4096 }), fc.integer({ min: 0, max: 2 ** 40 }));
const opArb: fc.Arbitrary<Omit<TraceOp, "seq" | "line">> = fc.record({
  tid: fc.oneof(fc.constant(100), fc.integer({ min: 1, max: 4 * 1024 * 1024 })),
  code: fc.integer({ min: 1, max: 10 }).map((c) => c as TraceOp["code"]),
  ptr: address,
  a: size,
  b: size,
  res: address,
}).map((op) => {
  // Fields the format has no place for are zero, as every reader leaves them.
  const code = op.code;
  const hasPtr = code === OpCode.free || code === OpCode.realloc;
  const hasB = code === OpCode.calloc || code === OpCode.memalign || code === OpCode.alignedAlloc || code === OpCode.posixMemalign;
  return {
    tid: op.tid, code, ptr: hasPtr ? op.ptr : 0, a: code === OpCode.free ? 0 : op.a, b: hasB ? op.b : 0,
    res: code === OpCode.free ? 0 : code === OpCode.trim ? op.res % 2 : op.res,
  };
});
const traceArb = fc.record({
  ops: fc.array(opArb, { maxLength: 300 }),
  seqStart: fc.integer({ min: 0, max: 1e9 }),
  gaps: fc.boolean(),
  batchSize: fc.integer({ min: 1, max: 120 }),
  comments: fc.array(fc.record({ at: fc.nat(), text: fc.oneof(fc.constant(""), fc.string().map((s) => `# ${s.replace(/[\r\n]/g, " ")}`)) }), { maxLength: 8 }),
});

describe("generated traces", () => {
  it("alloc-trace text → binary → text is identical, whatever the batch boundaries and comments", async () => {
    await fc.assert(fc.asyncProperty(traceArb, async (t) => {
      const ops: TraceOp[] = t.ops.map((op, k) => ({ ...op, seq: t.gaps ? t.seqStart + 3 * k : t.seqStart + k, line: 0 }));
      const comments = [{ at: 0, text: "# alloc-trace v1 pid=100 ppid=1 exe=gen" }, ...t.comments.map((c) => ({ at: c.at % (ops.length + 1), text: c.text }))];
      const text = await encodeToBytes(sourceOf(ops, {}, t.batchSize, comments), "alloc-trace");
      const binary = await encodeToBytes(readAllocTrace(text), "binary");
      const back = await encodeToBytes(readBinary(binary), "alloc-trace");
      expect(decode(back)).toBe(decode(text));
      const fromText = await collect(readAllocTrace(text));
      expect(await collect(readBinary(binary))).toEqual(fromText);
      expect(show(fromText)).toEqual(show(ops));
    }), { numRuns: 150 });
  });
});

describe("binary encodings", () => {
  it("reads a block whose columns use every encoding, u48 addresses included", async () => {
    const le = true;
    const n = 3;
    const json = new TextEncoder().encode("{}");
    const columns: [number, number, number, number[]][] = [ // encoding, base, step, stored values
      [1, 10, 2, []], // seq: arith
      [0, 4242, 0, []], // tid: const
      [2, 1, 0, [0, 2, 3]], // code: u8 based at 1 → malloc, realloc, free
      [5, 0x7f0000000000, 0, [0, 0x20, 0x1_0000_0040]], // ptr: u48
      [3, 100, 0, [0, 65535, 7]], // a: u16
      [4, 0, 0, [0, 2 ** 32 - 1, 0]], // b: u32
      [6, 0, 0, [0x555555559010, 0x7f0000000050, 0]], // res: f64
    ];
    const dataBytes = (e: number): number => [0, 0, 8, 8, 16, 16 + 8, 8 * n][e];
    const size = 16 + 24 * 7 + columns.reduce((t, c) => t + dataBytes(c[0]), 0);
    const bytes = new Uint8Array(16 + size + 16);
    const v = new DataView(bytes.buffer);
    bytes.set(new TextEncoder().encode("HLBT"));
    v.setUint32(4, 1, le);
    v.setUint32(8, json.length, le);
    bytes.set(json, 12);
    let at = 16;
    v.setUint32(at, size, le);
    v.setUint32(at + 4, n, le);
    let data = at + 16 + 24 * 7;
    columns.forEach(([encoding, base, step, values], k) => {
      const d = at + 16 + 24 * k;
      bytes[d] = encoding;
      v.setFloat64(d + 8, base, le);
      v.setFloat64(d + 16, step, le);
      values.forEach((x, i) => {
        if (encoding === 2) bytes[data + i] = x;
        if (encoding === 3) v.setUint16(data + 2 * i, x, le);
        if (encoding === 4) v.setUint32(data + 4 * i, x, le);
        if (encoding === 5) {
          v.setUint32(data + 4 * i, x % 2 ** 32, le);
          v.setUint16(data + 16 + 2 * i, Math.floor(x / 2 ** 32), le); // hi after the lo words, padded to 8
        }
        if (encoding === 6) v.setFloat64(data + 8 * i, x, le);
      });
      data += dataBytes(encoding);
    });
    at += size;
    v.setUint32(at, 0, le);
    v.setUint32(at + 4, json.length, le);
    bytes.set(json, at + 8);
    const ops = await collect(readBinary(bytes));
    expect(ops.map((o) => [o.seq, o.tid, o.code, o.ptr, o.a, o.b, o.res])).toEqual([
      [10, 4242, OpCode.malloc, 0x7f0000000000, 100, 0, 0x555555559010],
      [12, 4242, OpCode.realloc, 0x7f0000000020, 65635, 2 ** 32 - 1, 0x7f0000000050],
      [14, 4242, OpCode.free, 0x7f0100000040, 107, 0, 0],
    ]);
  });
});

/** A well-formed single-threaded trace: every free and realloc names a live block, addresses never collide. */
const validTrace = fc.array(fc.record({ kind: fc.integer({ min: 0, max: 9 }), pick: fc.nat(), size: fc.integer({ min: 1, max: 5000 }) }), { maxLength: 200 })
  .map((steps) => {
    const live: number[] = [];
    let next = 0x1000;
    const ops: TraceOp[] = [];
    const push = (code: TraceOp["code"], ptr: number, a: number, b: number, res: number): void => {
      ops.push({ seq: ops.length + 1, tid: 7, code, ptr, a, b, res, line: 0 });
    };
    for (const s of steps) {
      if (s.kind < 3 && live.length) {
        const [p] = live.splice(s.pick % live.length, 1);
        push(OpCode.free, p, 0, 0, 0);
      } else if (s.kind < 5 && live.length) {
        const k = s.pick % live.length;
        const res = (next += 0x10000);
        push(OpCode.realloc, live[k], s.size, 0, res);
        live[k] = res;
      } else {
        const res = (next += 0x10000);
        const code = ([OpCode.malloc, OpCode.calloc, OpCode.memalign, OpCode.malloc, OpCode.valloc] as const)[s.kind % 5];
        if (code === OpCode.calloc) push(code, 0, 3, s.size, res);
        else if (code === OpCode.memalign) push(code, 0, 64, s.size, res);
        else push(code, 0, s.size, 0, res);
        live.push(res);
      }
    }
    return ops;
  });

const requested = (op: TraceOp): number =>
  op.code === OpCode.calloc ? op.a * op.b : op.code === OpCode.memalign ? op.b : op.a;

describe("lossy targets", () => {
  it("mtrace keeps every block, size and realloc of a single-threaded trace", async () => {
    await fc.assert(fc.asyncProperty(validTrace, async (ops) => {
      const loss = emptyLoss();
      const text = await encodeToBytes(sourceOf(ops), "mtrace", loss);
      const back = await collect(readMtrace(text));
      const expected = ops.map((op) => op.code === OpCode.free || op.code === OpCode.realloc
        ? `${LETTER_OF_CODE[op.code]} ${op.ptr} ${op.code === OpCode.realloc ? op.a : 0} ${op.res}`
        : `m 0 ${requested(op)} ${op.res}`);
      expect(back.map((op) => `${LETTER_OF_CODE[op.code]} ${op.ptr} ${op.a} ${op.res}`)).toEqual(expected);
    }), { numRuns: 100 });
  });

  it(".rep keeps the request sequence: sizes, and frees and reallocs of the right objects", async () => {
    await fc.assert(fc.asyncProperty(validTrace, async (ops) => {
      const rep = await encodeToBytes(sourceOf(ops), "rep");
      const source = readRep(rep);
      const back = await collect(source);
      expect(source.loss.unknownFrees + source.loss.pointerReuseResolved).toBe(0);
      expect(back.map((op) => (op.code === OpCode.free ? "f" : `${LETTER_OF_CODE[op.code]} ${op.a}`)))
        .toEqual(ops.map((op) => (op.code === OpCode.free ? "f" : op.code === OpCode.realloc ? `r ${op.a}` : `m ${requested(op)}`)));
      // Object identity: the k-th free names the block that the original's k-th free named.
      const objectOf = (list: TraceOp[]): number[] => {
        const ids = new Map<number, number>();
        let n = 0;
        const out: number[] = [];
        for (const op of list) {
          if (op.code === OpCode.free) out.push(ids.get(op.ptr)!);
          else if (op.code === OpCode.realloc) {
            const id = ids.get(op.ptr)!;
            ids.delete(op.ptr);
            ids.set(op.res, id);
            out.push(id);
          } else ids.set(op.res, n++);
        }
        return out;
      };
      expect(objectOf(back)).toEqual(objectOf(ops));
    }), { numRuns: 100 });
  });

  it("convert's default output is detected again as what it is", async () => {
    const ops: TraceOp[] = [{ seq: 1, tid: 9, code: OpCode.malloc, ptr: 0, a: 24, b: 0, res: 0x10, line: 0 }];
    for (const format of ["alloc-trace", "binary", "rep", "mtrace"] as const) {
      const out = await encodeToBytes(sourceOf(ops, { pid: 9 }), format);
      const source = await openTrace(out);
      expect(source.header.format).toBe(format);
      expect(await collect(source)).toHaveLength(1);
    }
  });
});
