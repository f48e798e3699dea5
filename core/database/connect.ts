import pg from 'pg';
import { describeTarget, type DatabaseTarget } from '../connection';
import type { CredentialStore } from '../credentials';

export interface PoolOptions {
  max?: number;
  connectionTimeoutMillis?: number;
  applicationName?: string;
}

/**
 * node-postgres leaves the socket of a failed authentication (no or a wrong password) open until the
 * server's authentication_timeout closes it, 60 s by default, and the process cannot exit before
 * that: `backend status` on a machine without the password took as long as the whole job. A client
 * that fails to connect closes its socket at once.
 */
class ClosingClient extends pg.Client {
  override connect(): Promise<void>;
  override connect(callback: (err: Error) => void): void;
  override connect(callback?: (err: Error) => void): Promise<void> | void {
    const close = () => this.connection.stream.destroy();
    if (!callback)
      return super.connect().catch((err: unknown) => {
        close();
        throw err;
      });
    super.connect((err) => {
      if (err) close();
      callback(err);
    });
  }
}

/** A pool for a target; the password comes from the credential store, never from the target. */
export function openPool(target: DatabaseTarget, credentials: CredentialStore, options: PoolOptions = {}): pg.Pool {
  const password = credentials.passwordFor(target);
  const ssl =
    target.params.sslmode && target.params.sslmode !== 'disable'
      ? { rejectUnauthorized: target.params.sslmode === 'verify-full' }
      : undefined;
  return new pg.Pool({
    Client: ClosingClient,
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
