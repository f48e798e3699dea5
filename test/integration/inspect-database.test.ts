import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { parseConnectionString } from '../../core/connection';
import { CredentialStore } from '../../core/credentials';
import { openPool } from '../../core/database/connect';
import { DatabaseError, describeDatabaseError } from '../../core/database/errors';
import { inspectDatabase } from '../../core/database/inspect';

const adminUrl = () => inject('databaseUrl');
const suffix = randomBytes(4).toString('hex');
const bareDb = `inspect_bare_${suffix}`;
const plainRole = `inspect_role_${suffix}`;
const plainPassword = `pw_${randomBytes(8).toString('hex')}`;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function urlFor(database: string, user?: string, password?: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${database}`;
  if (user) url.username = user;
  if (password !== undefined) url.password = password;
  return url.toString();
}

async function inspect(url: string) {
  const { target, password } = parseConnectionString(url);
  const credentials = new CredentialStore({});
  if (password !== undefined) credentials.remember(target, password);
  const pool = openPool(target, credentials, { max: 1 });
  try {
    return await inspectDatabase(pool);
  } catch (error) {
    throw describeDatabaseError(error, target);
  } finally {
    await pool.end();
  }
}

beforeAll(async () => {
  await admin(`CREATE DATABASE ${bareDb}`);
  await admin(`CREATE ROLE ${plainRole} LOGIN PASSWORD '${plainPassword}'`);
});

afterAll(async () => {
  await admin(`DROP DATABASE IF EXISTS ${bareDb} WITH (FORCE)`);
  await admin(`DROP ROLE IF EXISTS ${plainRole}`);
});

describe('inspectDatabase against the real PostgreSQL', () => {
  it('reports a role that may not create the extension, naming what to do', async () => {
    const error = await inspect(urlFor(bareDb, plainRole, plainPassword)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).kind).toBe('permanent');
    expect((error as Error).message).toMatch(
      new RegExp(`role "${plainRole}" may not create extensions.*CREATE EXTENSION vector`),
    );
  });

  it('creates pgvector where it is missing and reports versions', async () => {
    const first = await inspect(urlFor(bareDb));
    expect(first.pgvectorCreated).toBe(true);
    expect(Number(first.postgresVersion.split('.')[0])).toBeGreaterThanOrEqual(15);
    const [major, minor] = first.pgvectorVersion.split('.').map(Number);
    expect(major! * 100 + minor!).toBeGreaterThanOrEqual(8);
    const second = await inspect(urlFor(bareDb));
    expect(second.pgvectorCreated).toBe(false);
    expect(second.pgvectorVersion).toBe(first.pgvectorVersion);
  });

  it('classifies a wrong password as permanent and never repeats it', async () => {
    const secret = `wrong-${randomBytes(6).toString('hex')}`;
    const error = await inspect(urlFor(bareDb, plainRole, secret)).catch((e: unknown) => e);
    expect((error as DatabaseError).kind).toBe('permanent');
    expect((error as Error).message).toMatch(/rejected the login of user/);
    expect((error as Error).message).not.toContain(secret);
  });

  it('classifies a refused connection as transient', async () => {
    const error = await inspect('postgres://nobody:pw@127.0.0.1:1/none').catch((e: unknown) => e);
    expect((error as DatabaseError).kind).toBe('transient');
    expect((error as Error).message).toMatch(/refuses connections at 127\.0\.0\.1:1/);
  });

  it('names a database that does not exist', async () => {
    const error = await inspect(urlFor(`missing_${suffix}`)).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      `The database "missing_${suffix}" does not exist on 127.0.0.1:${new URL(adminUrl()).port}; create it (createdb) or name an existing one.`,
    );
  });
});
