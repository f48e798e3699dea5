/**
 * Whether one record becomes a row: the rule the loader applies and the verifier repeats on the
 * source side, so both agree on every reject and its reason.
 */
import { EncodeError, type BinaryCopyEncoder } from './copy/binaryEncoder';
import type { AnyRecord, CollectionMapping } from './layouts/types';

const DUPLICATE_IN_BATCH = 'duplicate id: an earlier record of this batch has the same id (the first is kept)';

type Admission = { ok: true; id: string; row: unknown[]; start: number } | { ok: false; id: string; reason: string };

/**
 * Maps `record` and encodes its row into `encoder`. Refused when the mapper refuses it, when its id
 * already came earlier in the batch (`seen`), or when the encoder refuses a value (NaN vectors,
 * NUL in text, …); a refused record leaves no bytes behind.
 */
export function admitRecord(
  mapping: CollectionMapping,
  record: AnyRecord,
  now: number,
  seen: Set<string>,
  encoder: BinaryCopyEncoder,
): Admission {
  const mapped = mapping.map(record, now);
  if (!mapped.ok) return mapped;
  if (seen.has(mapped.dedupeKey)) return { ok: false, id: mapped.id, reason: DUPLICATE_IN_BATCH };
  const start = encoder.length;
  try {
    encoder.encodeRow(mapped.row);
  } catch (error) {
    if (!(error instanceof EncodeError)) throw error;
    return { ok: false, id: mapped.id, reason: error.message };
  }
  seen.add(mapped.dedupeKey);
  return { ok: true, id: mapped.id, row: mapped.row, start };
}
