/** Stages planned source files with the production readers and the real loader (what the workflow does). */
import path from 'node:path';
import type pg from 'pg';
import { readBatch } from '../../../core/source';
import { planCollections } from '../../../core/migration/planning';
import type { VerifySource } from '../../../core/verify';
import { finishStaging, loadBatch, planTarget, prepareStaging, type TargetPlan } from '../../../core/postgres';
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
    for (let k = 0; k < cp.batches.length; k++) {
      await loadBatch(pool, plan, { collection, batchIndex: k, records: (await readBatch(cp, k)) as AnyRecord[] });
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
