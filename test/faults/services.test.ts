import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, describe, expect, it, inject } from 'vitest';
import { parseConnectionString } from '../../core/connection';
import type { MigrationInput, migrationWorkflow } from '../../workflows/migration';
import { progressQuery } from '../../workflows/migration';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';
import { copyFixture } from '../helpers/fixtures';
import { expectExactMigration } from '../helpers/migrationCheck';
import { PrivatePostgres, PrivateTemporal } from '../helpers/services';
import { startWorkerProcess, until, type WorkerProcess } from '../helpers/workerProcess';

/**
 * The services go away mid-migration: the Temporal dev server restarts (same SQLite file), or
 * PostgreSQL is down for 20 seconds. Each test uses a private server of its own, never the shared
 * ones. Workers run as separate processes; every batch waits 250 ms (HYBRIDRAG_TEST_BATCH_DELAY_MS)
 * so the fault lands mid-collection.
 */
const FIXTURE = 'Rajendk-AITech__LightRAG__rag_storage';
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

function migration(dir: string, url: string, jobId: string): MigrationInput {
  const { target } = parseConnectionString(url);
  return {
    job: { jobId, databaseName: 'rajendk', databasePath: dir, target, workspace: 'default', layout: 'lightrag' },
    mode: 'direct',
    batchSize: 4,
    skipVerify: false,
    parallelism: 2,
    collectionParallelism: 2,
    heartbeatTimeout: '5 seconds',
  };
}

describe.concurrent('services restart mid-migration', () => {
  it('the Temporal dev server restarts (same SQLite file): the migration finishes', async () => {
    const temporal = await PrivateTemporal.start();
    cleanups.push(() => temporal.close());
    const db: ScratchDatabase = await createScratchDatabase('fault_temporal');
    cleanups.push(() => db.drop());
    const taskQueue = 'restart';
    const worker: WorkerProcess = await startWorkerProcess({
      temporalAddress: temporal.address,
      taskQueue,
      password: parseConnectionString(db.url).password!,
      env: { HYBRIDRAG_TEST_BATCH_DELAY_MS: '250' },
    });
    cleanups.push(() => worker.kill9());
    const input = migration(copyFixture(FIXTURE), db.url, 'job-temporal-restart');

    let connection = await Connection.connect({ address: temporal.address });
    let client = new Client({ connection });
    const handle = await client.workflow.start<typeof migrationWorkflow>('migrationWorkflow', {
      taskQueue,
      workflowId: 'migrate/restart',
      args: [input],
    });
    const before = await until(
      async () => {
        const p = await handle.query(progressQuery);
        return p.rowsDone > 0 ? p : undefined;
      },
      60_000,
      'the first batches',
    );
    await connection.close();

    await temporal.stopServer();
    await new Promise((r) => setTimeout(r, 3000));
    await temporal.startServer();

    connection = await Connection.connect({ address: temporal.address });
    cleanups.push(() => connection.close());
    client = new Client({ connection });
    const result = await client.workflow.getHandle<typeof migrationWorkflow>('migrate/restart').result();
    expect(before.rowsDone).toBeLessThan(before.rowsTotal);
    await expectExactMigration(db.pool, FIXTURE, input.job, result);
    // The worker process lived through the restart: it is the one that finished the job.
    expect(worker.child.exitCode).toBeNull();
  });

  it('PostgreSQL is down for 20 seconds: activities retry and the migration finishes', async () => {
    const cluster = await PrivatePostgres.create();
    cleanups.push(() => cluster.destroy());
    const taskQueue = `pg-outage-${Math.random().toString(16).slice(2, 10)}`;
    const worker = await startWorkerProcess({
      temporalAddress: inject('temporalAddress'),
      taskQueue,
      password: cluster.password,
      env: { HYBRIDRAG_TEST_BATCH_DELAY_MS: '250' },
    });
    cleanups.push(() => worker.kill9());
    const input = migration(copyFixture(FIXTURE), cluster.url, 'job-pg-outage');
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    cleanups.push(() => connection.close());
    const client = new Client({ connection });
    const handle = await client.workflow.start<typeof migrationWorkflow>('migrationWorkflow', {
      taskQueue,
      workflowId: `test-pg-outage/${taskQueue}`,
      args: [input],
    });
    const before = await until(
      async () => {
        const p = await handle.query(progressQuery);
        return p.rowsDone > 0 ? p : undefined;
      },
      60_000,
      'the first batches',
    );

    await cluster.stop();
    await new Promise((r) => setTimeout(r, 20_000));
    await cluster.start();

    const result = await handle.result();
    expect(before.rowsDone).toBeLessThan(before.rowsTotal);
    const pool = new pg.Pool({ connectionString: cluster.url, max: 2 });
    try {
      await expectExactMigration(pool, FIXTURE, input.job, result);
    } finally {
      await pool.end();
    }
    // Batches failed while PostgreSQL was down and were retried.
    let retried = 0;
    for (const c of result.source.collections) {
      const history = await client.workflow.getHandle(`${handle.workflowId}/${c.collection}`).fetchHistory();
      retried += history.events!.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1).length;
    }
    expect(retried).toBeGreaterThan(0);
  }, 180_000);
});
