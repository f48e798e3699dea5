import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { parseConnectionString } from '../../core/connection';
import { markerTable } from '../../core/postgres';
import { targetPlanOf } from '../../activities/targetPlan';
import {
  cancelSignal,
  pauseSignal,
  progressQuery,
  resumeSignal,
  type MigrationInput,
  type migrationWorkflow,
} from '../../workflows/migration';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';
import { copyFixture } from '../helpers/fixtures';
import { expectExactMigration } from '../helpers/migrationCheck';
import { historyText } from '../helpers/temporal';
import { startWorkerProcess, until, type WorkerProcess } from '../helpers/workerProcess';

/**
 * Pause, resume and cancel of a running migration; every batch waits 150 ms so there is time to
 * act, and the worker runs one activity at a time, so the load activities scheduled at once (two
 * collections × parallelism 2) queue behind it.
 */
const FIXTURE = 'Rajendk-AITech__LightRAG__rag_storage';
let connection: Connection;
let client: Client;
let worker: WorkerProcess;
let db: ScratchDatabase;
const taskQueue = `control-${Math.random().toString(16).slice(2, 10)}`;

beforeAll(async () => {
  db = await createScratchDatabase('wf_control');
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection });
  worker = await startWorkerProcess({
    temporalAddress: inject('temporalAddress'),
    taskQueue,
    password: parseConnectionString(db.url).password!,
    env: { HYBRIDRAG_TEST_BATCH_DELAY_MS: '150', HYBRIDRAG_ACTIVITY_SLOTS: '1' },
  });
});
afterAll(async () => {
  await worker?.stop();
  await connection?.close();
  await db?.drop();
});

function migration(dir: string, jobId: string, workspace: string): MigrationInput {
  return {
    job: {
      jobId,
      databaseName: 'rajendk',
      databasePath: dir,
      target: parseConnectionString(db.url).target,
      workspace,
      layout: 'lightrag',
    },
    mode: 'direct',
    batchSize: 3,
    // ranges of two batches: a small fixture would otherwise be one activity per collection
    batchesPerActivity: 2,
    skipVerify: false,
    parallelism: 2,
    collectionParallelism: 2,
    heartbeatTimeout: '10 seconds',
  };
}

const batchesDone = async (h: WorkflowHandle) =>
  (await h.query(progressQuery)).collections.reduce((n, c) => n + c.batchesDone, 0);

/** Events of a collection child's history after its first `signalName` signal. */
async function childEventsAfterSignal(childId: string, signalName: string) {
  const { events } = await client.workflow.getHandle(childId).fetchHistory();
  const at = events!.findIndex((e) => e.workflowExecutionSignaledEventAttributes?.signalName === signalName);
  return at < 0 ? undefined : events!.slice(at + 1);
}

describe('pause, resume, cancel', () => {
  it('pause cancels the queued load activities, lets the running one finish, says when nothing runs; resume loads the rest exactly once', async () => {
    const input = migration(copyFixture(FIXTURE), 'job-control-pause', 'pause');
    const handle = await client.workflow.start<typeof migrationWorkflow>('migrationWorkflow', {
      taskQueue,
      workflowId: `test-pause/${taskQueue}`,
      args: [input],
    });
    // Pause while a large collection is mid-way: it has `parallelism` load activities scheduled and
    // the one slot runs at most one of them, so at least one is queued.
    const midWay = (c: { state: string; batches: number; batchesDone: number }) =>
      c.state === 'loading' && c.batchesDone >= 2 && c.batches - c.batchesDone >= 4 * input.batchesPerActivity!;
    await until(
      async () => (await handle.query(progressQuery)).collections.some(midWay),
      60_000,
      'a large collection mid-way',
    );
    const p = await handle.query(progressQuery);
    await handle.signal(pauseSignal);
    // One slot: one load activity runs (≤ 300 ms of work); the queued ones are cancelled.
    await until(async () => !(await handle.query(progressQuery)).pausing, 10_000, 'the pause to settle');
    const settled = await handle.query(progressQuery);
    expect(settled.paused).toBe(true);
    expect(settled.rowsDone).toBeLessThan(settled.rowsTotal);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await batchesDone(handle)).toBe(settled.collections.reduce((n, c) => n + c.batchesDone, 0));
    // In every child that got the pause: nothing scheduled after it, at most the one running
    // activity completed, and the queued ones were cancelled.
    let pausedChildren = 0;
    let cancelledActivities = 0;
    for (const c of p.collections) {
      const after = await childEventsAfterSignal(`${handle.workflowId}/${c.collection}`, 'pause').catch(
        () => undefined,
      );
      if (!after) continue;
      pausedChildren += 1;
      expect(after.filter((e) => e.activityTaskScheduledEventAttributes).length).toBe(0);
      expect(after.filter((e) => e.activityTaskCompletedEventAttributes).length).toBeLessThanOrEqual(1);
      cancelledActivities += after.filter((e) => e.activityTaskCanceledEventAttributes).length;
    }
    expect(pausedChildren).toBeGreaterThan(0);
    expect(cancelledActivities).toBeGreaterThan(0);
    await handle.signal(resumeSignal);
    const result = await handle.result();
    await expectExactMigration(db.pool, FIXTURE, input.job, result);
    // the cancelled ranges were loaded after the resume, and counted once
    expect(result.progress.rowsDone).toBe(result.progress.rowsTotal);
    for (const c of result.progress.collections)
      expect(c).toMatchObject({ batchesDone: c.batches, rowsDone: c.records, state: 'done' });
    // the pause's cancellations replay deterministically (what a worker restart or cache eviction does)
    const histories = [
      handle.workflowId,
      ...result.source.collections.map((c) => `${handle.workflowId}/${c.collection}`),
    ];
    const replayed = Worker.runReplayHistories(
      { workflowBundle: { codePath: inject('workflowBundlePath') } },
      (async function* () {
        for (const workflowId of histories)
          yield { workflowId, history: await client.workflow.getHandle(workflowId).fetchHistory() };
      })(),
    );
    const failures: string[] = [];
    for await (const r of replayed) if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
    expect(failures).toEqual([]);
  });

  it('cancel stops the job resumable, the state file says so, and a rerun of the job finishes it', async () => {
    const dir = copyFixture(FIXTURE);
    const input = migration(dir, 'job-control-cancel', 'cancel');
    const handle = await client.workflow.start<typeof migrationWorkflow>('migrationWorkflow', {
      taskQueue,
      workflowId: `test-cancel/${taskQueue}`,
      args: [input],
    });
    await until(async () => (await batchesDone(handle)) >= 3, 60_000, 'three batches');
    await handle.signal(cancelSignal);
    const cancelled = await handle.result();
    expect(cancelled.outcome).toBe('cancelled');
    expect(cancelled.progress.rowsDone).toBeLessThan(cancelled.progress.rowsTotal);
    const state = JSON.parse(readFileSync(path.join(dir, '.migration_state.json'), 'utf8')) as {
      phase: string;
      errors: string[];
      staging_complete: boolean;
      job_id: string;
    };
    expect(state).toMatchObject({ phase: 'cancelled', staging_complete: false, job_id: 'job-control-cancel' });
    expect(state.errors.join(' ')).toMatch(/staging is kept.*resume/);
    // Staging is kept: the batches done so far are marked loaded.
    const plan = targetPlanOf({ job: input.job, dimension: cancelled.source.dimension });
    const { rows } = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${markerTable(plan)}`);
    const kept = Number(rows[0]!.n);
    expect(kept).toBeGreaterThan(0);

    // The same job again: kept batches are not loaded twice, the rest is, and the result is exact.
    const rerun = await client.workflow.start<typeof migrationWorkflow>('migrationWorkflow', {
      taskQueue,
      workflowId: `test-cancel-rerun/${taskQueue}`,
      args: [input],
    });
    const result = await rerun.result();
    await expectExactMigration(db.pool, FIXTURE, input.job, result);
    let alreadyLoaded = 0;
    for (const c of result.source.collections) {
      const text = historyText(await client.workflow.getHandle(`${rerun.workflowId}/${c.collection}`).fetchHistory());
      for (const m of text.matchAll(/"alreadyLoaded":(\d+)/g)) alreadyLoaded += Number(m[1]);
    }
    expect(alreadyLoaded).toBe(kept);
  });
});

describe('pause and cancel between phases', () => {
  // verification takes 5 s more here, so there is time to pause and cancel during it
  let stepWorker: WorkerProcess;
  const stepQueue = `steps-${Math.random().toString(16).slice(2, 10)}`;
  beforeAll(async () => {
    stepWorker = await startWorkerProcess({
      temporalAddress: inject('temporalAddress'),
      taskQueue: stepQueue,
      password: parseConnectionString(db.url).password!,
      env: { HYBRIDRAG_TEST_STEP_DELAY: 'verifyStaging:5000' },
    });
  });
  afterAll(async () => {
    await stepWorker?.stop();
  });
  const productionRows = async (workspace: string) => {
    const exists = await db.pool.query<{ t: string | null }>(`SELECT to_regclass('lightrag_doc_chunks')::text AS t`);
    if (!exists.rows[0]!.t) return 0;
    return Number(
      (
        await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM lightrag_doc_chunks WHERE workspace = $1`, [
          workspace,
        ])
      ).rows[0]!.n,
    );
  };

  it('a pause during verification holds the job before promote; a cancel then stops it with nothing promoted; the job run again promotes exactly', async () => {
    const dir = copyFixture(FIXTURE);
    const input = migration(dir, 'job-control-phases', 'phases');
    const handle = await client.workflow.start<typeof migrationWorkflow>('migrationWorkflow', {
      taskQueue: stepQueue,
      workflowId: `test-phases/${stepQueue}`,
      args: [input],
    });
    await until(async () => (await handle.query(progressQuery)).step.includes('verifying'), 60_000, 'the verification');
    await handle.signal(pauseSignal);
    // the verification is running: pausing until it ends, then paused before promote
    const first = await until(
      async () => {
        const p = await handle.query(progressQuery);
        return p.paused ? p : undefined;
      },
      10_000,
      'the pause',
    );
    expect(first.pausing).toBe(true);
    await until(async () => !(await handle.query(progressQuery)).pausing, 30_000, 'the verification to end');
    await new Promise((r) => setTimeout(r, 1500));
    const held = await handle.query(progressQuery);
    expect(held).toMatchObject({ phase: 'verified', paused: true, pausing: false });
    expect(await productionRows('phases')).toBe(0);

    await handle.signal(cancelSignal);
    const result = await handle.result();
    expect(result.outcome).toBe('cancelled');
    expect(result.verification?.passed).toBe(true);
    expect(await productionRows('phases')).toBe(0);
    const state = JSON.parse(readFileSync(path.join(dir, '.migration_state.json'), 'utf8')) as {
      phase: string;
      promoted: boolean;
    };
    expect(state).toMatchObject({ phase: 'cancelled', promoted: false });

    const rerun = await client.workflow.start<typeof migrationWorkflow>('migrationWorkflow', {
      taskQueue: stepQueue,
      workflowId: `test-phases-rerun/${stepQueue}`,
      args: [input],
    });
    const done = await rerun.result();
    expect(done.outcome).toBe('promoted');
    await expectExactMigration(db.pool, FIXTURE, input.job, done);
  });
});

describe('a pause, then the worker dies', () => {
  // Aims at a load activity the worker has started when the pause asks to cancel it (Temporal does
  // not retry such an activity once it times out, so the workflow hands the range back instead of
  // failing). The timing does not always produce that case — the same test passes without the
  // hand-back — so it proves the fault path end to end, not that line.
  it('a new worker and a resume finish the job exactly', { timeout: 180_000 }, async () => {
    const queue = `pausekill-${Math.random().toString(16).slice(2, 10)}`;
    const password = parseConnectionString(db.url).password!;
    const slow = await startWorkerProcess({
      temporalAddress: inject('temporalAddress'),
      taskQueue: queue,
      password,
      env: { HYBRIDRAG_TEST_BATCH_DELAY_MS: '1000', HYBRIDRAG_ACTIVITY_SLOTS: '1' },
    });
    let second: WorkerProcess | undefined;
    try {
      const input = migration(copyFixture(FIXTURE), 'job-control-pausekill', 'pausekill');
      const handle = await client.workflow.start<typeof migrationWorkflow>('migrationWorkflow', {
        taskQueue: queue,
        workflowId: `test-pausekill/${queue}`,
        args: [input],
      });
      // wait for a load activity the worker has started (one slot, 2 s per range)
      const collections = (
        await until(
          async () =>
            (await handle.query(progressQuery)).collections.length > 0 &&
            (await handle.query(progressQuery)).collections,
          60_000,
          'planning',
        )
      ).map((c) => c.collection);
      await until(
        async () => {
          for (const c of collections) {
            const child = await client.workflow
              .getHandle(`${handle.workflowId}/${c}`)
              .describe()
              .catch(() => undefined);
            if (
              child?.raw.pendingActivities?.some(
                (a) => String(a.state) === 'PENDING_ACTIVITY_STATE_STARTED' || a.state === 2,
              )
            )
              return true;
          }
          return false;
        },
        60_000,
        'a started load activity',
        50,
      );
      await handle.signal(pauseSignal);
      await until(async () => (await handle.query(progressQuery)).paused, 10_000, 'the pause');
      await slow.kill9();
      second = await startWorkerProcess({ temporalAddress: inject('temporalAddress'), taskQueue: queue, password });
      // a range of the dead worker times out (heartbeat timeout 10 s) or was cancelled unstarted: handed back
      await until(async () => !(await handle.query(progressQuery)).pausing, 60_000, 'the pause to settle');
      await handle.signal(resumeSignal);
      const result = await handle.result();
      expect(result.outcome).toBe('promoted');
      await expectExactMigration(db.pool, FIXTURE, input.job, result);
    } finally {
      await slow.stop().catch(() => undefined);
      await second?.stop();
    }
  });
});
