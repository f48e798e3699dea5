import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { StagedMigration } from '../../index';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';
import { copyFixture } from '../helpers/fixtures';

let db: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase('verify_gate');
  process.env.TEMPORAL_ADDRESS = inject('temporalAddress');
});
afterAll(async () => {
  await db?.drop();
});

// Nothing is promoted unless it is proven equal to the source.
describe('verification gates promote', () => {
  it('a corrupted float in staging fails verification, names the id, records verification_failed and blocks promote', async () => {
    const dir = copyFixture('Rajendk-AITech__LightRAG__rag_storage');
    const staged = new StagedMigration({
      databaseName: 'rajendk',
      sourcePath: dir,
      targetConnection: db.url,
      worker: 'embedded',
      batchSize: 20,
    });
    await staged.prepare();
    await staged.migrateToStaging();
    const schema = (
      await db.pool.query<{ s: string }>(`SELECT nspname AS s FROM pg_namespace WHERE nspname LIKE 'hybridrag_stage_%'`)
    ).rows[0]!.s;
    const victim = (
      await db.pool.query<{ id: string }>(
        `SELECT id FROM "${schema}".lightrag_vdb_entity_staging ORDER BY id LIMIT 1 OFFSET 7`,
      )
    ).rows[0]!.id;
    // One float of one vector: element 100 nudged by one step.
    await db.pool.query(
      `UPDATE "${schema}".lightrag_vdb_entity_staging SET content_vector = (
         SELECT array_agg(CASE WHEN i = 100 THEN v + 1e-3 ELSE v END ORDER BY i)::vector
         FROM unnest(content_vector::real[]) WITH ORDINALITY AS t(v, i)) WHERE id = $1`,
      [victim],
    );
    const verification = await staged.verifyStaging();
    expect(verification.passed).toBe(false);
    expect(verification.summary.join('\n')).toMatch(/^FAIL vdb_entities/m);
    const report = readFileSync(verification.reportFile, 'utf8');
    expect(report).toContain(victim);
    const state = JSON.parse(readFileSync(path.join(dir, '.migration_state.json'), 'utf8')) as {
      phase: string;
      verification_passed: boolean;
    };
    expect(state).toMatchObject({ phase: 'verification_failed', verification_passed: false });
    await expect(staged.promote()).rejects.toThrow(
      /Promote needs a verified staging \(the job is at phase verification_failed\)/,
    );
    const production = await db.pool.query(
      `SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'lightrag_%'`,
    );
    expect(Number(production.rows[0].n)).toBe(0);
  });
});
