import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allFinite,
  BinaryCopyEncoder,
  copyHeader,
  copyTrailer,
  EncodeError,
  toPgMicros,
  useVectorKernel,
} from '../../../core/postgres/copy/binaryEncoder';
import { firstNonFinite } from '../../../core/source/vectors';
import {
  compareCodePoints,
  lightragIndexName,
  modelSuffix,
  quoteIdent,
  validateWorkspace,
} from '../../../core/postgres/identifiers';
import { canonicalPair, chunkIdsFrom, isoToUtcMs } from '../../../core/postgres/layouts/common';

describe('binary COPY encoder', () => {
  it('writes the signature, flags and trailer', () => {
    expect(copyHeader().toString('hex')).toBe('5047434f50590aff0d0a00' + '00000000' + '00000000');
    expect(copyTrailer().toString('hex')).toBe('ffff');
  });

  it('encodes a pgvector value as int16 dim, int16 0, big-endian float4', () => {
    const e = new BinaryCopyEncoder(['vector']);
    e.encodeRow([new Float32Array([1, -2.5, 0.1])]);
    const b = e.take();
    expect(b.readInt16BE(0)).toBe(1);
    expect(b.readInt32BE(2)).toBe(4 + 12);
    expect(b.readInt16BE(6)).toBe(3);
    expect(b.readInt16BE(8)).toBe(0);
    expect([b.readFloatBE(10), b.readFloatBE(14), b.readFloatBE(18)]).toEqual([1, -2.5, Math.fround(0.1)]);
  });

  it('keeps float bits exactly (incl. -0, subnormals, extremes)', () => {
    const v = new Float32Array([-0, 1.4e-45, 3.4028234663852886e38, -1.1754943508222875e-38, Math.fround(Math.PI)]);
    const e = new BinaryCopyEncoder(['vector']);
    e.encodeRow([v]);
    const b = e.take();
    const got = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) got[i] = b.readFloatBE(10 + i * 4);
    expect(Buffer.from(got.buffer).equals(Buffer.from(v.buffer))).toBe(true);
  });

  it('encodes text, jsonb (version 1), int4, int8, timestamps, NULL and varchar[]', () => {
    const e = new BinaryCopyEncoder(['text', 'jsonb', 'int4', 'int8', 'timestamp', 'text', 'varchar[]', 'varchar[]']);
    e.encodeRow(['héllo', { a: [1, 'x'] }, -7, 2n ** 40n, Date.UTC(2000, 0, 1, 0, 0, 1), null, ['a', 'bc'], []]);
    const b = e.take();
    let o = 2;
    const field = () => {
      const n = b.readInt32BE(o);
      const v = n < 0 ? null : b.subarray(o + 4, o + 4 + n);
      o += 4 + Math.max(n, 0);
      return v;
    };
    expect(b.readInt16BE(0)).toBe(8);
    expect(field()!.toString('utf8')).toBe('héllo');
    const j = field()!;
    expect(j[0]).toBe(1);
    expect(JSON.parse(j.subarray(1).toString())).toEqual({ a: [1, 'x'] });
    expect(field()!.readInt32BE(0)).toBe(-7);
    expect(field()!.readBigInt64BE(0)).toBe(2n ** 40n);
    expect(field()!.readBigInt64BE(0)).toBe(1_000_000n);
    expect(field()).toBeNull();
    const arr = field()!;
    expect([
      arr.readInt32BE(0),
      arr.readInt32BE(4),
      arr.readInt32BE(8),
      arr.readInt32BE(12),
      arr.readInt32BE(16),
    ]).toEqual([1, 0, 1043, 2, 1]);
    expect(arr.readInt32BE(20)).toBe(1);
    expect(arr.subarray(24, 25).toString()).toBe('a');
    const empty = field()!;
    expect([empty.readInt32BE(0), empty.readInt32BE(4), empty.readInt32BE(8), empty.length]).toEqual([0, 0, 1043, 12]);
  });

  it('a JSON string value is encoded as a JSON string', () => {
    const e = new BinaryCopyEncoder(['jsonb']);
    e.encodeRow(['plain']);
    expect(e.take().subarray(7).toString()).toBe('"plain"');
  });

  it('rejects NaN / Inf vectors and NUL text without writing a partial row', () => {
    const e = new BinaryCopyEncoder(['text', 'vector']);
    e.encodeRow(['ok', new Float32Array([1])]);
    const len = e.length;
    expect(() => e.encodeRow(['bad', new Float32Array([NaN])])).toThrow(EncodeError);
    expect(() => e.encodeRow(['bad', new Float32Array([-Infinity])])).toThrow(/infinite/);
    expect(() => e.encodeRow(['a\0b', new Float32Array([1])])).toThrow(/NUL/);
    expect(e.length).toBe(len);
    expect(e.rows).toBe(1);
  });

  it('timestamps count microseconds since 2000-01-01', () => {
    expect(toPgMicros(Date.UTC(2000, 0, 1))).toBe(0n);
    expect(toPgMicros(Date.UTC(1999, 11, 31, 23, 59, 59))).toBe(-1_000_000n);
  });
});

describe('identifiers and mapping helpers', () => {
  it('quotes and validates identifiers', () => {
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(() => quoteIdent('x'.repeat(64))).toThrow(/63 bytes/);
    expect(() => quoteIdent('é'.repeat(32))).toThrow(/63 bytes/);
    expect(validateWorkspace(`it's "ü" 😀`)).toBe(`it's "ü" 😀`);
    expect(() => validateWorkspace('a/b')).toThrow();
  });

  it("builds LightRAG's index names, hashing past 63 bytes (LIGHTRAG_SCHEMA §3 examples)", () => {
    expect(lightragIndexName('LIGHTRAG_VDB_CHUNKS_text_embedding_3_large_3072d', 'id')).toBe(
      'idx_lightrag_vdb_chunks_text_embedding_3_large_3072d_id',
    );
    expect(lightragIndexName('lightrag_vdb_chunks_text_embedding_3_large_3072d', 'workspace_id')).toBe(
      'idx_1645fa932b57_workspace_id',
    );
    expect(lightragIndexName('lightrag_vdb_chunks_text_embedding_3_large_3072d', 'hnsw_cosine')).toBe(
      'idx_1645fa932b57_hnsw_cosine',
    );
    expect(lightragIndexName('lightrag_vdb_entity_text_embedding_3_large_3072d', 'hnsw_cosine')).toBe(
      'idx_fe15f7dded5a_hnsw_cosine',
    );
    expect(lightragIndexName('lightrag_vdb_relation_text_embedding_3_large_3072d', 'hnsw_cosine')).toBe(
      'idx_6d4ec0b2d6b3_hnsw_cosine',
    );
    expect(modelSuffix('BAAI/bge-m3', 1024)).toBe('baai_bge_m3_1024d');
    expect(modelSuffix('  ', 1024)).toBeUndefined();
  });

  it('orders edge endpoints by code point, like Python (not UTF-16 units)', () => {
    const astral = '😀'; // U+1F600, UTF-16 D83D DE00
    const bmp = '\uFF5E'; // U+FF5E
    expect(astral < bmp).toBe(true); // JS: by code unit
    expect(compareCodePoints(astral, bmp)).toBe(1); // Python: '😀' > '～'
    expect(canonicalPair(astral, bmp)).toEqual([bmp, astral]);
    expect(canonicalPair('B', 'A')).toEqual(['A', 'B']);
  });

  it('splits chunk ids on <SEP> keeping empty pieces, parses ISO times as UTC', () => {
    expect(chunkIdsFrom('a<SEP><SEP>b')).toEqual(['a', '', 'b']);
    expect(chunkIdsFrom('a')).toEqual(['a']);
    expect(isoToUtcMs('2025-03-01T10:00:00')).toBe(Date.UTC(2025, 2, 1, 10));
    expect(isoToUtcMs('2025-03-01T10:00:00+02:00')).toBe(Date.UTC(2025, 2, 1, 8));
    expect(isoToUtcMs('2025-03-01T10:00:00.123456Z')).toBe(Date.UTC(2025, 2, 1, 10) + 123.456);
    expect(isoToUtcMs(1700000000)).toBeNull();
  });
});

describe('binary COPY encoder: vector fast path and buffer hand-over', () => {
  /** Reference encoding: one writeFloatBE per element (the obviously correct, slow way). */
  const reference = (v: Float32Array): Buffer => {
    const b = Buffer.alloc(v.length * 4);
    for (let i = 0; i < v.length; i++) b.writeFloatBE(v[i]!, i * 4);
    return b;
  };
  let seed = 7;
  const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;

  it('allFinite / firstNonFinite agree with a per-element check, for every length (tail loop) and position', () => {
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 1535, 1536]) {
      const v = new Float32Array(n).map(() => rand());
      expect(allFinite(v)).toBe(true);
      expect(firstNonFinite(v)).toBe(-1);
      for (const bad of [NaN, Infinity, -Infinity]) {
        for (const at of new Set([0, n >> 1, n - 1])) {
          const w = v.slice();
          w[at] = bad;
          expect(allFinite(w)).toBe(false);
          expect(firstNonFinite(w)).toBe(at);
        }
      }
    }
    // +Inf and -Inf together (sum NaN), and extreme finite values that must not overflow the sum
    expect(allFinite(new Float32Array([Infinity, -Infinity]))).toBe(false);
    expect(allFinite(new Float32Array(16000).fill(3.4028234663852886e38))).toBe(true);
    expect(allFinite(new Float32Array(16000).fill(-3.4028234663852886e38))).toBe(true);
    expect(allFinite(new Float32Array([-0, 1.4e-45, -1.4e-45]))).toBe(true);
  });

  it('the WASM SIMD vector kernel is available on this node (else the swap32 path runs)', () => {
    expect(useVectorKernel(true)).toBe(true);
  });

  describe.each([
    ['WASM SIMD kernel', true],
    ['allFinite + set + swap32', false],
  ])('vector path: %s', (_name, kernel) => {
    beforeAll(() => void useVectorKernel(kernel));
    afterAll(() => void useVectorKernel(true));

    it('vector bytes equal the per-element big-endian reference, also from a view at an odd offset in a shared buffer', () => {
      const backing = new Float32Array(5000).map(() => rand());
      backing[10] = -0;
      backing[11] = 1.4e-45;
      for (const v of [
        backing.subarray(3, 3 + 1536),
        backing.subarray(7, 7 + 5),
        backing.subarray(0, 1),
        new Float32Array(16000).map(() => rand()),
      ]) {
        const e = new BinaryCopyEncoder(['text', 'vector'], 64); // tiny start: forces growth mid-row
        e.encodeRow(['x', v]);
        const b = e.take();
        const at = 2 + 4 + 1;
        expect(b.readInt32BE(at)).toBe(4 + v.length * 4);
        expect(b.readInt16BE(at + 4)).toBe(v.length);
        expect(b.subarray(at + 8).equals(reference(v))).toBe(true);
      }
      // the caller's vector is never modified (the byte swap happens in the encoder's buffer)
      const v = new Float32Array([1, 2, 3]);
      new BinaryCopyEncoder(['vector']).encodeRow([v]);
      expect([...v]).toEqual([1, 2, 3]);
    });

    it('rejects a non-finite element by index without writing anything', () => {
      const e = new BinaryCopyEncoder(['vector']);
      const v = new Float32Array(1536).fill(0.5);
      v[1000] = NaN;
      expect(() => e.encodeRow([v])).toThrow(
        'its vector has NaN at dimension 1000, which pgvector cannot store; re-embed this record in LightRAG',
      );
      expect(e.length).toBe(0);
      expect(e.rows).toBe(0);
      for (const n of [1, 3, 4, 5, 17, 1536]) {
        for (const bad of [NaN, Infinity, -Infinity]) {
          const w = new Float32Array(n).fill(1);
          w[n - 1] = bad; // also in the zero-padded last 16 bytes
          expect(() => e.encodeRow([w])).toThrow(
            `its vector has ${Number.isNaN(bad) ? 'NaN' : 'an infinite value'} at dimension ${n - 1},`,
          );
        }
      }
      expect(e.length).toBe(0);
      // a good row after rejected ones is intact
      const ok = new Float32Array([0.25, -1, 3]);
      e.encodeRow([ok]);
      expect(
        e
          .take()
          .subarray(2 + 8)
          .equals(reference(ok)),
      ).toBe(true);
    });
  });

  it('writes header and trailer in place, and take(next) continues in the buffer it is given', () => {
    const a = Buffer.alloc(256);
    const b = Buffer.alloc(256);
    const e = new BinaryCopyEncoder(['int4'], a);
    e.writeHeader();
    e.encodeRow([1]);
    expect(e.buffer).toBe(a);
    const first = e.take(b);
    expect(first.buffer).toBe(a.buffer);
    expect(first.subarray(0, 19).equals(copyHeader())).toBe(true);
    expect(e.buffer).toBe(b);
    e.encodeRow([2]);
    e.writeTrailer();
    const second = e.take(a);
    expect(second.buffer).toBe(b.buffer);
    expect(second.subarray(second.length - 2).equals(copyTrailer())).toBe(true);
    // the two chunks together are exactly what one buffer would have held
    const one = new BinaryCopyEncoder(['int4']);
    one.writeHeader();
    one.encodeRow([1]);
    one.encodeRow([2]);
    one.writeTrailer();
    expect(Buffer.concat([first, second]).equals(one.take())).toBe(true);
  });
});
