import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { parseConnectionString } from '../../core/connection';
import type { MigrationInput, migrationWorkflow } from '../../workflows/migration';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';
import { copyFixture } from '../helpers/fixtures';
import { expectExactMigration } from '../helpers/migrationCheck';
import { startWorkerProcess, until, type WorkerProcess } from '../helpers/workerProcess';

/**
 * kill -9 of the worker process at five points of a staged migration; each time a new worker
 * process finishes the job exactly. The point is hit deterministically by the worker's
 * HYBRIDRAG_TEST_HANG hook (test/helpers/testHooks.ts): the chosen activity call writes a marker and
 * hangs; the test sees the marker and kills the process.
 */
const FIXTURE = 'kunj-10__HackRx-6.0__data';
let connection: Connection;
let client: Client;
const databases: ScratchDatabase[] = [];
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection, namespace: 'default' });
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill9()));
  await Promise.all(databases.map((d) => d.drop()));
  await connection?.close();
});

const POINTS = [
  { name: 'during backup', hang: 'backupDatabase' },
  { name: 'mid-collection (6th load activity)', hang: 'loadBatchRange:6' },
  { name: 'during index build (indexes built, result not reported)', hang: 'buildIndexes:1:after' },
  { name: 'between verify and promote', hang: 'promote' },
  { name: 'during promote (committed, result not reported)', hang: 'promote:1:after' },
];

describe.concurrent('kill -9 of the worker during a staged migration', () => {
  for (const point of POINTS) {
    it(`${point.name}: a new worker finishes with exact counts and checksums`, { timeout: 240_000 }, async () => {
      const db = await createScratchDatabase('fault_kill');
      databases.push(db);
      const { target, password } = parseConnectionString(db.url);
      const taskQueue = `kill-${Math.random().toString(16).slice(2, 10)}`;
      const marker = path.join(mkdtempSync(path.join(os.tmpdir(), 'hang-')), 'hit.json');
      const dir = copyFixture(FIXTURE);
      const job = {
        jobId: `job-kill-${taskQueue}`,
        databaseName: 'hackrx',
        databasePath: dir,
        target,
        workspace: 'default',
        layout: 'lightrag' as const,
      };
      const input: MigrationInput = {
        job,
        mode: 'staged',
        batchSize: 3,
        batchesPerActivity: 2,
        skipVerify: false,
        parallelism: 2,
        collectionParallelism: 3,
        heartbeatTimeout: '3 seconds',
      };

      const first = await startWorkerProcess({
        temporalAddress: inject('temporalAddress'),
        taskQueue,
        password: password!,
        env: { HYBRIDRAG_TEST_HANG: point.hang, HYBRIDRAG_TEST_HANG_MARKER: marker },
      });
      workers.push(first);
      const handle = await client.workflow.start<typeof migrationWorkflow>('migrationWorkflow', {
        taskQueue,
        workflowId: `test-kill/${taskQueue}`,
        args: [input],
      });
      await until(() => existsSync(marker), 150_000, `the ${point.hang} hook`);
      await first.kill9();
      expect(first.child.signalCode).toBe('SIGKILL');

      const second = await startWorkerProcess({
        temporalAddress: inject('temporalAddress'),
        taskQueue,
        password: password!,
      });
      workers.push(second);
      const result = await handle.result();
      await second.stop();
      await expectExactMigration(db.pool, FIXTURE, job, result);
      // The activity the first worker was killed in ran again on the second.
      const ids = [handle.workflowId, ...result.source.collections.map((c) => `${handle.workflowId}/${c.collection}`)];
      let retried = 0;
      for (const id of ids) {
        const history = await client.workflow.getHandle(id).fetchHistory();
        retried += history.events!.filter(
          (e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1,
        ).length;
      }
      expect(retried).toBeGreaterThan(0);
    });
  }
});
