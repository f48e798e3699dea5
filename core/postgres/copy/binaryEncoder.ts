import { endianness } from 'node:os';
import { Utf8Text } from '../../source/records';
import { firstNonFinite } from '../../source/vectors';

/**
 * A hand-written encoder for PostgreSQL's COPY BINARY format.
 *
 * Why hand-written: node-postgres has no binary COPY encoder, and the generic packages that exist
 * either go through text (losing float bits or paying for float→decimal→float) or allocate one
 * Buffer per field. Loading vectors is dominated by the D × float4 payload, so this encoder writes
 * straight into one growable buffer (which the caller may hand back for reuse, see `take`) and
 * converts a whole vector to big-endian with a single native `Buffer#swap32()` call.
 * Measured per 1536-dim vector, finite check + big-endian copy, on the 2-core bench machine
 * (node 20, 20k cold source vectors, several runs; hand-written beats the generic ways):
 *   per-element `x - x !== 0` loop + `Buffer.from(view).copy()` + swap32 (before)   5.5–6.0 µs
 *   per-element loop + `Uint8Array#set` + swap32                                   3.9–4.8 µs
 *   four-accumulator sum (`allFinite`) + `Uint8Array#set` + swap32 (used)           2.3–3.4 µs
 *   one fused DataView.setFloat32(…, false) loop with the check                     4.9–7.6 µs
 *   Buffer#writeFloatBE per element with the check                                 16–19 µs
 *   WASM SIMD kernel below: copy in, check + byte swap 16 bytes at a time, copy out (used)  1.1–1.2 µs
 * swap32 alone is ~1.1 µs (node's byte swap is not vectorised), hence the small WASM kernel; where
 * WebAssembly SIMD is unavailable (or on a big-endian host) the `allFinite` + set + swap32 path runs.
 * `npm run bench:load` measures the whole loader against a raw COPY of the same pre-encoded bytes.
 *
 * Format (PostgreSQL docs, "COPY … Binary Format"): 11-byte signature, int32 flags, int32 header
 * extension length; per row int16 field count, then per field int32 byte length (-1 = NULL) and
 * the type's binary "send" representation; int16 -1 trailer. All integers network byte order.
 *   text / varchar  UTF-8 bytes (a `Utf8Text` is them already)
 *   jsonb           version byte 1, then the JSON text
 *   int4 / int8     big-endian two's complement
 *   float8          IEEE 754 big-endian
 *   bool            one byte 0/1
 *   timestamp(tz)   int64 microseconds since 2000-01-01 00:00:00 (UTC for timestamptz)
 *   vector          pgvector: int16 dim, int16 0 (unused), dim × float4 big-endian
 *   varchar[]/text[] int32 ndim, int32 has-null flag, int32 element OID, per dim int32 size and
 *                   int32 lower bound (1), then every element as int32 length + bytes
 */
export type CopyType =
  | 'text'
  | 'jsonb'
  | 'int4'
  | 'int8'
  | 'float8'
  | 'bool'
  | 'timestamp'
  | 'timestamptz'
  | 'vector'
  | 'varchar[]'
  | 'text[]';

export const COPY_SIGNATURE = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]);
const PG_EPOCH_MS = 946_684_800_000; // 2000-01-01T00:00:00Z in Unix milliseconds
const OID_TEXT = 25;
const OID_VARCHAR = 1043;
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

export class EncodeError extends Error {
  override name = 'EncodeError';
}

/** A timestamp value: a Date, or milliseconds since the Unix epoch (fractions kept to the microsecond). */
export type TimestampValue = Date | number;

export function copyHeader(): Buffer {
  const b = Buffer.alloc(19);
  COPY_SIGNATURE.copy(b, 0);
  b.writeInt32BE(0, 11);
  b.writeInt32BE(0, 15);
  return b;
}

export function copyTrailer(): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(-1, 0);
  return b;
}

/** Microseconds since 2000-01-01 for a Date or Unix milliseconds. */
export function toPgMicros(value: TimestampValue): bigint {
  const ms = value instanceof Date ? value.getTime() : value;
  if (!Number.isFinite(ms)) throw new EncodeError(`timestamp ${String(value)} is not a finite time`);
  return BigInt(Math.round((ms - PG_EPOCH_MS) * 1000));
}

/**
 * A hand-assembled WebAssembly module (no toolchain needed) exporting one 64 KiB page `mem` and
 * `run(n)`: for bytes [0, n) of `mem`, n a multiple of 16, it flags any float whose exponent bits
 * are all ones (NaN / ±Inf) and reverses the bytes of every 4-byte lane in place (i8x16.swizzle),
 * returning 1 when a lane was flagged. 64 KiB holds a 16000-dimension vector (pgvector's maximum).
 *   (func (param $n i32) (result i32) (local $i i32) (local $acc v128) (local $v v128)
 *     block loop
 *       (br_if 1 (i32.ge_u (local.get $i) (local.get $n)))
 *       (local.set $v (v128.load (local.get $i)))
 *       (local.set $acc (v128.or (local.get $acc) (i32x4.eq (v128.and (local.get $v) EXP) EXP)))
 *       (v128.store (local.get $i) (i8x16.swizzle (local.get $v) BSWAP))
 *       (local.set $i (i32.add (local.get $i) (i32.const 16)))
 *       br 0 end end
 *     (v128.any_true (local.get $acc)))
 */
function vectorKernelBytes(): Uint8Array {
  const exp = [0x00, 0x00, 0x80, 0x7f, 0x00, 0x00, 0x80, 0x7f, 0x00, 0x00, 0x80, 0x7f, 0x00, 0x00, 0x80, 0x7f]; // 0x7f800000 × 4
  const bswap = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12];
  const body = [
    0x02,
    0x01,
    0x7f,
    0x02,
    0x7b, // locals: 1 × i32, 2 × v128
    0x02,
    0x40,
    0x03,
    0x40, // block, loop
    0x20,
    0x01,
    0x20,
    0x00,
    0x4f,
    0x0d,
    0x01, // br_if 1 (i >= n)
    0x20,
    0x01,
    0xfd,
    0x00,
    0x00,
    0x00,
    0x21,
    0x03, // v = v128.load(i)
    0x20,
    0x02,
    0x20,
    0x03,
    0xfd,
    0x0c,
    ...exp,
    0xfd,
    0x4e,
    0xfd,
    0x0c,
    ...exp,
    0xfd,
    0x37,
    0xfd,
    0x50,
    0x21,
    0x02, // acc |= (v & EXP) == EXP
    0x20,
    0x01,
    0x20,
    0x03,
    0xfd,
    0x0c,
    ...bswap,
    0xfd,
    0x0e,
    0xfd,
    0x0b,
    0x00,
    0x00, // v128.store(i, swizzle(v, BSWAP))
    0x20,
    0x01,
    0x41,
    0x10,
    0x6a,
    0x21,
    0x01,
    0x0c,
    0x00, // i += 16; br 0
    0x0b,
    0x0b, // end loop, end block
    0x20,
    0x02,
    0xfd,
    0x53,
    0x0b, // v128.any_true(acc)
  ];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00, // magic, version 1
    0x01,
    0x06,
    0x01,
    0x60,
    0x01,
    0x7f,
    0x01,
    0x7f, // type: (i32) -> i32
    0x03,
    0x02,
    0x01,
    0x00, // function 0 has type 0
    0x05,
    0x03,
    0x01,
    0x00,
    0x01, // memory: 1 page, no maximum
    0x07,
    0x0d,
    0x02,
    0x03,
    0x6d,
    0x65,
    0x6d,
    0x02,
    0x00,
    0x03,
    0x72,
    0x75,
    0x6e,
    0x00,
    0x00, // export "mem", "run"
    0x0a,
    body.length + 2,
    0x01,
    body.length,
    ...body, // code
  ]);
}

interface VectorKernel {
  mem: Uint8Array;
  run: (n: number) => number;
}

/** The little of the WebAssembly JS API used here (the project's TS lib has no DOM types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: { mem: { buffer: ArrayBuffer }; run: (n: number) => number } };
}

function loadVectorKernel(): VectorKernel | undefined {
  const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
  if (!LITTLE_ENDIAN_HOST || !wasm) return undefined;
  try {
    const { exports } = new wasm.Instance(new wasm.Module(vectorKernelBytes()));
    return { mem: new Uint8Array(exports.mem.buffer), run: exports.run }; // the memory never grows: the view stays valid
  } catch {
    return undefined; // no WebAssembly SIMD here: the swap32 path is used
  }
}

let vectorKernel = loadVectorKernel();

/** Chooses the vector path (tests run both): the WASM SIMD kernel when `on` and available, else swap32. Returns whether the kernel is in use. */
export function useVectorKernel(on: boolean): boolean {
  vectorKernel = on ? loadVectorKernel() : undefined;
  return vectorKernel !== undefined;
}

/**
 * True when every element is finite. The float64 sum of finite float32 values is finite
 * (16000 × 3.4e38 ≪ 1.8e308) and any NaN or ±Inf element makes it NaN or ±Inf, so one pass of
 * additions with four independent accumulators replaces a compare-and-branch per element.
 */
export function allFinite(v: Float32Array): boolean {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  const n = v.length;
  const m = n & ~3;
  let i = 0;
  for (; i < m; i += 4) {
    a += v[i]!;
    b += v[i + 1]!;
    c += v[i + 2]!;
    d += v[i + 3]!;
  }
  for (; i < n; i++) a += v[i]!;
  const s = a + b + c + d;
  return s - s === 0;
}

function nonFinite(v: Float32Array): EncodeError {
  const i = firstNonFinite(v);
  return new EncodeError(
    `its vector has ${Number.isNaN(v[i]) ? 'NaN' : 'an infinite value'} at dimension ${i}, which pgvector cannot store; re-embed this record in LightRAG`,
  );
}

/**
 * Encodes rows of a fixed column list into COPY BINARY bytes. Rows accumulate in one buffer;
 * `take()` hands out what has been written so far (the caller streams it), so memory stays bounded.
 */
export class BinaryCopyEncoder {
  private buf: Buffer;
  private pos = 0;
  rows = 0;

  /** @param initial the first buffer to write into, or its size */
  constructor(
    readonly types: readonly CopyType[],
    initial: number | Buffer = 1 << 20,
  ) {
    this.buf = typeof initial === 'number' ? Buffer.allocUnsafe(initial) : initial;
  }

  /** Bytes written and not yet taken. */
  get length(): number {
    return this.pos;
  }

  /** The buffer currently written into (it may have grown since it was handed in). */
  get buffer(): Buffer {
    return this.buf;
  }

  /**
   * Returns the bytes written so far (a copy-free slice of the current buffer, no longer written to)
   * and continues in `next` — a buffer the caller knows is free again (double buffering) — or in a
   * new one of the same size.
   */
  take(next?: Buffer): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = next ?? Buffer.allocUnsafe(Math.max(this.buf.length, 1 << 16));
    this.pos = 0;
    return out;
  }

  /** Appends the COPY BINARY header (as `copyHeader()`). */
  writeHeader(): void {
    this.ensure(19);
    COPY_SIGNATURE.copy(this.buf, this.pos);
    this.buf.writeInt32BE(0, this.pos + 11);
    this.buf.writeInt32BE(0, this.pos + 15);
    this.pos += 19;
  }

  /** Appends the COPY BINARY trailer (as `copyTrailer()`). */
  writeTrailer(): void {
    this.ensure(2);
    this.buf.writeInt16BE(-1, this.pos);
    this.pos += 2;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Appends one row; values are in column order; null/undefined is SQL NULL. Throws EncodeError without writing anything on a bad value. */
  encodeRow(values: readonly unknown[]): void {
    if (values.length !== this.types.length)
      throw new EncodeError(`row has ${values.length} values for ${this.types.length} columns`);
    const start = this.pos;
    try {
      this.ensure(2);
      this.buf.writeInt16BE(values.length, this.pos);
      this.pos += 2;
      for (let i = 0; i < values.length; i++) this.writeField(this.types[i]!, values[i]);
      this.rows++;
    } catch (error) {
      this.pos = start; // roll the partial row back
      throw error instanceof EncodeError ? error : new EncodeError(String((error as Error)?.message ?? error));
    }
  }

  private writeNull(): void {
    this.ensure(4);
    this.buf.writeInt32BE(-1, this.pos);
    this.pos += 4;
  }

  private writeString(s: string): void {
    // Reserve the worst case (3 bytes per UTF-16 unit), write, then patch the length.
    this.ensure(4 + s.length * 3);
    const n = this.buf.write(s, this.pos + 4, 'utf8');
    this.buf.writeInt32BE(n, this.pos);
    this.pos += 4 + n;
  }

  /** UTF-8 bytes held one per character (records.ts): written back as latin1, a plain copy. */
  private writeUtf8Text(v: Utf8Text): void {
    const n = v.byteLength;
    this.ensure(4 + n);
    this.buf.writeInt32BE(n, this.pos);
    this.buf.write(v.latin1, this.pos + 4, n, 'latin1');
    this.pos += 4 + n;
  }

  private writeField(type: CopyType, v: unknown): void {
    if (v === null || v === undefined) return this.writeNull();
    switch (type) {
      case 'text':
        if (v instanceof Utf8Text) return this.writeUtf8Text(v);
        if (typeof v !== 'string') throw new EncodeError(`expected a string, got ${typeof v}`);
        if (v.includes('\0'))
          throw new EncodeError('text contains a NUL character, which PostgreSQL text cannot store');
        return this.writeString(v);
      case 'jsonb': {
        // Always serialised here: a JSON string value must become "…", never raw text.
        const s = JSON.stringify(v);
        if (s === undefined) throw new EncodeError('value is not JSON-serialisable');
        if (s.includes('\\u0000')) throw new EncodeError('JSON contains \\u0000, which PostgreSQL jsonb cannot store');
        this.ensure(5 + s.length * 3);
        const n = this.buf.write(s, this.pos + 5, 'utf8');
        this.buf.writeInt32BE(n + 1, this.pos);
        this.buf[this.pos + 4] = 1;
        this.pos += 5 + n;
        return;
      }
      case 'int4': {
        const n = Number(v);
        if (!Number.isInteger(n) || n < -2147483648 || n > 2147483647)
          throw new EncodeError(`${String(v)} is not a 32-bit integer`);
        this.ensure(8);
        this.buf.writeInt32BE(4, this.pos);
        this.buf.writeInt32BE(n, this.pos + 4);
        this.pos += 8;
        return;
      }
      case 'int8': {
        const n = typeof v === 'bigint' ? v : Number.isInteger(v) ? BigInt(v as number) : undefined;
        if (n === undefined) throw new EncodeError(`${String(v)} is not an integer`);
        this.ensure(12);
        this.buf.writeInt32BE(8, this.pos);
        this.buf.writeBigInt64BE(n, this.pos + 4);
        this.pos += 12;
        return;
      }
      case 'float8': {
        if (typeof v !== 'number') throw new EncodeError(`${String(v)} is not a number`);
        this.ensure(12);
        this.buf.writeInt32BE(8, this.pos);
        this.buf.writeDoubleBE(v, this.pos + 4);
        this.pos += 12;
        return;
      }
      case 'bool':
        this.ensure(5);
        this.buf.writeInt32BE(1, this.pos);
        this.buf[this.pos + 4] = v ? 1 : 0;
        this.pos += 5;
        return;
      case 'timestamp':
      case 'timestamptz': {
        if (!(v instanceof Date) && typeof v !== 'number') throw new EncodeError(`${String(v)} is not a timestamp`);
        const micros = toPgMicros(v);
        this.ensure(12);
        this.buf.writeInt32BE(8, this.pos);
        this.buf.writeBigInt64BE(micros, this.pos + 4);
        this.pos += 12;
        return;
      }
      case 'vector': {
        if (!(v instanceof Float32Array)) throw new EncodeError('vector value is not a Float32Array');
        const dim = v.length;
        if (dim < 1 || dim > 16000) throw new EncodeError(`vector has ${dim} dimensions; pgvector accepts 1 to 16000`);
        const bytes = dim * 4;
        const kernel = vectorKernel;
        // checked before anything is written: a rejected row leaves no bytes behind
        if (kernel) {
          // copy into the kernel's page (zero padding to 16 bytes), check + swap there
          const padded = (bytes + 15) & ~15;
          kernel.mem.set(new Uint8Array(v.buffer, v.byteOffset, bytes), 0);
          if (padded > bytes) kernel.mem.fill(0, bytes, padded);
          if (kernel.run(padded) !== 0) throw nonFinite(v);
        } else if (!allFinite(v)) {
          throw nonFinite(v);
        }
        this.ensure(8 + bytes);
        this.buf.writeInt32BE(4 + bytes, this.pos);
        this.buf.writeInt16BE(dim, this.pos + 4);
        this.buf.writeInt16BE(0, this.pos + 6);
        const at = this.pos + 8;
        if (kernel) {
          this.buf.set(kernel.mem.subarray(0, bytes), at);
        } else {
          // one memcpy of the float bytes, then (little-endian host) one native byte swap per 4 bytes
          this.buf.set(new Uint8Array(v.buffer, v.byteOffset, bytes), at);
          if (LITTLE_ENDIAN_HOST) this.buf.subarray(at, at + bytes).swap32();
        }
        this.pos = at + bytes;
        return;
      }
      case 'varchar[]':
      case 'text[]': {
        if (!Array.isArray(v)) throw new EncodeError('array value is not an array');
        const start = this.pos;
        this.ensure(4 + 20);
        const oid = type === 'varchar[]' ? OID_VARCHAR : OID_TEXT;
        const hasNull = v.some((x) => x === null || x === undefined) ? 1 : 0;
        this.pos += 4; // length patched below
        this.buf.writeInt32BE(v.length === 0 ? 0 : 1, this.pos);
        this.buf.writeInt32BE(hasNull, this.pos + 4);
        this.buf.writeInt32BE(oid, this.pos + 8);
        this.pos += 12;
        if (v.length > 0) {
          this.buf.writeInt32BE(v.length, this.pos);
          this.buf.writeInt32BE(1, this.pos + 4);
          this.pos += 8;
        }
        for (const el of v) {
          if (el === null || el === undefined) this.writeNull();
          else {
            const s = String(el);
            if (s.includes('\0')) throw new EncodeError('array element contains a NUL character');
            this.writeString(s);
          }
        }
        this.buf.writeInt32BE(this.pos - start - 4, start);
        return;
      }
    }
  }
}
