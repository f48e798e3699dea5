/**
 * Long string fields of a record taken out of its JSON.parse and kept as their UTF-8 bytes
 * (`Utf8Text`): while a batch is split by the structure scanner, the byte ranges of chosen fields'
 * string values are noted per record; when the record is parsed, each such value is checked and
 * unescaped by `JSON.parse` of its bytes read as latin1 — native code, one byte per character, so
 * the result holds the UTF-8 bytes with escapes resolved — and the rest of the record is parsed
 * with the value replaced by `0`. Measured on the generated store's 4.5 kB chunk texts: UTF-8 decode
 * ~20 µs + parse + fitting scan + UTF-8 encode ~20 µs, against ~5 µs this way (docs/benchmarks.md).
 *
 * A value is left to the ordinary parse (and so becomes a JS string) when it is short, contains a
 * `\u` escape (the latin1 reading would turn `\u00e9` into one byte; NUL and lone surrogates only
 * come this way), or when its record has the field twice or a key with escapes (which key wins is
 * then JSON.parse's business). Everything JSON.parse rejects in a value it still rejects.
 */
import { Utf8Text, type JsonObject } from './records';

/** Values shorter than this (bytes with quotes) are parsed with their record: not worth a cut. */
const MIN_CUT_BYTES = 256;
const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const UNICODE_ESCAPE = Buffer.from('\\u');
/** Field names per collection are few: a bit per name marks it seen in the current record. */
const MAX_FIELDS = 30;

export interface FieldCutOptions {
  /** fields whose long string values become `Utf8Text` */
  utf8Fields?: readonly string[];
  /** fields whose values are checked as JSON and then read as 0 (the vdb's per-record vector when the matrix holds it) */
  dropFields?: readonly string[];
}

export class FieldCuts {
  private readonly names: string[];
  private readonly nameBytes: Buffer[];
  private readonly dropFrom: number;
  /** per cut: name index, start, end (absolute offsets of the quoted value); typed arrays as in KvSpans */
  private ranges = new Float64Array(3 * 64);
  private cutCount = 0;
  /** per record: its first cut's index in `ranges` (record i's cuts end where record i + 1's begin) */
  private readonly firstOfRecord: Int32Array;
  private records = 0;
  private key = -1;
  private valueStart = -1;
  private seen = 0;
  private unsafe = false;
  /** absolute offset of the next `\u` at or after the last checked value (or -1: none left) */
  private nextEscape = -2;

  /** @param capacity the records of the batch (more are not noted: the batch fails its count check) */
  constructor(o: FieldCutOptions, capacity: number) {
    this.firstOfRecord = new Int32Array(capacity + 1);
    const utf8 = o.utf8Fields ?? [];
    this.names = [...utf8, ...(o.dropFields ?? [])];
    if (this.names.length > MAX_FIELDS) throw new RangeError(`at most ${MAX_FIELDS} fields can be cut`);
    this.nameBytes = this.names.map((n) => Buffer.from(n));
    this.dropFrom = utf8.length;
  }

  static wanted(o: FieldCutOptions | undefined): o is FieldCutOptions {
    return !!o && (o.utf8Fields?.length ?? 0) + (o.dropFields?.length ?? 0) > 0;
  }

  /** A key of the record's own fields ended (`raw`: its bytes without quotes). */
  onKey(raw: Buffer): void {
    this.key = -1;
    if (raw.indexOf(BACKSLASH) >= 0) this.unsafe = true;
    for (let i = 0; i < this.nameBytes.length; i++) {
      if (!raw.equals(this.nameBytes[i]!)) continue;
      if (this.seen & (1 << i)) this.unsafe = true;
      this.seen |= 1 << i;
      this.key = i;
      return;
    }
  }

  onValueStart(offset: number, byte: number): void {
    this.valueStart = byte === QUOTE && this.key >= 0 ? offset : -1;
  }

  onValueEnd(end: number): void {
    if (this.valueStart >= 0 && end - this.valueStart >= MIN_CUT_BYTES) this.addCut(this.key, this.valueStart, end);
    this.valueStart = -1;
    this.key = -1;
  }

  private addCut(name: number, start: number, end: number): void {
    if (3 * this.cutCount + 3 > this.ranges.length) {
      const grown = new Float64Array(this.ranges.length * 2);
      grown.set(this.ranges);
      this.ranges = grown;
    }
    const at = 3 * this.cutCount++;
    this.ranges[at] = name;
    this.ranges[at + 1] = start;
    this.ranges[at + 2] = end;
  }

  /** The record's object closed. */
  endRecord(): void {
    if (this.records >= this.firstOfRecord.length - 1) return;
    if (this.unsafe) this.cutCount = this.firstOfRecord[this.records]! / 3;
    this.firstOfRecord[++this.records] = 3 * this.cutCount;
    this.seen = 0;
    this.unsafe = false;
  }

  /**
   * JSON.parse of record `index` of the batch, at absolute [start, end) of `buf` (which starts at
   * absolute `base`), with its cut values as `Utf8Text` (or left out, for dropped fields). Records
   * must be parsed in order. Throws JSON.parse's SyntaxError.
   */
  parse(buf: Buffer, base: number, index: number, start: number, end: number): unknown {
    const first = this.firstOfRecord[index]!;
    const last = this.firstOfRecord[index + 1]!;
    if (first === last) return JSON.parse(buf.toString('utf8', start - base, end - base));
    let text = '';
    let from = start;
    const kept: Array<[string, Utf8Text]> = [];
    for (let c = first; c < last; c += 3) {
      const name = this.ranges[c]!;
      const valueStart = this.ranges[c + 1]!;
      const valueEnd = this.ranges[c + 2]!;
      if (this.hasUnicodeEscape(buf, base, valueStart, valueEnd)) continue;
      const latin1 = JSON.parse(buf.toString('latin1', valueStart - base, valueEnd - base)) as string;
      if (name < this.dropFrom) kept.push([this.names[name]!, new Utf8Text(latin1)]);
      text += `${buf.toString('utf8', from - base, valueStart - base)}0`;
      from = valueEnd;
    }
    const parsed = JSON.parse(text + buf.toString('utf8', from - base, end - base)) as JsonObject;
    for (const [name, value] of kept) parsed[name] = value;
    return parsed;
  }

  private hasUnicodeEscape(buf: Buffer, base: number, start: number, end: number): boolean {
    if (this.nextEscape !== -1 && this.nextEscape < start) {
      const at = buf.indexOf(UNICODE_ESCAPE, start - base);
      this.nextEscape = at < 0 ? -1 : at + base;
    }
    return this.nextEscape !== -1 && this.nextEscape < end;
  }
}

/** JSON.parse of absolute [start, end) of `buf` (at absolute `base`), record `index` of `cuts` when given. */
export function parseRecord(
  buf: Buffer,
  base: number,
  start: number,
  end: number,
  cuts?: FieldCuts,
  index = 0,
): unknown {
  return cuts ? cuts.parse(buf, base, index, start, end) : JSON.parse(buf.toString('utf8', start - base, end - base));
}
