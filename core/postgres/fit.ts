/**
 * The smallest change that lets a value PostgreSQL cannot store as it is become a row, the way
 * LightRAG's own ingestion stores text (lightrag/utils.py `sanitize_text_for_encoding`): NUL
 * characters removed (PostgreSQL text and jsonb cannot hold U+0000) and lone UTF-16 surrogates
 * replaced by U+FFFD (UTF-8 cannot encode them). Every other character — control characters,
 * emoji, CJK, right-to-left text — is kept byte for byte. Each change is named so the report can
 * list it; loader, verifier and dry run all go through `fitRow`, so they agree on every value.
 */
import { Utf8Text } from '../source/records';
import type { CopyType } from './copy/binaryEncoder';

/** One changed value of one record: which field (column, or column.path inside JSON) and what changed. */
export interface FitNote {
  field: string;
  change: string;
}

/** Offsets listed per change before "…" (the count is always exact). */
const LISTED_OFFSETS = 5;
const NEEDS_FIT = /[\0\uD800-\uDFFF]/;

const offsetList = (offsets: number[]): string =>
  `${offsets.slice(0, LISTED_OFFSETS).join(', ')}${offsets.length > LISTED_OFFSETS ? ', …' : ''}`;

/**
 * `s` with NUL removed and lone surrogates replaced by U+FFFD, and what changed (offsets are UTF-16
 * positions in the source string); `change` is undefined when `s` is stored as it is.
 */
export function fitText(s: string): { value: string; change?: string } {
  if (!NEEDS_FIT.test(s)) return { value: s };
  const nuls: number[] = [];
  const lone: number[] = [];
  let out = '';
  let from = 0;
  const cut = (i: number, replacement: string) => {
    out += s.slice(from, i) + replacement;
    from = i + 1;
  };
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) {
      nuls.push(i);
      cut(i, '');
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else {
        lone.push(i);
        cut(i, '\uFFFD');
      }
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      lone.push(i);
      cut(i, '\uFFFD');
    }
  }
  if (nuls.length === 0 && lone.length === 0) return { value: s };
  const value = out + s.slice(from);
  const parts: string[] = [];
  if (nuls.length)
    parts.push(`${nuls.length} NUL removed at offset${nuls.length === 1 ? '' : 's'} ${offsetList(nuls)}`);
  if (lone.length)
    parts.push(
      `${lone.length} lone surrogate${lone.length === 1 ? '' : 's'} replaced by U+FFFD at offset${lone.length === 1 ? '' : 's'} ${offsetList(lone)}`,
    );
  return { value, change: parts.join('; ') };
}

/** A JSON value with every string (object keys too) fitted; the same object when nothing changed. */
export function fitJson(v: unknown, field: string, notes: FitNote[]): unknown {
  if (v instanceof Utf8Text) return v; // never a NUL or a lone surrogate (records.ts); serialised as its string
  if (typeof v === 'string') {
    const f = fitText(v);
    if (f.change) notes.push({ field, change: f.change });
    return f.value;
  }
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x = fitJson(v[i], `${field}[${i}]`, notes);
      if (x !== v[i]) (out ??= v.slice())[i] = x;
    }
    return out ?? v;
  }
  if (typeof v === 'object' && v !== null && !(v instanceof Float32Array) && !(v instanceof Date)) {
    let changed = false;
    const entries = Object.entries(v).map(([k, x]): [string, unknown] => {
      const key = fitText(k);
      if (key.change) notes.push({ field: `${field} key ${JSON.stringify(key.value)}`, change: key.change });
      const value = fitJson(x, `${field}.${key.value}`, notes);
      if (key.change || value !== x) changed = true;
      return [key.value, value];
    });
    return changed ? Object.fromEntries(entries) : v;
  }
  return v;
}

/**
 * The row with every text, JSON and text-array value fitted (a new array only when something
 * changed), and the notes naming each change by column.
 */
export function fitRow(
  types: readonly CopyType[],
  columns: readonly string[],
  row: unknown[],
): { row: unknown[]; fits: FitNote[] } {
  const fits: FitNote[] = [];
  let out: unknown[] | undefined;
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    const type = types[i];
    let fitted = v;
    // a Utf8Text (bytes read without `\u` escapes) holds neither a NUL nor a lone surrogate: as it is
    if (type === 'text' && typeof v === 'string') {
      const f = fitText(v);
      if (f.change) fits.push({ field: columns[i]!, change: f.change });
      fitted = f.value;
    } else if (type === 'jsonb' || type === 'varchar[]' || type === 'text[]') {
      fitted = fitJson(v, columns[i]!, fits);
    }
    if (fitted !== v) (out ??= row.slice())[i] = fitted;
  }
  return { row: out ?? row, fits };
}
