import type { CollectionName } from '../source/records';
import { admitRecord } from './admit';
import { BinaryCopyEncoder } from './copy/binaryEncoder';
import type { AnyRecord } from './layouts/types';
import { copyTypes } from './loader';
import { tableSpec, type TargetPlan } from './plan';

/**
 * The records of one batch the loader would reject, with its reasons — for a dry run: the same
 * mapping and encoding as a load, into a scratch buffer, nothing written anywhere.
 */
export function batchRejects(
  plan: TargetPlan,
  collection: CollectionName,
  records: Iterable<AnyRecord>,
): { id: string; reason: string }[] {
  const now = Date.now();
  const mapping = plan.layout.collections[collection];
  if (!mapping) return [];
  const encoder = new BinaryCopyEncoder(copyTypes(tableSpec(plan, mapping.table)), 1 << 16);
  const seen = new Set<string>();
  const rejects: { id: string; reason: string }[] = [];
  for (const record of records) {
    const admitted = admitRecord(mapping, record, now, seen, encoder);
    if (!admitted.ok) rejects.push({ id: admitted.id, reason: admitted.reason });
    // only the verdict matters: drop the bytes so the buffer stays small
    else if (encoder.length > 1 << 20) encoder.take(encoder.buffer);
  }
  return rejects;
}
