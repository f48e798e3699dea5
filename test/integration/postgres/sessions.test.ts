import { spawnSync } from 'node:child_process';
import os from 'node:os';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresWorkLines, postgresWorkOf } from '../../../client/postgresWork';
import { describeTarget, parseConnectionString } from '../../../core/connection';
import { CredentialStore } from '../../../core/credentials';
import type { MigrationState } from '../../../core/state/stateFile';
import { usableIndexExists } from '../../../core/postgres/indexes';
import { findOrphans, namedPool, sessionName, stopOrphans } from '../../../core/postgres/sessions';
import { createScratchDatabase, type ScratchDatabase } from '../../helpers/db';

let db: ScratchDatabase;
const clients: pg.Client[] = [];
beforeAll(async () => {
  db = await createScratchDatabase('sessions');
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  await db?.drop();
});

/** A separate session named `name`, standing in for a killed worker's backend. */
async function session(name: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: db.url, application_name: name });
  c.on('error', () => undefined);
  await c.connect();
  clients.push(c);
  return c;
}

const pidOf = async (c: pg.Client) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
const alive = async (pid: number) =>
  ((await db.pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount ?? 0) > 0;

describe('sessions named after their job and step', () => {
  it('every connection of a step’s pool carries the step’s name', async () => {
    const name = sessionName('job-named', 'verify');
    const pool = namedPool(db.pool, name);
    const { rows } = await pool.query<{ n: string }>(`SELECT current_setting('application_name') AS n`);
    expect(rows[0]!.n).toBe(name);
    const client = await pool.connect();
    try {
      expect(
        (await client.query<{ application_name: string }>(`SHOW application_name`)).rows[0]!.application_name,
      ).toBe(name);
    } finally {
      client.release();
    }
  });

  it('stops only the earlier attempt of the same job and step, and waits until its locks are released', async () => {
    const name = sessionName('job-orphan', 'indexes');
    await db.pool.query('CREATE TABLE t (id int)');
    // the "orphan": holds a lock in an open transaction while running a long statement
    const orphan = await session(name);
    await orphan.query('BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE');
    const orphanPid = await pidOf(orphan);
    const running = orphan.query('SELECT pg_sleep(120)').catch((e: Error) => e);
    // left alone: an idle session of the same name (a live worker's pooled connection), another
    // step of the job, another job's same step
    const idle = await session(name);
    const otherStep = await session(sessionName('job-orphan', 'verify'));
    const otherJob = await session(sessionName('job-other', 'indexes'));
    const busyPids = await Promise.all([otherStep, otherJob].map(pidOf));
    const busy = [otherStep, otherJob].map((c) => c.query('SELECT pg_sleep(2)').catch((e: Error) => e));
    await new Promise((r) => setTimeout(r, 200));

    const found = await findOrphans(db.pool, name);
    expect(found.map((b) => b.pid)).toEqual([orphanPid]);
    expect(found[0]!.query).toContain('pg_sleep(120)');

    const cleanup = await stopOrphans(db.pool, name);
    expect(cleanup.stopped.map((b) => b.pid)).toEqual([orphanPid]);
    expect(cleanup.waitedMs).toBeGreaterThanOrEqual(0);
    expect(await alive(orphanPid)).toBe(false);
    expect(await running).toBeInstanceOf(Error);
    // its lock is gone with it
    await db.pool.query(`SET lock_timeout = '1s'; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; RESET lock_timeout`);
    expect(await alive(await pidOf(idle))).toBe(true);
    for (const pid of busyPids) expect(await alive(pid)).toBe(true);
    await Promise.all(busy);
    expect(await stopOrphans(db.pool, name)).toMatchObject({ stopped: [], waitedMs: 0 });
  });

  it('an INVALID index left by a build that stopped half-way is dropped; a valid one is kept', async () => {
    await db.pool.query(`CREATE TABLE u (id int, k int); INSERT INTO u VALUES (1, 1), (2, 1)`);
    // a unique build over duplicates fails and leaves its index behind, INVALID
    await expect(db.pool.query(`CREATE UNIQUE INDEX CONCURRENTLY u_k ON u (k)`)).rejects.toThrow(
      /could not create unique index/,
    );
    const state = await db.pool.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'u_k'::regclass`);
    expect(state.rows).toEqual([{ indisvalid: false }]);
    await db.pool.query(`CREATE INDEX u_id ON u (id)`);
    const client = await db.pool.connect();
    try {
      expect(await usableIndexExists(client, 'public', 'u_k')).toBe(false);
      expect((await client.query(`SELECT 1 FROM pg_class WHERE relname = 'u_k'`)).rowCount).toBe(0);
      expect(await usableIndexExists(client, 'public', 'u_id')).toBe(true);
      expect(await usableIndexExists(client, 'public', 'u_none')).toBe(false);
    } finally {
      client.release();
    }
  });
});

describe('backend status: the job’s PostgreSQL work and whether an earlier attempt left it', () => {
  const jobId = 'job-status';
  const state = () =>
    ({ job_id: jobId, target: describeTarget(parseConnectionString(db.url).target) }) as unknown as MigrationState;
  const credentials = () => new CredentialStore({ HYBRIDRAG_PG_PASSWORD: parseConnectionString(db.url).password });
  /** What Temporal's describe() says of a running workflow whose one activity ran on worker `identity`. */
  const running = (identity: string) =>
    ({
      status: { name: 'RUNNING' },
      raw: { pendingActivities: [{ lastWorkerIdentity: identity, lastHeartbeatTime: { seconds: 0, nanos: 0 } }] },
    }) as unknown as WorkflowExecutionDescription;
  const deadPid = () => {
    const child = spawnSync(process.execPath, ['-e', 'process.pid']);
    return child.pid;
  };

  it('reports a backend left by an earlier attempt, and what happens to it', async () => {
    const orphan = await session(sessionName(jobId, 'indexes'));
    const pid = await pidOf(orphan);
    const sleeping = orphan.query('SELECT pg_sleep(30)').catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 200));
    const host = os.hostname();

    // the attempt's worker (a process of this machine) is alive: it is the current attempt's work
    const live = await postgresWorkOf(state(), running(`hybridrag-cli-embedded:${process.pid}@${host}`), credentials());
    expect(live).toMatchObject([{ pid, step: 'indexes', state: 'active', leftBehind: false }]);

    // its worker is gone: left behind; the step's next attempt stops it
    const gone = await postgresWorkOf(state(), running(`${deadPid()}@${host}`), credentials());
    expect(gone).toMatchObject([{ pid, step: 'indexes', leftBehind: true }]);
    expect(gone![0]!.action).toContain("the step's next attempt terminates it");
    expect(postgresWorkLines(gone!)[0]).toContain(
      `PostgreSQL: backend ${pid} left running by an earlier attempt on indexes (active for`,
    );

    // no workflow running: the next run stops it
    const stopped = await postgresWorkOf(state(), undefined, credentials());
    expect(stopped![0]!.action).toContain('the next run of this migration terminates it');

    await stopOrphans(db.pool, sessionName(jobId, 'indexes'));
    await sleeping;
    expect(await postgresWorkOf(state(), undefined, credentials())).toEqual([]);
  });
});
