import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { parseConnectionString } from '../../core/connection';
import { SESSION_PREFIX, sessionName } from '../../core/postgres/sessions';
import { generateStore } from '../../core/source/generate';
import type { MigrationInput, MigrationResult, migrationWorkflow } from '../../workflows/migration';
import type { StatusReport } from '../../client/commands/control';
import { postgresWorkLines, type PostgresWork } from '../../client/postgresWork';
import { hybridrag, startCli } from '../helpers/cli';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';
import { expectExactMigration } from '../helpers/migrationCheck';
import { startWorkerProcess, until, type WorkerProcess } from '../helpers/workerProcess';

/**
 * kill -9 of the worker while PostgreSQL is inside one of the tool's long statements — a COPY batch,
 * CREATE INDEX, the verification's checksum query, the promote transaction. The kill is timed by
 * watching PostgreSQL itself (pg_stat_activity and pg_stat_progress_create_index, by the
 * step's application_name). A new worker must then finish at its first
 * attempt of that step: exact counts, no duplicate, verification passing, no backend of the job left.
 */
let connection: Connection;
let client: Client;
let store: string;
let other: string;
let counts: Record<string, number>;
const databases: ScratchDatabase[] = [];
const workers: WorkerProcess[] = [];

/** kv_store_text_chunks.json → text_chunks, vdb_chunks.json → vdb_chunks (the manifest's keys) */
const countKey = (file: string) => file.replace(/^kv_store_/, '').replace(/\.json$/, '');

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection, namespace: 'default' });
  const root = mkdtempSync(path.join(os.tmpdir(), 'kill-inside-'));
  // Big enough that the HNSW build and the promote's INSERT into indexed tables outlast a worker's
  // restart and the heartbeat timeout; small enough for 2 cores.
  store = path.join(root, 'store');
  const files = generateStore({ out: store, records: 3000, dim: 1536, seed: 19, chunkChars: 400 });
  counts = Object.fromEntries(files.filter((f) => f.name.endsWith('.json')).map((f) => [countKey(f.name), f.records]));
  other = path.join(root, 'other');
  generateStore({ out: other, records: 60, dim: 1536, seed: 20, chunkChars: 400 });
}, 120_000);
afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill9()));
  await Promise.all(databases.map((d) => d.drop()));
  await connection?.close();
});

interface KillPoint {
  name: string;
  step: string;
  /** a row while the statement runs ($1: a LIKE pattern of the step's application_name) */
  inside: string;
  /** production tables already hold another workspace (shared tables: attach, and graph rows moved) */
  otherWorkspace?: boolean;
}

const POINTS: KillPoint[] = [
  {
    name: 'during a COPY batch',
    step: 'load/vdb_chunks/',
    inside: `SELECT pid FROM pg_stat_activity
              WHERE application_name LIKE $1 AND state = 'active' AND query LIKE 'COPY%'`,
  },
  {
    name: 'during CREATE INDEX (HNSW)',
    step: 'indexes',
    inside: `SELECT a.pid FROM pg_stat_progress_create_index p JOIN pg_stat_activity a USING (pid)
              WHERE a.application_name LIKE $1 AND a.query ILIKE '%using hnsw%' AND a.query ILIKE '%vdb_chunks%'`,
  },
  {
    name: "during the verification's checksum query",
    step: 'verify',
    inside: `SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1 AND state = 'active'
              AND query LIKE '%FILTER (WHERE bad_dim)%' AND query ILIKE '%vdb_chunks%'`,
  },
  {
    name: 'during the promote transaction',
    step: 'promote',
    // vector tables now attach as partitions in milliseconds; the FK-linked graph tables still move
    // rows: any moment of the open transaction (it has written: backend_xid) is inside the promote
    inside: `SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1 AND backend_xid IS NOT NULL`,
    otherWorkspace: true,
  },
];

function migrationInput(dir: string, target: MigrationInput['job']['target'], jobId: string, workspace: string) {
  return {
    job: { jobId, databaseName: 'generated', databasePath: dir, target, workspace, layout: 'lightrag' as const },
    mode: 'staged' as const,
    batchSize: 500,
    batchesPerActivity: 1,
    skipVerify: false,
    parallelism: 2,
    collectionParallelism: 2,
    heartbeatTimeout: '3 seconds',
  } satisfies MigrationInput;
}

/** The highest attempt any activity of the workflow and its children needed. */
async function maxAttempt(workflowId: string, result: MigrationResult): Promise<number> {
  const ids = [workflowId, ...result.source.collections.map((c) => `${workflowId}/${c.collection}`)];
  let max = 1;
  for (const id of ids) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    for (const e of history.events ?? []) max = Math.max(max, e.activityTaskStartedEventAttributes?.attempt ?? 1);
  }
  return max;
}

/** Production tables holding another workspace's rows, so the promote works on shared tables. */
async function seedOtherWorkspace(target: MigrationInput['job']['target'], taskQueue: string): Promise<void> {
  await client.workflow.execute<typeof migrationWorkflow>('migrationWorkflow', {
    taskQueue,
    workflowId: `test-inside-other/${taskQueue}`,
    args: [migrationInput(copy(other), target, `job-other-${taskQueue}`, 'other')],
  });
}

/** Waits until PostgreSQL runs the point's statement for the step (named like `pattern`); its backend's pid. */
async function inside(db: ScratchDatabase, point: KillPoint, pattern: string): Promise<number> {
  const row = await until(
    async () => (await db.pool.query<{ pid: number }>(point.inside, [pattern])).rows[0],
    240_000,
    `PostgreSQL inside ${point.step}`,
    20,
  );
  return row.pid;
}

const alive = async (db: ScratchDatabase, pid: number) =>
  ((await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1`, [pid])).rowCount ?? 0) > 0;

/** No backend of this database's jobs is left, working or idle (polls: closing pools takes a moment). */
async function expectNoBackendLeft(db: ScratchDatabase): Promise<void> {
  await until(
    async () =>
      (
        await db.pool.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND starts_with(application_name, $1)`,
          [SESSION_PREFIX],
        )
      ).rowCount === 0,
    10_000,
    'no backend of the job',
  );
}

/**
 * Polls `backend status --json` until it reports the killed attempt's backend as left behind (its
 * attempt's heartbeat goes stale), or the backend is gone by itself ('gone').
 */
async function statusOfOrphan(
  dir: string,
  env: NodeJS.ProcessEnv,
  db: ScratchDatabase,
  pid: number,
): Promise<PostgresWork | 'gone'> {
  return until(
    async () => {
      const run = await hybridrag(['backend', 'status', '--path', dir, '--json'], env);
      const work = (JSON.parse(run.stdout) as StatusReport).postgres?.find((w) => w.pid === pid);
      if (work?.leftBehind) {
        const text = await hybridrag(['backend', 'status', '--path', dir], env);
        expect(text.stdout).toContain(`PostgreSQL: backend ${pid} left running by an earlier attempt on ${work.step}`);
        return work;
      }
      return (await alive(db, pid)) ? undefined : 'gone';
    },
    25_000,
    'backend status to show the backend left running',
    500,
  );
}

const report = (point: KillPoint, variant: string, facts: string) =>
  console.log(`[kill inside] ${variant}, ${point.name}: ${facts}`);

describe('kill -9 of the worker inside a long SQL statement; a new worker carries on', () => {
  for (const point of POINTS) {
    it(`${point.name}: the new worker stops the orphaned work and finishes exactly`, { timeout: 300_000 }, async () => {
      const db = await createScratchDatabase('fault_inside');
      databases.push(db);
      const { target, password } = parseConnectionString(db.url);
      const taskQueue = `inside-${Math.random().toString(16).slice(2, 10)}`;
      const worker = () =>
        startWorkerProcess({ temporalAddress: inject('temporalAddress'), taskQueue, password: password! }).then((w) => {
          workers.push(w);
          return w;
        });
      const first = await worker();
      if (point.otherWorkspace) await seedOtherWorkspace(target, taskQueue);
      const jobId = `job-${taskQueue}`;
      const input = migrationInput(copy(store), target, jobId, 'default');
      const handle = await client.workflow.start<typeof migrationWorkflow>('migrationWorkflow', {
        taskQueue,
        workflowId: `test-inside/${taskQueue}`,
        args: [input],
      });
      const pid = await inside(db, point, `${sessionName(jobId, point.step)}%`);
      await first.kill9();
      const killedAt = Date.now();
      const orphaned = await alive(db, pid);

      const second = await worker();
      const result = await handle.result();
      await second.stop();
      const seconds = ((Date.now() - killedAt) / 1000).toFixed(1);

      await expectExactMigration(db.pool, counts, input.job, result);
      // The killed step ran again and its first attempt after the kill succeeded: none needed a third.
      expect(await maxAttempt(handle.workflowId, result)).toBe(2);
      await expectNoBackendLeft(db);
      const stopped = /an earlier attempt of (\S+) was still running in PostgreSQL: .*? gone after (\d+) ms/.exec(
        second.output(),
      );
      report(
        point,
        'new worker',
        `backend ${pid} ${orphaned ? 'still running right after the kill' : 'already gone at the kill'}; ` +
          (stopped
            ? `the rerun found it by its application_name ${stopped[1]} and terminated it, gone after ${stopped[2]} ms`
            : 'the rerun found nothing left to stop') +
          `; finished ${seconds} s after the kill`,
      );
    });
  }
});

describe('kill -9 of the CLI (embedded worker) inside a long SQL statement; the same command run again finishes', () => {
  for (const point of POINTS) {
    it(`${point.name}: the first rerun succeeds`, { timeout: 300_000 }, async () => {
      const db = await createScratchDatabase('fault_inside_cli');
      databases.push(db);
      const { target, password } = parseConnectionString(db.url);
      if (point.otherWorkspace) {
        const taskQueue = `inside-${Math.random().toString(16).slice(2, 10)}`;
        const seeder = await startWorkerProcess({
          temporalAddress: inject('temporalAddress'),
          taskQueue,
          password: password!,
        });
        workers.push(seeder);
        await seedOtherWorkspace(target, taskQueue);
        await seeder.stop();
      }
      const dir = copy(store);
      const name = `inside-${Math.random().toString(16).slice(2, 10)}`;
      const home = mkdtempSync(path.join(os.tmpdir(), 'home-'));
      const args = ['backend', 'migrate', name, '--path', dir, '--staged', '-y', '--connection-string', db.url];
      const first = startCli([...args, '--batch-size', '500', '--worker', 'embedded'], { HOME: home });
      const pid = await inside(db, point, `${SESSION_PREFIX}%/${point.step}%`);
      await first.kill9();
      const killedAt = Date.now();
      const orphaned = await alive(db, pid);
      const shown = orphaned
        ? await statusOfOrphan(dir, { HOME: home, HYBRIDRAG_PG_PASSWORD: password! }, db, pid)
        : undefined;
      if (shown !== undefined && shown !== 'gone') expect(shown).toMatchObject({ pid, step: point.step });

      const rerun = await hybridrag([...args, '--worker', 'embedded'], { HOME: home });
      const seconds = ((Date.now() - killedAt) / 1000).toFixed(1);
      expect(rerun.stderr).toBe('');
      expect(rerun.code).toBe(0);
      expect(rerun.stdout).toContain('STAGED MIGRATION COMPLETED SUCCESSFULLY');
      const state = JSON.parse(readFileSync(path.join(dir, '.migration_state.json'), 'utf8')) as {
        job_id: string;
        workflow_id: string;
      };
      const result = await client.workflow.getHandle(state.workflow_id).result();
      const job = { ...migrationInput(dir, target, state.job_id, 'default').job, databaseName: name };
      await expectExactMigration(db.pool, counts, job, result as MigrationResult);
      await expectNoBackendLeft(db);
      report(
        point,
        'rerun CLI',
        `backend ${pid} ${orphaned ? 'still running right after the kill' : 'already gone at the kill'}; ` +
          (shown && shown !== 'gone' ? `backend status showed it: ${postgresWorkLines([shown])[0]}; ` : '') +
          `first rerun exit 0, ${seconds} s after the kill`,
      );
    });
  }
});

function copy(dir: string): string {
  const to = mkdtempSync(path.join(os.tmpdir(), 'kill-inside-db-'));
  cpSync(dir, to, { recursive: true });
  return to;
}
