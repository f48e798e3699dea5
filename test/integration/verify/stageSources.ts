/** Stages planned source files with the production readers and the real loader (what the workflow does). */
import path from 'node:path';
import type pg from 'pg';
import { openBatch } from '../../../core/source';
import { planCollections } from '../../../core/migration/planning';
import type { VerifySource } from '../../../core/verify';
import {
  finishStaging,
  loadBatch,
  mappingFor,
  planTarget,
  prepareStaging,
  type TargetPlan,
} from '../../../core/postgres';
import type { AnyRecord } from '../../../core/postgres/layouts/types';
import { realDir } from '../postgres/fixtureRecords';

export async function planFixture(
  name: string,
  batchSize = 7,
): Promise<{ sources: VerifySource[]; dimension: number }> {
  const planned = await planCollections(path.isAbsolute(name) ? name : realDir(name), { batchSize, env: {} });
  return { sources: planned.collections, dimension: planned.dimension };
}

export async function stageSources(pool: pg.Pool, plan: TargetPlan, sources: VerifySource[]): Promise<void> {
  await prepareStaging(pool, plan);
  for (const { collection, plan: cp } of sources) {
    // as the load activity reads: text fields as UTF-8 bytes, while the verifier decodes every value
    const { utf8Fields = [] } = mappingFor(plan, collection);
    for (let k = 0; k < cp.batches.length; k++) {
      const batch = await openBatch(cp, k, { utf8Fields });
      await loadBatch(pool, plan, { collection, batchIndex: k, records: batch.records as Iterable<AnyRecord> });
    }
  }
  await finishStaging(pool, plan);
}

export async function stagedFixture(pool: pg.Pool, name: string, layout: 'lightrag' | 'hybridrag', tag: string) {
  const { sources, dimension } = await planFixture(name);
  const plan = planTarget({ migrationId: `verify/${name}#${layout}-${tag}`, workspace: 'default', dimension, layout });
  await stageSources(pool, plan, sources);
  return { plan, sources };
}
