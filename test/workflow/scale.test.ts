import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, it, inject } from 'vitest';
import { parseConnectionString } from '../../core/connection';
import { pauseSignal, progressQuery, resumeSignal } from '../../workflows/control';
import type { MigrationInput, migrationWorkflow } from '../../workflows/migration';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';
import { copyFixture } from '../helpers/fixtures';
import { expectExactMigration } from '../helpers/migrationCheck';
import { startWorkerProcess, until, type WorkerProcess } from '../helpers/workerProcess';

/** Continue-as-new with a tiny threshold, and two worker processes sharing one migration. */
const FIXTURE = 'Rajendk-AITech__LightRAG__rag_storage';
let connection: Connection;
let client: Client;
let db: ScratchDatabase;
/** the continue-as-new test's fixture has another dimension: a database of its own */
let canDb: ScratchDatabase;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  db = await createScratchDatabase('wf_scale');
  canDb = await createScratchDatabase('wf_can');
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection });
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await connection?.close();
  await db?.drop();
  await canDb?.drop();
});

const CAN_FIXTURE = 'kunj-10__HackRx-6.0__data';

function migration(
  jobId: string,
  workspace: string,
  batchSize: number,
  fixture = FIXTURE,
  target = db,
): MigrationInput {
  return {
    job: {
      jobId,
      databaseName: 'rajendk',
      databasePath: copyFixture(fixture),
      target: parseConnectionString(target.url).target,
      workspace,
      layout: 'lightrag',
    },
    mode: 'direct',
    batchSize,
    skipVerify: false,
    parallelism: 3,
    collectionParallelism: 3,
  };
}

async function runsOf(workflowId: string): Promise<number> {
  let n = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n += 1;
  return n;
}

describe.concurrent('many batches', () => {
  it(
    'with a continue-as-new every 3 batches, a migration of many batches is exact',
    { timeout: 240_000 },
    async ({ expect }) => {
      const taskQueue = `can-${Math.random().toString(16).slice(2, 10)}`;
      workers.push(
        await startWorkerProcess({
          temporalAddress: inject('temporalAddress'),
          taskQueue,
          password: parseConnectionString(canDb.url).password!,
        }),
      );
      const input = { ...migration('job-can', 'can', 1, CAN_FIXTURE, canDb), batchesPerRun: 3 };
      const handle = await client.workflow.start<typeof migrationWorkflow>('migrationWorkflow', {
        taskQueue,
        workflowId: `test-can/${taskQueue}`,
        args: [input],
      });
      const result = await handle.result();
      await expectExactMigration(canDb.pool, CAN_FIXTURE, input.job, result);
      const batches = result.source.collections.reduce((n, c) => n + c.batches, 0);
      expect(batches).toBeGreaterThanOrEqual(70);
      const edges = result.source.collections.find((c) => c.collection === 'vdb_relationships')!;
      expect(edges.batches).toBe(13);
      // 13 batches, 3 per run: 5 runs of the child, each continuing as new with the next batch index.
      const id = `${handle.workflowId}/vdb_relationships`;
      await until(async () => (await runsOf(id)) === 5, 10_000, '5 runs of the child in visibility');
      expect(result.progress.collections.find((c) => c.collection === 'vdb_relationships')).toMatchObject({
        batchesDone: 13,
        rowsDone: 13,
        state: 'done',
      });
    },
  );

  it(
    'a pause between continue-as-new runs loads each handed-back range once: rows and batches counted once',
    { timeout: 240_000 },
    async ({ expect }) => {
      const taskQueue = `requeue-${Math.random().toString(16).slice(2, 10)}`;
      // one slot and slow batches: of the ranges a run schedules, a pause finds some still queued and hands them back
      const env = { HYBRIDRAG_ACTIVITY_SLOTS: '1', HYBRIDRAG_TEST_BATCH_DELAY_MS: '400' };
      const password = parseConnectionString(canDb.url).password!;
      workers.push(await startWorkerProcess({ temporalAddress: inject('temporalAddress'), taskQueue, password, env }));
      const input: MigrationInput = {
        ...migration('job-requeue', 'requeue', 1, CAN_FIXTURE, canDb),
        batchesPerRun: 4,
        batchesPerActivity: 1,
        parallelism: 3,
        collectionParallelism: 1,
      };
      const handle = await client.workflow.start<typeof migrationWorkflow>('migrationWorkflow', {
        taskQueue,
        workflowId: `test-requeue/${taskQueue}`,
        args: [input],
      });
      const edgesDone = async () =>
        (await handle.query(progressQuery)).collections.find((c) => c.collection === 'vdb_relationships')
          ?.batchesDone ?? 0;
      await until(async () => (await edgesDone()) >= 1, 120_000, 'the first batch of vdb_relationships');
      await handle.signal(pauseSignal);
      await until(async () => !(await handle.query(progressQuery)).pausing, 60_000, 'the pause to settle');
      await handle.signal(resumeSignal);
      const result = await handle.result();
      await expectExactMigration(canDb.pool, CAN_FIXTURE, input.job, result);
      for (const c of result.progress.collections)
        expect(c, c.collection).toMatchObject({ batchesDone: c.batches, rowsDone: c.records, state: 'done' });
    },
  );

  it('two workers run one migration and both process batches', async ({ expect }) => {
    const taskQueue = `two-${Math.random().toString(16).slice(2, 10)}`;
    const env = { HYBRIDRAG_ACTIVITY_SLOTS: '2', HYBRIDRAG_TEST_BATCH_DELAY_MS: '100' };
    const password = parseConnectionString(db.url).password!;
    const [a, b] = await Promise.all([
      startWorkerProcess({ temporalAddress: inject('temporalAddress'), taskQueue, password, env }),
      startWorkerProcess({ temporalAddress: inject('temporalAddress'), taskQueue, password, env }),
    ]);
    workers.push(a, b);
    const input = migration('job-two', 'two', 4);
    const handle = await client.workflow.start<typeof migrationWorkflow>('migrationWorkflow', {
      taskQueue,
      workflowId: `test-two/${taskQueue}`,
      args: [input],
    });
    const result = await handle.result();
    await expectExactMigration(db.pool, FIXTURE, input.job, result);
    const identities = new Map<string, number>();
    for (const c of result.source.collections) {
      const { events } = await client.workflow.getHandle(`${handle.workflowId}/${c.collection}`).fetchHistory();
      for (const e of events!) {
        const who = e.activityTaskStartedEventAttributes?.identity;
        if (who) identities.set(who, (identities.get(who) ?? 0) + 1);
      }
    }
    expect([...identities.keys()].sort()).toEqual(
      [`${a.child.pid}@`, `${b.child.pid}@`].map((p) => [...identities.keys()].find((k) => k.startsWith(p))).sort(),
    );
    expect(identities.size).toBe(2);
    for (const n of identities.values()) expect(n).toBeGreaterThan(0);
  });
});
