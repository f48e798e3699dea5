import { Context } from '@temporalio/activity';
import type pg from 'pg';
import type { JobContext } from '../core/migration/types';
import { namedPool, sessionName, stopOrphans, type OrphanCleanup } from '../core/postgres';
import type { PoolRegistry } from './pools';

/** One line for the worker's log: what was found still running and how long it took to be gone. */
export function describeCleanup(cleanup: OrphanCleanup): string {
  const backends = cleanup.stopped
    .map((b) => `backend ${b.pid} (${b.state} for ${b.runningSeconds.toFixed(1)} s: ${b.query.replace(/\s+/g, ' ')})`)
    .join('; ');
  return `an earlier attempt of ${cleanup.name} was still running in PostgreSQL: ${backends}; terminated, gone after ${cleanup.waitedMs} ms`;
}

/**
 * The start of every step that writes or reads at length: the job's pool seen through the step's
 * session name, after any earlier attempt of the same step still at work in PostgreSQL (its worker
 * killed inside a statement) has been stopped and is gone.
 */
export async function startStep(pools: PoolRegistry, job: JobContext, step: string): Promise<pg.Pool> {
  const name = sessionName(job.jobId, step);
  const pool = namedPool(pools.get(job.target), name);
  const cleanup = await stopOrphans(pool, name);
  if (cleanup.stopped.length > 0) Context.current().log.warn(describeCleanup(cleanup), { orphans: cleanup });
  return pool;
}
