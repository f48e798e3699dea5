/**
 * Whether one record becomes a row, and with which values: the rule the loader applies and the
 * verifier and the dry run repeat on the source side, so all three agree on every reject, every
 * fitted value (fit.ts) and its reason.
 */
import { EncodeError, type BinaryCopyEncoder } from './copy/binaryEncoder';
import { fitRow, type FitNote } from './fit';
import type { AnyRecord, CollectionMapping } from './layouts/types';

const DUPLICATE_IN_BATCH = 'duplicate id: an earlier record of this batch has the same id (the first is kept)';

export type Admission =
  { ok: true; id: string; row: unknown[]; start: number; fits: FitNote[] } | { ok: false; id: string; reason: string };

/**
 * Maps `record`, fits its values (`columns` names the encoder's columns for the notes) and encodes
 * its row into `encoder`. Refused when the mapper refuses it, when its id already came earlier in
 * the batch (`seen`), or when the encoder refuses a value (NaN vectors, …); a refused record leaves
 * no bytes behind.
 */
export function admitRecord(
  mapping: CollectionMapping,
  columns: readonly string[],
  record: AnyRecord,
  now: number,
  seen: Set<string>,
  encoder: BinaryCopyEncoder,
): Admission {
  const mapped = mapping.map(record, now);
  if (!mapped.ok) return mapped;
  if (seen.has(mapped.dedupeKey)) return { ok: false, id: mapped.id, reason: DUPLICATE_IN_BATCH };
  const fitted = fitRow(encoder.types, columns, mapped.row);
  const start = encoder.length;
  try {
    encoder.encodeRow(fitted.row);
  } catch (error) {
    if (!(error instanceof EncodeError)) throw error;
    return { ok: false, id: mapped.id, reason: error.message };
  }
  seen.add(mapped.dedupeKey);
  const fits = mapped.fits?.length ? [...mapped.fits, ...fitted.fits] : fitted.fits;
  return { ok: true, id: mapped.id, row: fitted.row, start, fits };
}
