import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { parseConnectionString } from '../../core/connection';
import type { backupOnlyWorkflow, rollbackWorkflow } from '../../workflows/backup';
import type { doctorWorkflow } from '../../workflows/doctor';
import { pauseSignal, resumeSignal, type MigrationInput, type migrationWorkflow } from '../../workflows/migration';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';
import { copyFixture } from '../helpers/fixtures';
import { TEMPORAL_BIN } from '../helpers/services';
import { connectTestTemporal, credentialsFor, type TestTemporal } from '../helpers/temporal';

/**
 * Histories of real runs of every workflow, kept in test/workflow/histories/*.json, replayed
 * against the current workflow bundle: a change that breaks determinism for running
 * workflows fails here. Record them again (after an intended change, docs/versioning.md) with
 *   npm run build && HYBRIDRAG_RECORD_HISTORIES=1 npx vitest run test/workflow/replay.test.ts
 * Once a version is released, copy its histories to v1-*.json (v2-…) first, with their ids in
 * workflow-ids.txt: they are replayed too, until the patch that kept their code path is removed.
 */
const HISTORIES = path.join(__dirname, 'histories');

/**
 * The CLI's JSON history as a History message. Not `historyFromJSON` of @temporalio/common: in this
 * install npm placed two copies of protobufjs 8.8.1 (under @temporalio/common and under
 * @temporalio/proto), so common's protojson rejects proto's types ("type must be a Type"). The
 * protojson of @temporalio/proto's own protobufjs reads the same JSON.
 */
const protoRequire = createRequire(require.resolve('@temporalio/proto'));
const { fromJson } = protoRequire('protobufjs/ext/protojson') as {
  fromJson(type: unknown, json: unknown, options?: unknown): unknown;
};
const historyType = (
  patchProtobufRoot(protoRequire('@temporalio/proto')) as unknown as { lookupType(name: string): unknown }
).lookupType('temporal.api.history.v1.History');
function readHistory(file: string): unknown {
  return fromJson(historyType, JSON.parse(readFileSync(file, 'utf8')), { ignoreUnknownFields: true });
}
const RECORD = process.env.HYBRIDRAG_RECORD_HISTORIES === '1';

describe('replay of recorded histories', () => {
  it('replays every recorded history against the current bundle without a determinism error', async () => {
    const ids = JSON.parse(readFileSync(path.join(HISTORIES, 'workflow-ids.txt'), 'utf8')) as Record<string, string>;
    const files = readdirSync(HISTORIES)
      .filter((f) => f.endsWith('.json'))
      .sort();
    expect(files).toEqual(
      expect.arrayContaining([
        'backup-only.json',
        'collection-continued.json',
        'collection-last-run.json',
        'doctor.json',
        'migration-direct.json',
        'migration-staged.json',
        'rollback.json',
      ]),
    );
    const histories = files.map((f) => ({ workflowId: ids[f] ?? f, history: readHistory(path.join(HISTORIES, f)) }));
    const failures: string[] = [];
    for await (const r of Worker.runReplayHistories(
      { workflowBundle: { codePath: inject('workflowBundlePath') } },
      histories,
    )) {
      if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
    }
    expect(failures).toEqual([]);
  });
});

describe.skipIf(!RECORD)('recording the histories (HYBRIDRAG_RECORD_HISTORIES=1)', () => {
  let temporal: TestTemporal;
  let db: ScratchDatabase;
  beforeAll(async () => {
    db = await createScratchDatabase('wf_record');
    temporal = await connectTestTemporal(credentialsFor(db.url));
  });
  afterAll(async () => {
    await temporal?.close();
    await db?.drop();
  });

  /** The history as the temporal CLI exports it (the JSON `historyFromJSON` reads). */
  async function save(name: string, handle: WorkflowHandle, runId?: string): Promise<void> {
    const args = [
      'workflow',
      'show',
      '--address',
      inject('temporalAddress'),
      '--output',
      'json',
      '--workflow-id',
      handle.workflowId,
      ...(runId ? ['--run-id', runId] : []),
    ];
    const out = spawnSync(TEMPORAL_BIN, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (out.status !== 0) throw new Error(out.stderr);
    mkdirSync(HISTORIES, { recursive: true });
    writeFileSync(path.join(HISTORIES, `${name}.json`), out.stdout);
    // Child ids derive from the parent's id: a replay needs the original workflow id.
    recorded[`${name}.json`] = handle.workflowId;
    writeFileSync(path.join(HISTORIES, 'workflow-ids.txt'), `${JSON.stringify(recorded, null, 1)}\n`);
  }
  // Histories of released versions (v1-*.json, …), if any, keep their ids and keep being replayed.
  const recorded: Record<string, string> = JSON.parse(
    readFileSync(path.join(HISTORIES, 'workflow-ids.txt'), 'utf8'),
  ) as Record<string, string>;

  it('records doctor, migration (staged with pause/resume and continue-as-new, direct), collection, backup-only and rollback', async () => {
    const { target } = parseConnectionString(db.url);
    const q = temporal.taskQueue;
    const doctor = await temporal.client.workflow.start<typeof doctorWorkflow>('doctorWorkflow', {
      taskQueue: q,
      workflowId: `record-doctor-${q}`,
      args: [{ target }],
    });
    await doctor.result();
    await save('doctor', doctor);

    const fixture = 'kunj-10__HackRx-6.0__data';
    const dir = copyFixture(fixture);
    const staged: MigrationInput = {
      job: {
        jobId: 'job-record-staged',
        databaseName: 'hackrx',
        databasePath: dir,
        target,
        workspace: 'staged',
        layout: 'lightrag',
      },
      mode: 'staged',
      batchSize: 2,
      skipVerify: false,
      parallelism: 2,
      collectionParallelism: 2,
      batchesPerRun: 2,
    };
    const handle = await temporal.client.workflow.start<typeof migrationWorkflow>('migrationWorkflow', {
      taskQueue: q,
      workflowId: `record-staged-${q}`,
      args: [staged],
    });
    await handle.signal(pauseSignal);
    await new Promise((r) => setTimeout(r, 1500));
    await handle.signal(resumeSignal);
    const result = await handle.result();
    expect(result.outcome).toBe('promoted');
    await save('migration-staged', handle);
    const childId = `${handle.workflowId}/vdb_entities`;
    const runs: string[] = [];
    for await (const w of temporal.client.workflow.list({ query: `WorkflowId = '${childId}'` })) runs.push(w.runId);
    const child = temporal.client.workflow.getHandle(childId);
    const { events } = await child.fetchHistory();
    const firstRun = events![0]!.workflowExecutionStartedEventAttributes?.firstExecutionRunId ?? undefined;
    await save('collection-last-run', child);
    if (firstRun) await save('collection-continued', child, firstRun);

    const direct = await temporal.client.workflow.start<typeof migrationWorkflow>('migrationWorkflow', {
      taskQueue: q,
      workflowId: `record-direct-${q}`,
      args: [
        {
          ...staged,
          job: { ...staged.job, jobId: 'job-record-direct', databasePath: copyFixture(fixture), workspace: 'direct' },
          mode: 'direct',
          batchesPerRun: undefined,
        },
      ],
    });
    expect((await direct.result()).outcome).toBe('promoted');
    await save('migration-direct', direct);

    const backup = await temporal.client.workflow.start<typeof backupOnlyWorkflow>('backupOnlyWorkflow', {
      taskQueue: q,
      workflowId: `record-backup-${q}`,
      args: [{ databasePath: copyFixture(fixture), databaseName: 'hackrx' }],
    });
    await backup.result();
    await save('backup-only', backup);

    const rollback = await temporal.client.workflow.start<typeof rollbackWorkflow>('rollbackWorkflow', {
      taskQueue: q,
      workflowId: `record-rollback-${q}`,
      args: [
        {
          databasePath: dir,
          databaseName: 'hackrx',
          backupId: result.backupId!,
          target: { job: staged.job, dimension: result.source.dimension },
          jobId: staged.job.jobId,
        },
      ],
    });
    expect((await rollback.result()).postgresRolledBack).toBe(true);
    await save('rollback', rollback);
    expect(runs.length).toBeGreaterThan(1);
  });
});
