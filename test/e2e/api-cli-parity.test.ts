import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { StagedMigration } from '../../index';
import { hybridrag } from '../helpers/cli';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';
import { copyFixture, manifestCounts, readManifest } from '../helpers/fixtures';

/**
 * The CLI and the programmatic API run jobs through one job service (client/job/): the same
 * scenario through both ends with the same state file, the same rows and the same refusals.
 */
const FIXTURE = 'Rahulagowda004__lightrag_implemented_chatbot__root';
const UNREACHABLE = 'postgresql://nobody:pw@127.0.0.1:1/none';

let db: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase('parity');
  process.env.TEMPORAL_ADDRESS = inject('temporalAddress');
});
afterAll(async () => {
  await db?.drop();
});

const stateOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, '.migration_state.json'), 'utf8'));

async function apiError(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the API call to be refused');
}

describe('the CLI and the API: one job service', () => {
  it('refuse an unreachable target in the same sentence, within seconds, before any backup or state is written', async () => {
    const cliDir = copyFixture(FIXTURE);
    const cli = await hybridrag(['backend', 'migrate', '--path', cliDir, '--staged', '-y'], {
      DATABASE_URL: UNREACHABLE,
    });
    expect(cli.code).toBe(1);
    const cliMessage = cli.stderr.trim().replace(/^error: /, '');
    expect(cliMessage).toMatch(/127\.0\.0\.1:1/);
    expect(cliMessage).not.toContain('pw@');

    const apiDir = copyFixture(FIXTURE);
    const started = Date.now();
    const message = await apiError(() =>
      new StagedMigration({
        databaseName: path.basename(apiDir),
        sourcePath: apiDir,
        targetConnection: UNREACHABLE,
        worker: 'embedded',
      }).prepare(),
    );
    expect(Date.now() - started).toBeLessThan(60_000); // it used to wait for ever
    expect(message).toBe(cliMessage.replace(path.basename(cliDir), path.basename(apiDir)));
    for (const dir of [cliDir, apiDir]) {
      expect(existsSync(path.join(dir, '.migration_state.json'))).toBe(false);
      expect(existsSync(path.join(dir, '.backups'))).toBe(false);
    }
  });

  it('refuse a rollback while the database migration runs, in the same sentence', async () => {
    const dir = copyFixture(FIXTURE);
    const name = path.basename(dir).toLowerCase(); // as the CLI names a --path folder
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    const client = new Client({ connection });
    const workflowId = `parity-running/${name}`;
    // A workflow on a queue no worker polls stays RUNNING: a migration that has not finished.
    const handle = await client.workflow.start('migrationWorkflow', {
      taskQueue: `parity-nobody-${name}`,
      workflowId,
      args: [],
    });
    try {
      writeFileSync(
        path.join(dir, '.migration_state.json'),
        JSON.stringify({
          phase: 'staged',
          backup_id: `${name}_20250101_000000`,
          staging_complete: true,
          verification_passed: false,
          promoted: false,
          errors: [],
          updated_at: '2025-01-01T00:00:00',
          job_id: 'job-20250101-000000-abcd',
          workflow_id: workflowId,
        }),
      );
      const cli = await hybridrag(['backend', 'migrate', '--path', dir, '--rollback', '20250101_000000', '-y'], {
        DATABASE_URL: db.url,
      });
      expect(cli.code).toBe(1);
      expect(cli.stderr).toMatch(/is still running; cancel it first/);
      const message = await apiError(() =>
        new StagedMigration({
          databaseName: name,
          sourcePath: dir,
          targetConnection: db.url,
          worker: 'embedded',
        }).rollback('20250101_000000'),
      );
      expect(message).toBe(
        cli.stderr
          .trim()
          .replace(/^error: /, '')
          .replace(`--path ${dir}`, name),
      );
    } finally {
      await handle.terminate('test over');
      await connection.close();
    }
  });

  it('carry on the same job with the batch size it began with, whichever end started it', async () => {
    const dir = copyFixture(FIXTURE);
    const name = path.basename(dir).toLowerCase(); // as the CLI names a --path folder
    const staged = new StagedMigration({
      databaseName: name,
      sourcePath: dir,
      targetConnection: db.url,
      worker: 'embedded',
      workspace: 'parity',
      batchSize: 5,
    });
    await staged.prepare();
    const first = stateOf(dir);
    expect(first).toMatchObject({ phase: 'prepared', batch_size: 5, workspace: 'parity' });

    const cli = await hybridrag(
      ['backend', 'migrate', '--path', dir, '--staged', '-y', '--workspace', 'parity', '--batch-size', '7', '--json'],
      { DATABASE_URL: db.url },
    );
    expect(cli.code, cli.stderr).toBe(0);
    const last = stateOf(dir);
    expect(last).toMatchObject({
      phase: 'promoted',
      job_id: first.job_id,
      backup_id: first.backup_id,
      workflow_id: first.workflow_id,
      batch_size: 5,
    });
    const expected = manifestCounts(readManifest().find((r) => r.local_folder === FIXTURE)!);
    const { rows } = await db.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM lightrag_doc_chunks WHERE workspace = 'parity'`,
    );
    expect(Number(rows[0]!.n)).toBe(expected.text_chunks);
  });
});
