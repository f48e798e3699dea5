/**
 * Vector decoding: strict base64, float32 matrix rows, per-record base64(zlib(float16)) vectors,
 * and the base64 character range that holds a range of matrix rows.
 */
import { inflateSync } from 'node:zlib';
import { SourceFormatError } from './errors';

// Per-record vectors use zlib (RFC 1950) like Python's zlib.compress; inflateSync reads that.

const B64_VALID = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') B64_VALID[c.charCodeAt(0)] = 1;

/**
 * Index of the first byte of `bytes` that is not valid standard base64 (alphabet, then at most two
 * '=' at the very end of a length that is a multiple of 4), or -1 when all is valid.
 * `isEnd` says whether the slice ends where the base64 text ends (padding allowed only there).
 * Buffer.from(s, 'base64') silently skips invalid characters, hence this check.
 */
export function findInvalidBase64(bytes: Uint8Array, isEnd: boolean): number {
  const n = bytes.length;
  let end = n;
  if (isEnd) {
    if (n % 4 !== 0) return n;
    if (n >= 1 && bytes[n - 1] === 0x3d) end--;
    if (n >= 2 && bytes[n - 2] === 0x3d) end--;
  }
  for (let i = 0; i < end; i++) if (B64_VALID[bytes[i]!] !== 1) return i;
  return -1;
}

/** Decoded byte length of a full base64 text of `length` characters whose last two chars are given. */
export function base64DecodedLength(length: number, last2: Uint8Array): number {
  if (length === 0) return 0;
  let pad = 0;
  if (last2[last2.length - 1] === 0x3d) pad++;
  if (last2.length >= 2 && last2[last2.length - 2] === 0x3d) pad++;
  return (length / 4) * 3 - pad;
}

/**
 * The base64 character range [charStart, charEnd) that encodes decoded bytes [byteStart, byteEnd),
 * aligned to whole 4-character groups, and how many decoded bytes to skip at its start.
 */
export function base64RangeForBytes(
  byteStart: number,
  byteEnd: number,
  totalChars: number,
): { charStart: number; charEnd: number; skip: number } {
  const groupStart = Math.floor(byteStart / 3);
  const groupEnd = Math.ceil(byteEnd / 3);
  return { charStart: groupStart * 4, charEnd: Math.min(groupEnd * 4, totalChars), skip: byteStart - groupStart * 3 };
}

/** Half-precision bits → float32, via a 64 Ki-entry table built once (256 KiB). */
let F16_TABLE: Float32Array | undefined;
function f16Table(): Float32Array {
  if (F16_TABLE) return F16_TABLE;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    let v: number;
    if (exp === 0) v = sign * frac * 2 ** -24;
    else if (exp === 31) v = frac ? NaN : sign * Infinity;
    else v = sign * (1 + frac / 1024) * 2 ** (exp - 15);
    t[h] = v;
  }
  F16_TABLE = t;
  return t;
}

export function float16ToFloat32(bytes: Uint8Array): Float32Array {
  const table = f16Table();
  const n = bytes.length >> 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = table[bytes[2 * i]! | (bytes[2 * i + 1]! << 8)]!;
  return out;
}

/** Index of the first NaN/±Inf element, or -1. */
export function firstNonFinite(v: Float32Array): number {
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x - x !== 0) return i; // NaN and ±Inf give NaN here
  }
  return -1;
}

/**
 * Decodes a per-record `vector` field: base64 → zlib inflate → float16 little-endian → float32.
 * Throws SourceFormatError (INVALID_BASE64 / INVALID_VECTOR) naming the file and record.
 */
export function decodeRecordVector(b64: string, file: string, recordIndex: number): Float32Array {
  const raw = Buffer.from(b64, 'latin1');
  // eslint-disable-next-line no-control-regex -- the range starts at NUL on purpose: any non-ASCII byte
  if (/[^\x00-\x7f]/.test(b64) || findInvalidBase64(raw, true) >= 0) {
    throw new SourceFormatError(
      'INVALID_BASE64',
      `${file}: the "vector" field of record ${recordIndex} is not valid base64; the file is damaged — restore it from a backup or remove the field.`,
      { file, recordIndex },
    );
  }
  let inflated: Buffer;
  try {
    inflated = inflateSync(Buffer.from(b64, 'base64'));
  } catch (e) {
    throw new SourceFormatError(
      'INVALID_VECTOR',
      `${file}: the "vector" field of record ${recordIndex} is not zlib-compressed float16 data (${(e as Error).message}); the file is damaged — restore it from a backup.`,
      { file, recordIndex },
    );
  }
  if (inflated.length % 2 !== 0) {
    throw new SourceFormatError(
      'INVALID_VECTOR',
      `${file}: the "vector" field of record ${recordIndex} decompresses to ${inflated.length} bytes, not a whole number of float16 values; the file is damaged.`,
      { file, recordIndex },
    );
  }
  return float16ToFloat32(inflated);
}

/** Dimension of a per-record vector without converting it (decompressed bytes / 2). */
export function recordVectorDim(b64: string, file: string, recordIndex: number): number {
  return decodeRecordVector(b64, file, recordIndex).length;
}
