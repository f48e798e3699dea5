import type pg from 'pg';
import type { CollectionName } from '../../../core/source/records';
import {
  buildIndexes,
  finishStaging,
  loadBatch,
  prepareStaging,
  type RecordError,
  type TargetPlan,
} from '../../../core/postgres';
import type { AnyRecord } from '../../../core/postgres/layouts/types';
import { batches, type FixtureRecords } from './fixtureRecords';

export function collectionsOf(f: FixtureRecords): [CollectionName, AnyRecord[]][] {
  return [
    ...Object.entries(f.kv).map(([k, v]) => [k as CollectionName, v] as [CollectionName, AnyRecord[]]),
    ...Object.entries(f.vectors).map(([k, v]) => [k as CollectionName, v] as [CollectionName, AnyRecord[]]),
    ['graph_nodes', f.nodes],
    ['graph_edges', f.edges],
  ];
}

/** prepare → load every collection in batches → finish → build indexes (what the workflow does). */
export async function stageFixture(
  pool: pg.Pool,
  plan: TargetPlan,
  f: FixtureRecords,
  batchSize = 20,
): Promise<RecordError[]> {
  await prepareStaging(pool, plan);
  const rejected: RecordError[] = [];
  for (const [collection, records] of collectionsOf(f)) {
    for (const [i, batch] of batches(records, batchSize).entries()) {
      const r = await loadBatch(pool, plan, { collection, batchIndex: i, records: batch });
      rejected.push(...r.rejected);
    }
  }
  const fin = await finishStaging(pool, plan);
  rejected.push(...fin.duplicates);
  await buildIndexes(pool, plan);
  return rejected;
}
