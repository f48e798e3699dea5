/**
 * A byte-level JSON structure scanner over Buffer chunks.
 *
 * Why hand-written rather than a streaming JSON library: planning must walk files of several GB
 * (one string — the vdb `matrix` — may itself be > 512 MiB, beyond V8's string limit), and it only
 * needs offsets: where each record at one depth starts and ends, a few small keys, and where the
 * matrix string lies. Token-emitting streaming parsers decode every string into a JS string and
 * emit an event per token; measured on a generated 1 GB vdb_chunks.json they ran well below our
 * 150 MB/s planning target (see docs/source-formats.md), while this scanner skips string bodies
 * with native `Buffer.indexOf` (memchr speed) and touches structural bytes only, reaching several
 * hundred MB/s. Record *contents* are still parsed by `JSON.parse`, one small slice at a time.
 *
 * The scanner validates JSON structure (brackets, commas, colons, key/value order, scalar tokens)
 * but not string escapes or control characters inside strings; those are caught by JSON.parse when
 * the record is read, and UTF-8 validity is checked per chunk by `Utf8Checker` (native isUtf8).
 *
 * Depth convention: the top-level value has depth 0; a value inside the top-level object or array
 * has depth 1; and so on. A key has the depth of the values of its object.
 */
import { isUtf8 } from 'node:buffer';
import { SourceFormatError } from './errors';

export const WATCH_KEY = 1;
export const WATCH_VALUE = 2;
/** String values at this depth are checked against the base64 alphabet (`firstBadBase64`): the vdb matrix. */
export const WATCH_BASE64 = 4;

export interface ScanHooks {
  /** A key string at a watched depth ended. `raw` is its undecoded body (no quotes). */
  onKey?(depth: number, start: number, raw: Buffer): void;
  /** A value at a watched depth starts at absolute offset `offset`; `byte` is its first byte. */
  onValueStart?(depth: number, offset: number, byte: number): void;
  /** A value at a watched depth ended; `end` is the exclusive absolute end offset. */
  onValueEnd?(depth: number, end: number): void;
  /** A string value that was requested with `captureNextValue()` ended. */
  onStringValue?(depth: number, start: number, raw: Buffer): void;
}

const enum S {
  VALUE = 0, // a value is expected
  VALUE_OR_CLOSE = 1, // after '['
  KEY_OR_CLOSE = 2, // after '{'
  KEY = 3, // after ',' in an object
  COLON = 4, // after a key
  COMMA_OR_CLOSE = 5, // after a value inside a container
  DONE = 6, // top-level value complete
}

const OBJ = 1;
const ARR = 2;
const B64 = new Uint8Array(256);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') B64[ch.charCodeAt(0)] = 1;
B64[0x3d] = 2;
const SCALAR_RE = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)$/;

export interface ScannerStart {
  /** containers already open when the first byte is seen (for scanning a slice mid-file) */
  stack: Array<'object' | 'array'>;
  /** what is expected first: 'value' (default for a whole file) or 'key' (a slice starting at a key) */
  expect: 'value' | 'key';
}

export class JsonScanner {
  private stack = new Uint8Array(64);
  private depth = 0;
  private state: S = S.VALUE;
  private inString = false;
  private stringIsKey = false;
  private stringStart = 0;
  private escapeNext = false;
  private capturing = false;
  private captureParts: Buffer[] = [];
  private checkBase64 = false;
  private captureNext = false;
  private inScalar = false;
  private scalarStart = 0;
  private scalarText = '';
  private sawAnyValue = false;
  private watch: Uint8Array = new Uint8Array(64);
  /** absolute offset of the first byte of the next chunk */
  private pos: number;

  /** For the last string value at a WATCH_BASE64 depth: offset of its first byte outside the base64
   * alphabet ('=' excluded), or -1; and offset of its first '=', or -1. */
  firstBadBase64 = -1;
  /** text of the last scalar (number / literal) that ended */
  lastScalar = '';
  firstEq = -1;

  constructor(
    private readonly file: string,
    private readonly hooks: ScanHooks,
    watch: Array<[depth: number, flags: number]>,
    startOffset = 0,
    start?: ScannerStart,
    private readonly recordHint?: () => number | undefined,
  ) {
    for (const [d, f] of watch) this.watch[d] = f;
    this.pos = startOffset;
    if (start) {
      for (const kind of start.stack) this.push(kind === 'object' ? OBJ : ARR, startOffset);
      this.state = start.expect === 'key' ? S.KEY : S.VALUE;
      this.sawAnyValue = true;
    }
  }

  get currentDepth(): number {
    return this.depth;
  }

  /** Ask for the next string value (at any depth) to be delivered via onStringValue. */
  captureNextValue(): void {
    this.captureNext = true;
  }

  private fail(code: 'INVALID_JSON' | 'TRUNCATED_JSON' | 'EMPTY_FILE', what: string, offset: number): never {
    const recordIndex = this.recordHint?.();
    const rec = recordIndex !== undefined ? ` in record ${recordIndex}` : '';
    const tail =
      code === 'TRUNCATED_JSON'
        ? 'the file is truncated (an interrupted write?) — restore it from a backup or let LightRAG rewrite it'
        : code === 'EMPTY_FILE'
          ? 'delete the empty file or restore it from a backup'
          : 'the file is damaged — restore it from a backup';
    throw new SourceFormatError(code, `${this.file} is not valid JSON: ${what} at byte ${offset}${rec}; ${tail}.`, {
      file: this.file,
      byteOffset: offset,
      ...(recordIndex !== undefined ? { recordIndex } : {}),
    });
  }

  private push(kind: number, offset: number): void {
    if (this.depth >= this.stack.length) {
      if (this.depth > 10_000) this.fail('INVALID_JSON', 'nesting deeper than 10000 levels', offset);
      const grown = new Uint8Array(this.stack.length * 2);
      grown.set(this.stack);
      this.stack = grown;
      const w = new Uint8Array(grown.length);
      w.set(this.watch);
      this.watch = w;
    }
    this.stack[this.depth++] = kind;
  }

  private afterValue(): void {
    this.state = this.depth === 0 ? S.DONE : S.COMMA_OR_CLOSE;
  }

  private beginValue(abs: number, byte: number): void {
    if (this.state !== S.VALUE && this.state !== S.VALUE_OR_CLOSE) {
      this.unexpected(byte, abs);
    }
    this.sawAnyValue = true;
    if (this.watch[this.depth]! & WATCH_VALUE) this.hooks.onValueStart?.(this.depth, abs, byte);
  }

  private endValue(abs: number): void {
    if (this.watch[this.depth]! & WATCH_VALUE) this.hooks.onValueEnd?.(this.depth, abs);
    this.afterValue();
  }

  private unexpected(byte: number, abs: number): never {
    const ch = byte >= 0x20 && byte < 0x7f ? `'${String.fromCharCode(byte)}'` : `byte 0x${byte.toString(16)}`;
    const expected =
      this.state === S.COLON
        ? "':'"
        : this.state === S.COMMA_OR_CLOSE
          ? "',' or a closing bracket"
          : this.state === S.KEY || this.state === S.KEY_OR_CLOSE
            ? 'a key'
            : this.state === S.DONE
              ? 'the end of the file'
              : 'a value';
    this.fail('INVALID_JSON', `unexpected ${ch} where ${expected} was expected`, abs);
  }

  private endScalar(abs: number): void {
    this.inScalar = false;
    const text = this.scalarText;
    this.lastScalar = text;
    this.scalarText = '';
    if (!SCALAR_RE.test(text)) {
      const hint = /^-?(NaN|Infinity)$/.test(text) ? ' (Python writes NaN/Infinity, which JSON does not allow)' : '';
      this.fail('INVALID_JSON', `invalid token "${text.slice(0, 40)}"${hint}`, this.scalarStart);
    }
    this.endValue(abs);
  }

  /** Feed the next chunk (contiguous with the previous one). */
  write(buf: Buffer): void {
    const n = buf.length;
    const base = this.pos;
    let i = 0;
    while (i < n) {
      if (this.inString) {
        let lo = i;
        if (this.escapeNext) {
          this.escapeNext = false;
          lo = i + 1;
          if (lo > n) break;
        }
        let q = buf.indexOf(0x22, lo);
        if (this.checkBase64 && this.firstBadBase64 < 0) {
          // watched value strings (the vdb matrix) are checked against the base64 alphabet here,
          // so that a damaged matrix fails planning rather than a batch half-way through a run
          const stop = q < 0 ? n : q;
          for (let j = i; j < stop; j++) {
            const ok = B64[buf[j]!]!;
            if (ok !== 1) {
              if (ok === 2) {
                if (this.firstEq < 0) this.firstEq = base + j;
                continue;
              }
              this.firstBadBase64 = base + j;
              break;
            }
          }
        }
        for (;;) {
          if (q < 0) {
            // string continues into the next chunk; remember whether the last byte escapes the next
            let k = n - 1;
            let run = 0;
            while (k >= lo && buf[k] === 0x5c) {
              run++;
              k--;
            }
            this.escapeNext = (run & 1) === 1;
            if (this.capturing) this.captureParts.push(Buffer.from(buf.subarray(i, n)));
            i = n;
            break;
          }
          let k = q - 1;
          let run = 0;
          while (k >= lo && buf[k] === 0x5c) {
            run++;
            k--;
          }
          if ((run & 1) === 0) {
            this.finishString(buf, i, q, base);
            i = q + 1;
            break;
          }
          lo = q + 1;
          q = buf.indexOf(0x22, lo);
        }
        continue;
      }
      if (this.inScalar) {
        let j = i;
        while (j < n) {
          const c = buf[j]!;
          if (c === 0x2c || c === 0x7d || c === 0x5d || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) break;
          j++;
        }
        if (j - i + this.scalarText.length > 64)
          this.fail('INVALID_JSON', 'an over-long or invalid literal', this.scalarStart);
        this.scalarText += buf.toString('latin1', i, j);
        i = j;
        if (j < n) this.endScalar(base + j);
        continue;
      }
      const c = buf[i]!;
      switch (c) {
        case 0x20:
        case 0x0a:
        case 0x0d:
        case 0x09:
          i++;
          continue;
        case 0x22: {
          // '"'
          const abs = base + i;
          if (this.state === S.KEY || this.state === S.KEY_OR_CLOSE) {
            this.stringIsKey = true;
            this.capturing = (this.watch[this.depth]! & WATCH_KEY) !== 0;
            this.checkBase64 = false;
          } else {
            this.beginValue(abs, c);
            this.stringIsKey = false;
            this.capturing = this.captureNext;
            this.checkBase64 = (this.watch[this.depth]! & WATCH_BASE64) !== 0;
            if (this.checkBase64) {
              this.firstBadBase64 = -1;
              this.firstEq = -1;
            }
          }
          this.captureNext = false;
          if (this.capturing) this.captureParts = [];
          this.inString = true;
          this.stringStart = abs;
          i++;
          continue;
        }
        case 0x7b: // '{'
        case 0x5b: {
          // '['
          const abs = base + i;
          this.beginValue(abs, c);
          this.captureNext = false;
          this.push(c === 0x7b ? OBJ : ARR, abs);
          this.state = c === 0x7b ? S.KEY_OR_CLOSE : S.VALUE_OR_CLOSE;
          i++;
          continue;
        }
        case 0x7d: // '}'
        case 0x5d: {
          // ']'
          const abs = base + i;
          const kind = c === 0x7d ? OBJ : ARR;
          const okState =
            this.state === S.COMMA_OR_CLOSE ||
            (kind === OBJ ? this.state === S.KEY_OR_CLOSE : this.state === S.VALUE_OR_CLOSE);
          if (!okState || this.depth === 0 || this.stack[this.depth - 1] !== kind) this.unexpected(c, abs);
          this.depth--;
          this.endValue(abs + 1);
          i++;
          continue;
        }
        case 0x3a: // ':'
          if (this.state !== S.COLON) this.unexpected(c, base + i);
          this.state = S.VALUE;
          i++;
          continue;
        case 0x2c: // ','
          if (this.state !== S.COMMA_OR_CLOSE) this.unexpected(c, base + i);
          this.state = this.stack[this.depth - 1] === OBJ ? S.KEY : S.VALUE;
          i++;
          continue;
        default: {
          const abs = base + i;
          if (!(
            (c >= 0x30 && c <= 0x39) ||
            c === 0x2d ||
            c === 0x74 ||
            c === 0x66 ||
            c === 0x6e ||
            c === 0x4e ||
            c === 0x49
          )) {
            this.unexpected(c, abs);
          }
          this.beginValue(abs, c);
          this.captureNext = false;
          this.inScalar = true;
          this.scalarStart = abs;
          this.scalarText = '';
          continue;
        }
      }
    }
    this.pos = base + n;
  }

  private finishString(buf: Buffer, from: number, q: number, base: number): void {
    this.inString = false;
    const end = base + q + 1;
    if (this.stringIsKey) {
      if (this.capturing) {
        this.capturing = false;
        const raw = this.captureParts.length
          ? Buffer.concat([...this.captureParts, buf.subarray(from, q)])
          : buf.subarray(from, q);
        this.captureParts = [];
        this.hooks.onKey?.(this.depth, this.stringStart, raw);
      }
      this.state = S.COLON;
      return;
    }
    if (this.capturing) {
      this.capturing = false;
      const raw = this.captureParts.length
        ? Buffer.concat([...this.captureParts, buf.subarray(from, q)])
        : buf.subarray(from, q);
      this.captureParts = [];
      this.hooks.onStringValue?.(this.depth, this.stringStart, raw);
    }
    this.endValue(end);
  }

  /** Absolute offset just past the last byte fed. */
  get offset(): number {
    return this.pos;
  }

  /** Whether the scanner sits between values (not inside a string or literal). */
  get atBoundary(): boolean {
    return !this.inString && !this.inScalar;
  }

  /** Checks that a whole file ended cleanly after exactly one top-level value. */
  finish(): void {
    const end = this.pos;
    if (this.inScalar) this.endScalar(end);
    if (!this.sawAnyValue) this.fail('EMPTY_FILE', 'the file is empty or holds only whitespace', end);
    if (this.inString) this.fail('TRUNCATED_JSON', 'the file ends inside a string', end);
    if (this.state !== S.DONE) this.fail('TRUNCATED_JSON', `the file ends with ${this.depth} unclosed bracket(s)`, end);
  }
}

/**
 * Incremental UTF-8 validation with Node's native `isUtf8`, carrying an incomplete trailing
 * sequence to the next chunk. Reports the byte offset of the first invalid sequence.
 */
export class Utf8Checker {
  private carry: Buffer = Buffer.alloc(0);
  private pos: number;
  constructor(
    private readonly file: string,
    startOffset = 0,
  ) {
    this.pos = startOffset;
  }

  write(chunk: Buffer): void {
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const base = this.pos - this.carry.length;
    // find the start of a possibly incomplete trailing sequence (at most 3 bytes back)
    let cut = buf.length;
    for (let k = 1; k <= 3 && buf.length - k >= 0; k++) {
      const b = buf[buf.length - k]!;
      if ((b & 0xc0) === 0x80) continue; // continuation byte
      if (b >= 0xc0) {
        const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
        if (need > k) cut = buf.length - k;
      }
      break;
    }
    const body = buf.subarray(0, cut);
    if (!isUtf8(body)) this.report(body, base);
    this.carry = Buffer.from(buf.subarray(cut));
    this.pos += chunk.length;
  }

  finish(): void {
    if (this.carry.length && !isUtf8(this.carry)) this.report(this.carry, this.pos - this.carry.length);
  }

  private report(body: Buffer, base: number): never {
    const at = base + firstInvalidUtf8(body);
    throw new SourceFormatError(
      'INVALID_UTF8',
      `${this.file} is not valid UTF-8 at byte ${at}; LightRAG writes UTF-8, so the file is damaged or was re-encoded — restore it from a backup.`,
      {
        file: this.file,
        byteOffset: at,
      },
    );
  }
}

/** Offset of the first invalid UTF-8 sequence in `b` (slow path, only used to report an error). */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const need = c >= 0xf0 && c <= 0xf4 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : -1;
    if (need < 0 || c > 0xf4) return i;
    const slice = Buffer.from(b.subarray(i, i + need + 1));
    if (slice.length < need + 1 || !isUtf8(slice)) return i;
    i += need + 1;
  }
  return b.length;
}
