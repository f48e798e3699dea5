import os from 'node:os';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { parseConnectionString } from '../core/connection';
import type { CredentialStore } from '../core/credentials';
import { openPool } from '../core/database/connect';
import { describeDatabaseError } from '../core/database/errors';
import { findOrphans, jobSessionPrefixes } from '../core/postgres/sessions';
import { isProcessAlive } from '../core/processes';
import type { MigrationState } from '../core/state/stateFile';

/** A PostgreSQL backend working for the job, and whether the attempt that started it is gone. */
export interface PostgresWork {
  pid: number;
  step: string;
  state: string;
  seconds: number;
  query: string;
  /** started by an earlier attempt whose worker is gone (killed inside the statement) */
  leftBehind: boolean;
  action: string;
}

/** A live attempt heartbeats at least every 5 s; none for this long means its worker (elsewhere) is gone. */
const STALE_HEARTBEAT_MS = 10_000;

/**
 * Whether a worker is working on the job right now: a running activity whose worker is a live
 * process of this machine (worker identities are pid@host), or, elsewhere, heartbeated recently.
 */
function attemptAlive(described: WorkflowExecutionDescription | undefined, now: number): boolean {
  if (described?.status.name !== 'RUNNING') return false;
  return (described.raw.pendingActivities ?? []).some((a) => {
    const local = /(\d+)@([^@\s]+)$/.exec(a.lastWorkerIdentity ?? '');
    if (local && local[2] === os.hostname()) return isProcessAlive(Number(local[1]));
    const beat = a.lastHeartbeatTime ?? a.lastStartedTime;
    if (!beat) return false;
    return now - (Number(beat.seconds ?? 0) * 1000 + (beat.nanos ?? 0) / 1e6) < STALE_HEARTBEAT_MS;
  });
}

/**
 * What PostgreSQL is doing for the job (its sessions are named after the job and the step), and
 * for work an earlier attempt left running, what is being done about it. Undefined before the job
 * has a target; when PostgreSQL cannot be asked (no password here, server down), a DatabaseError
 * that says why.
 */
export async function postgresWorkOf(
  state: MigrationState,
  described: WorkflowExecutionDescription | undefined,
  credentials: CredentialStore,
): Promise<PostgresWork[] | undefined> {
  if (!state.target) return undefined;
  const { target } = parseConnectionString(state.target);
  const pool = openPool(target, credentials, {
    max: 1,
    connectionTimeoutMillis: 3_000,
    applicationName: 'hybridrag-migrate status',
  });
  pool.on('error', () => undefined);
  try {
    const backends = await findOrphans(pool, { prefixes: jobSessionPrefixes(state.job_id) });
    const leftBehind = backends.length > 0 && !attemptAlive(described, Date.now());
    const running = described?.status.name === 'RUNNING';
    return backends.map((b) => ({
      pid: b.pid,
      step: b.name.split('/').slice(2).join('/'),
      state: b.state,
      seconds: Math.round(b.runningSeconds),
      query: b.query.replace(/\s+/g, ' ').slice(0, 80),
      leftBehind,
      action: !leftBehind
        ? 'the current attempt is running it'
        : running
          ? "its worker is gone; the step's next attempt terminates it and waits until it is gone before it starts"
          : `no attempt is running; the next run of this migration terminates it before that step starts (or now: SELECT pg_terminate_backend(${b.pid}))`,
    }));
  } catch (error) {
    throw describeDatabaseError(error, target);
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/** One line per backend for `backend status`. */
export function postgresWorkLines(work: PostgresWork[]): string[] {
  return work.map(
    (w) =>
      `PostgreSQL: backend ${w.pid} ${w.leftBehind ? 'left running by an earlier attempt' : 'working'} on ${w.step} (${w.state} for ${w.seconds} s: ${w.query}); ${w.action}`,
  );
}
