import { Utf8Text } from '../../source/records';
import { compareCodePoints } from '../identifiers';

/** Thrown by a mapper for one record; becomes a per-record RecordError. */
export class RowError extends Error {}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Text column value: strings as is, other JSON values serialised, null/undefined → NULL. */
export function asText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Utf8Text) return v.toString();
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** As `asText`, with a value read as UTF-8 bytes passed on undecoded (a mapping's `utf8Fields`). */
export function asTextOrUtf8(v: unknown): string | Utf8Text | null {
  return v instanceof Utf8Text ? v : asText(v);
}

/** An int4 value, or NULL when absent; a non-integer is a record error. */
export function asInt(v: unknown, field: string): number | null {
  if (v === null || v === undefined) return null;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < -2147483648 || n > 2147483647)
    throw new RowError(`${field} is ${JSON.stringify(v)}, not a 32-bit integer`);
  return n;
}

/** Unix seconds (int or float) → Unix milliseconds; anything else → undefined. */
export function unixToMs(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v * 1000 : undefined;
}

/**
 * LightRAG's doc-status time rule: an ISO-8601 string (or a date); aware → UTC, naive → taken as
 * UTC; stored naive. Unparseable → NULL (LightRAG logs and sends NULL). Returns Unix ms.
 */
export function isoToUtcMs(v: unknown): number | null {
  if (typeof v !== 'string' || v.trim() === '') return null;
  const s = v.trim();
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(
      s,
    );
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', se = '0', frac = '', tz] = m;
  let ms = Date.UTC(+y!, +mo! - 1, +d!, +h, +mi, +se) + (frac ? Number(`0.${frac}`) * 1000 : 0);
  if (!Number.isFinite(ms)) return null;
  if (tz && tz.toUpperCase() !== 'Z') {
    const sign = tz.startsWith('-') ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    const off = (+digits.slice(0, 2) * 60 + +(digits.slice(2) || '0')) * 60_000;
    ms -= sign * off;
  }
  return ms;
}

/** LightRAG's chunk_ids rule: split a string on <SEP> (no trimming, empty pieces kept), else [value]. */
export function chunkIdsFrom(sourceId: unknown): string[] | null {
  if (sourceId === null || sourceId === undefined) return null;
  const s = typeof sourceId === 'string' ? sourceId : JSON.stringify(sourceId);
  return s.includes('<SEP>') ? s.split('<SEP>') : [s];
}

/** Undirected edge in LightRAG's canonical order: min/max by Python (code point) string order. */
export function canonicalPair(a: string, b: string): [string, string] {
  return compareCodePoints(a, b) <= 0 ? [a, b] : [b, a];
}

export function requireString(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new RowError(`${field} is missing or not a string`);
  return v;
}
