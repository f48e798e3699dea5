import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { DatabaseBackup, MigrationVerifier, StagedMigration } from '../../index';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';
import { copyFixture, manifestCounts, readManifest } from '../helpers/fixtures';

let db: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase('api_staged');
  process.env.TEMPORAL_ADDRESS = inject('temporalAddress');
});
afterAll(async () => {
  await db?.drop();
});

const FIXTURE = 'Rahulagowda004__lightrag_implemented_chatbot__root';

// The programmatic API alone (the package's exports), with a worker embedded in this process.
describe('StagedMigration through the programmatic API', () => {
  it('runs prepare → migrateToStaging → verifyStaging → promote, then rolls back', async () => {
    const dir = copyFixture(FIXTURE);
    const staged = new StagedMigration({
      databaseName: 'chatbot',
      sourcePath: dir,
      targetConnection: db.url,
      worker: 'embedded',
      batchSize: 5,
    });

    const { backupId } = await staged.prepare();
    expect(backupId).toMatch(/^chatbot_\d{8}_\d{6}$/);
    expect(JSON.parse(readFileSync(path.join(dir, '.migration_state.json'), 'utf8')).phase).toBe('prepared');
    expect((await new DatabaseBackup('chatbot', dir).listBackups()).map((b) => b.id)).toEqual([backupId]);

    const staging = await staged.migrateToStaging();
    expect(staging.outcome).toBe('stopped');
    expect(JSON.parse(readFileSync(path.join(dir, '.migration_state.json'), 'utf8')).phase).toBe('staged');
    const tables = async () =>
      (
        await db.pool.query(
          `SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'lightrag_%'`,
        )
      ).rows[0].n;
    expect(Number(await tables())).toBe(0); // nothing in production before promote

    const verification = await staged.verifyStaging();
    expect(verification.passed).toBe(true);
    expect(existsSync(verification.reportFile)).toBe(true);

    const promoted = await staged.promote();
    expect(promoted.outcome).toBe('promoted');
    const expected = manifestCounts(readManifest().find((r) => r.local_folder === FIXTURE)!);
    const { rows } = await db.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM lightrag_vdb_entity WHERE workspace = 'default'`,
    );
    expect(Number(rows[0]!.n)).toBe(expected.vdb_entities);

    const report = await new MigrationVerifier({
      databaseName: 'chatbot',
      sourcePath: dir,
      targetConnection: db.url,
      batchSize: 5,
    }).verify();
    expect(report.passed).toBe(true);

    const rolledBack = await staged.rollback();
    expect(rolledBack.postgresRolledBack).toBe(true);
    expect(Number(await tables())).toBe(0);
    expect(JSON.parse(readFileSync(path.join(dir, '.migration_state.json'), 'utf8')).phase).toBe('rolled_back');
  });

  it('refuses to promote what was not verified', async () => {
    const dir = copyFixture(FIXTURE);
    const staged = new StagedMigration({
      databaseName: 'chatbot',
      sourcePath: dir,
      targetConnection: db.url,
      worker: 'embedded',
      workspace: 'other',
    });
    await expect(staged.promote()).rejects.toThrow(/Promote needs a verified staging \(the job is at phase initial\)/);
  });
});
