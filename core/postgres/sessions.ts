import type pg from 'pg';
import { TargetError } from './errors';
import { scopeTag } from './identifiers';

/**
 * Sessions that say whose they are. Every connection a job step uses carries the application_name
 * `hybridrag/<job id>/<step>`, so an earlier attempt of the same step that PostgreSQL is still
 * running (its worker killed inside a long statement: a backend only notices a vanished client
 * when it next talks to it) can be found in pg_stat_activity and stopped before the step runs again.
 */

/** PostgreSQL keeps application_name to NAMEDATALEN - 1 bytes and silently cuts the rest. */
const MAX_NAME_BYTES = 63;
export const SESSION_PREFIX = 'hybridrag/';

/** The application_name of a job's step; the job id is replaced by its short tag when both do not fit. */
export function sessionName(jobId: string, step: string): string {
  const full = `${SESSION_PREFIX}${jobId}/${step}`;
  if (Buffer.byteLength(full) <= MAX_NAME_BYTES) return full;
  const short = `${SESSION_PREFIX}${scopeTag(jobId)}/${step}`;
  if (Buffer.byteLength(short) <= MAX_NAME_BYTES) return short;
  return `${SESSION_PREFIX}${scopeTag(jobId)}/${scopeTag(step)}`;
}

/** Every session name a job's steps can have starts with one of these. */
export function jobSessionPrefixes(jobId: string): string[] {
  return [`${SESSION_PREFIX}${jobId}/`, `${SESSION_PREFIX}${scopeTag(jobId)}/`];
}

const named = new WeakMap<pg.PoolClient, string>();

async function nameSession(client: pg.PoolClient, name: string): Promise<void> {
  if (named.get(client) === name) return;
  await client.query(`SELECT set_config('application_name', $1, false)`, [name]);
  named.set(client, name);
}

/**
 * The shared pool seen through one step: every connection it hands out is first named after the
 * step (one round trip, skipped when the connection already carries the name). Everything else is
 * the shared pool's own.
 */
export function namedPool(pool: pg.Pool, name: string): pg.Pool {
  const view = Object.create(pool) as pg.Pool;
  const connect = async (): Promise<pg.PoolClient> => {
    const client = await pool.connect();
    try {
      await nameSession(client, name);
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
    return client;
  };
  const query = async (...args: unknown[]): Promise<unknown> => {
    const client = await connect();
    try {
      const result = await (client.query as (...a: unknown[]) => Promise<unknown>)(...args);
      client.release();
      return result;
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
  };
  view.connect = connect as pg.Pool['connect'];
  view.query = query as pg.Pool['query'];
  return view;
}

/** A backend of an earlier attempt still at work (or holding a transaction open). */
export interface OrphanedBackend {
  pid: number;
  /** its application_name: the job and the step */
  name: string;
  state: string;
  /** seconds since its statement (or, idle in a transaction, its last one) started */
  runningSeconds: number;
  query: string;
}

export interface OrphanCleanup {
  name: string;
  stopped: OrphanedBackend[];
  /** how long the step waited for them to be gone */
  waitedMs: number;
}

type Queryable = pg.Pool | pg.PoolClient;

/**
 * Backends named `name` that are doing something: running a statement or holding a transaction
 * open. Idle ones (a live worker's pooled connections) hold nothing and are left alone.
 */
export async function findOrphans(db: Queryable, names: string | { prefixes: string[] }): Promise<OrphanedBackend[]> {
  const where =
    typeof names === 'string'
      ? { sql: 'application_name = $1', params: [names] }
      : {
          sql: 'EXISTS (SELECT 1 FROM unnest($1::text[]) p WHERE starts_with(application_name, p))',
          params: [names.prefixes],
        };
  const { rows } = await db.query<{ pid: number; state: string; running: number; query: string; name: string }>(
    `SELECT pid, state, coalesce(extract(epoch FROM now() - coalesce(query_start, xact_start)), 0)::float8 AS running,
            left(query, 200) AS query, application_name AS name
       FROM pg_stat_activity
      WHERE ${where.sql} AND datname = current_database() AND pid <> pg_backend_pid()
        AND state IS DISTINCT FROM 'idle' AND backend_type = 'client backend'`,
    where.params,
  );
  return rows.map((r) => ({
    pid: r.pid,
    name: r.name,
    state: r.state,
    runningSeconds: Number(r.running),
    query: r.query,
  }));
}

/**
 * Makes sure no earlier attempt of a step is still at work: terminates the backends named after
 * the step (only those: the name holds this job's id and this step) and waits until they are gone,
 * so their transaction is rolled back and its locks released before the step runs again.
 * Throws when one is still there after `timeoutMs` (the step is then retried).
 */
export async function stopOrphans(
  db: Queryable,
  name: string,
  options: { timeoutMs?: number; pollMs?: number } = {},
): Promise<OrphanCleanup> {
  const stopped = await findOrphans(db, name);
  const started = performance.now();
  if (stopped.length === 0) return { name, stopped, waitedMs: 0 };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const left = await findOrphans(db, name);
    if (left.length === 0) break;
    if (Date.now() > deadline)
      throw new TargetError(
        `An earlier attempt of "${name}" is still running in PostgreSQL (backend ${left.map((b) => b.pid).join(', ')}) and did not stop when asked; it will be retried.`,
        'transient',
      );
    await db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY($1::int[]) AND application_name = $2`,
      [left.map((b) => b.pid), name],
    );
    await new Promise((r) => setTimeout(r, options.pollMs ?? 50));
  }
  return { name, stopped, waitedMs: Math.round(performance.now() - started) };
}
