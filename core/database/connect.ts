import pg from 'pg';
import { describeTarget, type DatabaseTarget } from '../connection';
import type { CredentialStore } from '../credentials';

export interface PoolOptions {
  max?: number;
  connectionTimeoutMillis?: number;
  applicationName?: string;
}

/** A pool for a target; the password comes from the credential store, never from the target. */
export function openPool(target: DatabaseTarget, credentials: CredentialStore, options: PoolOptions = {}): pg.Pool {
  const password = credentials.passwordFor(target);
  const ssl =
    target.params.sslmode && target.params.sslmode !== 'disable'
      ? { rejectUnauthorized: target.params.sslmode === 'verify-full' }
      : undefined;
  return new pg.Pool({
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    ...(password === undefined ? {} : { password }),
    ...(ssl ? { ssl } : {}),
    max: options.max ?? 4,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 10_000,
    application_name: options.applicationName ?? target.params.application_name ?? 'hybridrag-migrate',
  });
}

export { describeTarget };
