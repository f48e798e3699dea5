import type pg from 'pg';
import { credentialKey, type DatabaseTarget } from '../core/connection';
import type { CredentialStore } from '../core/credentials';
import { openPool } from '../core/database/connect';

/**
 * One PostgreSQL pool per target per worker, shared by its activities: COPY-heavy batch
 * activities reuse warm connections instead of opening one per batch.
 */
export class PoolRegistry {
  private readonly pools = new Map<string, pg.Pool>();

  constructor(
    private readonly credentials: CredentialStore,
    private readonly size: number,
  ) {}

  get(target: DatabaseTarget): pg.Pool {
    const key = `${credentialKey(target)}/${target.database}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = openPool(target, this.credentials, { max: this.size, applicationName: 'hybridrag-migrate worker' });
      // A connection dropped by a server restart must not crash the worker: idle ones report on
      // the pool, checked-out ones on the client (the query in flight fails and is retried).
      pool.on('error', () => undefined);
      pool.on('connect', (client) => client.on('error', () => undefined));
      this.pools.set(key, pool);
    }
    return pool;
  }

  async closeAll(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  }
}
