import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '../../helpers/db';
import { planTarget, promote, rollbackPromote, type TargetPlan } from '../../../core/postgres';
import { previewPromote } from '../../../core/postgres/promotePreview';
import { seededRandom, syntheticEntities } from '../../../scripts/syntheticEntities';
import { stageFixture } from './stageHelper';

/**
 * Promotes into tables other workspaces already use: the cost must not depend on what else lives
 * there (the bounds are the acceptance figures; npm run bench:promote measures them at size).
 */
const DIM = 128;
const N = 4_000;

let db: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase('promote_shared');
});
afterAll(async () => {
  await db?.drop();
});

const planFor = (migrationId: string, workspace: string) => planTarget({ migrationId, workspace, dimension: DIM });

async function stage(plan: TargetPlan, seed: number): Promise<void> {
  const records = syntheticEntities(plan.options.workspace, N, DIM, seededRandom(seed));
  await stageFixture(
    db.pool,
    plan,
    { kv: {}, vectors: { vdb_entities: records }, dim: DIM, nodes: [], edges: [] },
    2_000,
  );
}

async function timedPromote(plan: TargetPlan) {
  const t0 = performance.now();
  const result = await promote(db.pool, plan);
  return { ...result, ms: performance.now() - t0 };
}

/** Every row of a workspace's entity vectors, as one digest (content and vector bytes). */
async function digest(ws: string): Promise<string> {
  const { rows } = await db.pool.query<{ d: string; n: number }>(
    `SELECT md5(string_agg(id || ':' || content_vector::text, ',' ORDER BY id)) AS d, count(*)::int AS n
       FROM public.lightrag_vdb_entity WHERE workspace = $1`,
    [ws],
  );
  return `${rows[0]!.n}:${rows[0]!.d}`;
}

describe('promote into shared tables', () => {
  let alphaDigest = '';
  let betaDigest = '';

  it('the second of two same-size workspaces promotes in at most 2× the first (or 5 s), its transaction in under a second', async () => {
    const alpha = planFor('shared-alpha', 'alpha');
    const beta = planFor('shared-beta', 'beta');
    await stage(alpha, 1);
    await stage(beta, 2);
    const rows = new Map([['lightrag_vdb_entity', N]]);
    const fresh = await previewPromote(db.pool, alpha, rows);
    expect(fresh.tables.find((t) => t.table === 'lightrag_vdb_entity')!.how).toMatch(/^creates the table partitioned/);
    const first = await timedPromote(alpha);
    const preview = await previewPromote(db.pool, beta, rows);
    expect(preview.tables.find((t) => t.table === 'lightrag_vdb_entity')).toMatchObject({ mode: 'attach', seconds: 0 });
    expect(preview.seconds).toBe(1);
    alphaDigest = await digest('alpha');
    const second = await timedPromote(beta);
    betaDigest = await digest('beta');
    expect(second.tables.filter((t) => t.table.startsWith('lightrag_vdb')).map((t) => t.mode)).toEqual([
      'attach',
      'attach',
      'attach',
    ]);
    expect(second.tables.find((t) => t.table === 'lightrag_vdb_entity')!.rows).toBe(N);
    expect(second.ms).toBeLessThanOrEqual(Math.max(2 * first.ms, 5_000));
    expect(second.transactionMs).toBeLessThan(1_000);
    expect(await digest('alpha')).toBe(alphaDigest);
  }, 600_000);

  it('the dry run names a rows-mode promote into an unpartitioned LightRAG table and what it costs', async () => {
    await db.pool.query(`CREATE SCHEMA plain`);
    await db.pool.query(`CREATE TABLE plain.lightrag_vdb_entity (LIKE public.lightrag_vdb_entity INCLUDING DEFAULTS)`);
    await db.pool.query(`INSERT INTO plain.lightrag_vdb_entity SELECT * FROM public.lightrag_vdb_entity`);
    const plan = planTarget({ migrationId: 'shared-plain', workspace: 'beta', dimension: DIM, targetSchema: 'plain' });
    const preview = await previewPromote(db.pool, plan, new Map([['lightrag_vdb_entity', N]]));
    const entity = preview.tables.find((t) => t.table === 'lightrag_vdb_entity')!;
    expect(entity.mode).toBe('rows');
    expect(entity.how).toMatch(
      new RegExp(`copies ${N} previous rows aside and inserts ${N} rows one by one into the shared vector index`),
    );
    // N / (100 × 1536 / DIM) seconds for the vectors, N / 20,000 for the copy
    expect(entity.seconds).toBeCloseTo(N / ((100 * 1536) / DIM) + N / 20_000, 5);
  });

  it('a new generation of a workspace replaces only its partition; rollback brings the previous one back in seconds, others untouched', async () => {
    const beta2 = planFor('shared-beta-2', 'beta');
    await stage(beta2, 3);
    const promoted = await timedPromote(beta2);
    const entity = promoted.tables.find((t) => t.table === 'lightrag_vdb_entity')!;
    expect(entity).toMatchObject({ mode: 'attach', hadPrevious: true, previousRows: N, rows: N });
    expect(promoted.transactionMs).toBeLessThan(1_000);
    const newDigest = await digest('beta');
    expect(newDigest).not.toBe(betaDigest);
    expect(await digest('alpha')).toBe(alphaDigest);

    const t0 = performance.now();
    const rolledBack = await rollbackPromote(db.pool, beta2);
    const rollbackMs = performance.now() - t0;
    expect(rolledBack.tables.find((t) => t.table === 'lightrag_vdb_entity')).toMatchObject({
      mode: 'attach',
      restoredRows: N,
    });
    expect(rollbackMs).toBeLessThan(5_000);
    expect(await digest('beta')).toBe(betaDigest);
    expect(await digest('alpha')).toBe(alphaDigest);
    // and forward again: the rolled-back generation went back to staging
    await promote(db.pool, beta2);
    expect(await digest('beta')).toBe(newDigest);
  }, 600_000);
});
