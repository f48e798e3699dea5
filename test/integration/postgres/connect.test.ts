import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { parseConnectionString } from '../../../core/connection';
import { CredentialStore } from '../../../core/credentials';
import { openPool } from '../../../core/database/connect';

/** Backends still in authentication: what a client that gave up without closing its socket leaves. */
async function startingBackends(admin: pg.Client): Promise<Set<number>> {
  const { rows } = await admin.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND state = 'starting'",
  );
  return new Set(rows.map((r) => r.pid));
}

describe('a connection that fails to authenticate', () => {
  let admin: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: inject('databaseUrl') });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
  });

  it('is refused at once and leaves no backend waiting for the server’s authentication timeout', async () => {
    const before = await startingBackends(admin);
    // the services' server asks for a SCRAM password on TCP; none is known here
    const target = parseConnectionString(inject('databaseUrl')).target;
    const pool = openPool(target, new CredentialStore({}), { max: 1, connectionTimeoutMillis: 3_000 });
    await expect(pool.query('SELECT 1')).rejects.toThrow(/password/);
    await pool.end();

    // node-postgres alone keeps that socket open until authentication_timeout (60 s by default)
    let left = new Set<number>();
    for (let i = 0; i < 20; i++) {
      left = new Set([...(await startingBackends(admin))].filter((pid) => !before.has(pid)));
      if (left.size === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect([...left]).toEqual([]);
  });
});
