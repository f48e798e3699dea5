import type { CollectionName } from '../source/records';
import { admitRecord } from './admit';
import { BinaryCopyEncoder } from './copy/binaryEncoder';
import type { AnyRecord } from './layouts/types';
import { copyTypes } from './loader';
import { tableSpec, type TargetPlan } from './plan';

/**
 * The records of one batch the loader would reject, with its reasons, and the values it would fit — for a dry run: the same
 * mapping and encoding as a load, into a scratch buffer, nothing written anywhere.
 */
export function previewBatch(
  plan: TargetPlan,
  collection: CollectionName,
  records: Iterable<AnyRecord>,
): {
  rejects: { id: string; reason: string }[];
  fits: { id: string; field: string; change: string }[];
  /** values longer than LightRAG's own VARCHAR in an unsuffixed vector table (TableSpec.lightragVarchar) */
  overLightragVarchar: { id: string; column: string; limit: number }[];
} {
  const now = Date.now();
  const mapping = plan.layout.collections[collection];
  const out = {
    rejects: [] as { id: string; reason: string }[],
    fits: [] as { id: string; field: string; change: string }[],
    overLightragVarchar: [] as { id: string; column: string; limit: number }[],
  };
  if (!mapping) return out;
  const spec = tableSpec(plan, mapping.table);
  const encoder = new BinaryCopyEncoder(copyTypes(spec), 1 << 16);
  const seen = new Set<string>();
  for (const record of records) {
    const admitted = admitRecord(mapping, spec.copyColumns, record, now, seen, encoder);
    if (!admitted.ok) out.rejects.push({ id: admitted.id, reason: admitted.reason });
    else {
      for (const f of admitted.fits) out.fits.push({ id: admitted.id, ...f });
      for (const [column, limit] of Object.entries(spec.lightragVarchar ?? {})) {
        const v = admitted.row[spec.copyColumns.indexOf(column)];
        if (typeof v === 'string' && v.length > limit && [...v].length > limit)
          out.overLightragVarchar.push({ id: admitted.id, column: `${spec.name}.${column}`, limit });
      }
      // only the verdict matters: drop the bytes so the buffer stays small
      if (encoder.length > 1 << 20) encoder.take(encoder.buffer);
    }
  }
  return out;
}
