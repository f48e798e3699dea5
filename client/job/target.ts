import type pg from 'pg';
import { ConnectionStringError, parseConnectionString, type DatabaseTarget } from '../../core/connection';
import { CredentialStore } from '../../core/credentials';
import { openPool } from '../../core/database/connect';
import { DatabaseError, describeDatabaseError } from '../../core/database/errors';
import { TargetError } from '../../core/postgres/errors';
import { IdentifierError } from '../../core/postgres/identifiers';
import type { JobContext } from '../../core/migration/types';
import { planTarget } from '../../core/postgres/plan';
import { checkTarget } from '../../core/postgres/staging';
import { UserError } from '../errors';

export interface ResolvedTarget {
  target: DatabaseTarget;
  /** holds the password (if the URL had one) in this process only */
  credentials: CredentialStore;
}

/** The connection string (or $DATABASE_URL) as a target whose password stays in this process. */
export function resolveTarget(connection: string | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedTarget {
  const url = connection ?? env.DATABASE_URL;
  if (!url)
    throw new UserError(
      'No PostgreSQL to migrate into: pass --connection-string postgresql://user:pass@host:5432/db (or set DATABASE_URL).',
      2,
    );
  try {
    const { target, password } = parseConnectionString(url);
    const credentials = new CredentialStore();
    if (password !== undefined) credentials.remember(target, password);
    return { target, credentials };
  } catch (error) {
    if (error instanceof ConnectionStringError) throw new UserError(error.message, 2);
    throw error;
  }
}

/** A one-connection pool for reading the target before anything runs (dry run, preflight). */
export function readOnlyPool({ target, credentials }: ResolvedTarget, applicationName: string): pg.Pool {
  const pool = openPool(target, credentials, { max: 1, connectionTimeoutMillis: 10_000, applicationName });
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Before a workflow starts or anything is written: the target accepts this role's login, has
 * pgvector (created when allowed) and lets the role create the staging schema. A target that
 * points nowhere, a wrong password, a missing database or privilege is one sentence now, instead
 * of a workflow retrying a connection for ever or failing after the state file was written.
 */
export async function preflightTarget(
  { target, credentials }: ResolvedTarget,
  job: { jobId: string; workspace: string; layout: JobContext['layout'] },
): Promise<void> {
  let plan;
  try {
    plan = planTarget({ migrationId: job.jobId, workspace: job.workspace, layout: job.layout, dimension: 1 });
  } catch (error) {
    if (error instanceof TargetError || error instanceof IdentifierError) throw new UserError(error.message, 2);
    throw error;
  }
  const pool = readOnlyPool({ target, credentials }, 'hybridrag-migrate preflight');
  try {
    await checkTarget(pool, plan);
  } catch (error) {
    if (error instanceof TargetError || error instanceof DatabaseError) throw new UserError(error.message);
    throw new UserError(
      describeDatabaseError(error, target).message.replace(
        /; it will be retried\.$/,
        '; check that PostgreSQL runs there and run again.',
      ),
    );
  } finally {
    await pool.end().catch(() => undefined);
  }
}
