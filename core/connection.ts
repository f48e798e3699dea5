import { z } from 'zod';

/**
 * A PostgreSQL target without its secret. This is all that ever travels through workflow
 * inputs, history, logs and state files; the password is resolved by whoever opens the
 * connection (see core/credentials.ts).
 */
export const DatabaseTargetSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  database: z.string().min(1),
  user: z.string().min(1),
  /** non-secret libpq parameters kept from the URL (sslmode, application_name, …) */
  params: z.record(z.string(), z.string()).default({}),
});
export type DatabaseTarget = z.infer<typeof DatabaseTargetSchema>;

export class ConnectionStringError extends Error {
  override name = 'ConnectionStringError';
}

const SECRET_PARAMS = new Set(['password', 'sslpassword', 'sslkey', 'passfile']);

/** Splits a postgres:// URL into the target (safe to log) and its password (never logged). */
export function parseConnectionString(url: string): { target: DatabaseTarget; password?: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConnectionStringError(
      'The connection string is not a valid URL; write it as postgres://user[:password]@host[:port]/database.',
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConnectionStringError(
      `The connection string starts with "${parsed.protocol}//"; it must start with postgres:// or postgresql://.`,
    );
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!parsed.hostname)
    throw new ConnectionStringError(
      'The connection string names no host; add one, e.g. postgres://user@localhost:5432/db.',
    );
  if (!database)
    throw new ConnectionStringError(
      'The connection string names no database; add one after the host, e.g. …@localhost:5432/mydb.',
    );
  const port = parsed.port ? Number(parsed.port) : 5432;
  const params: Record<string, string> = {};
  let password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  for (const [key, value] of parsed.searchParams) {
    if (key === 'password') password = value;
    else if (!SECRET_PARAMS.has(key)) params[key] = value;
  }
  const target = DatabaseTargetSchema.parse({
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port,
    database,
    user: parsed.username ? decodeURIComponent(parsed.username) : (process.env.PGUSER ?? 'postgres'),
    params,
  });
  return password === undefined ? { target } : { target, password };
}

/**
 * postgres://user@host:port/db[?sslmode=…] — for messages, logs and the state file; never holds a
 * password. The non-secret parameters stay, so a target read back from the state file (rollback,
 * resume) connects the same way (a server that requires TLS keeps its sslmode).
 */
export function describeTarget(target: DatabaseTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const query = new URLSearchParams(Object.entries(target.params ?? {})).toString();
  return `postgres://${encodeURIComponent(target.user)}@${host}:${target.port}/${encodeURIComponent(target.database)}${query ? `?${query}` : ''}`;
}

/** Key under which a password is looked up: a role's password is per server and user. */
export function credentialKey(target: Pick<DatabaseTarget, 'host' | 'port' | 'user'>): string {
  return `${target.user}@${target.host}:${target.port}`;
}
