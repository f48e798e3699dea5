import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
