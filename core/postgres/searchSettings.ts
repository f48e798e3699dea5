import type pg from 'pg';
import { qualify, quoteIdent, quoteLiteral } from './identifiers';

/**
 * Workspaces that share one HNSW index (LightRAG's own tables, or the DEFAULT partition holding
 * the workspaces LightRAG creates itself) lose results with a plain HNSW scan: it yields the
 * ef_search nearest rows of the whole table and `WHERE workspace = $1` then drops most of them.
 * pgvector's iterative scan (0.8.0+) keeps scanning until LIMIT rows pass the filter; strict_order
 * keeps LightRAG's ORDER BY exact. Set for the database (new sessions), recorded so rollback undoes it.
 */
export const ITERATIVE_SCAN = { name: 'hnsw.iterative_scan', value: 'strict_order' } as const;

/** The database-level value of a setting (ALTER DATABASE … SET), or undefined when none is set. */
export async function databaseSetting(db: pg.Pool | pg.PoolClient, name: string): Promise<string | undefined> {
  const { rows } = await db.query<{ s: string }>(
    `SELECT s FROM pg_db_role_setting r JOIN pg_database d ON d.oid = r.setdatabase, unnest(r.setconfig) AS s
      WHERE d.datname = current_database() AND r.setrole = 0 AND s LIKE $1`,
    [`${name}=%`],
  );
  return rows[0]?.s.slice(name.length + 1);
}

async function alterDatabase(c: pg.PoolClient, name: string, value: string | undefined): Promise<void> {
  const { rows } = await c.query<{ db: string }>(`SELECT current_database() AS db`);
  const target = `ALTER DATABASE ${quoteIdent(rows[0]!.db)}`;
  await c.query(value === undefined ? `${target} RESET ${name}` : `${target} SET ${name} = ${quoteLiteral(value)}`);
}

/**
 * Inside the promote transaction: sets hnsw.iterative_scan for the database unless one is set
 * already, and records the previous value in `settingsTable`. Returns a sentence for the report.
 * Without the right to alter the database (not its owner) it changes nothing and says what to run.
 */
export async function ensureIterativeScan(c: pg.PoolClient, settingsTable: string): Promise<string> {
  const { name, value } = ITERATIVE_SCAN;
  const current = await databaseSetting(c, name);
  if (current !== undefined) return `${name} is already set to ${current} for this database (left as it is).`;
  await c.query('SAVEPOINT iterative_scan');
  try {
    await alterDatabase(c, name, value);
  } catch (error) {
    await c.query('ROLLBACK TO SAVEPOINT iterative_scan');
    return (
      `${name} could not be set for this database (${(error as Error).message}); as its owner run ` +
      `ALTER DATABASE … SET ${name} = ${value}, or vector search of workspaces sharing a table may return fewer rows than asked.`
    );
  }
  await c.query(`CREATE TABLE IF NOT EXISTS ${settingsTable} (name TEXT PRIMARY KEY, previous TEXT)`);
  await c.query(`INSERT INTO ${settingsTable} (name, previous) VALUES ($1, NULL) ON CONFLICT (name) DO NOTHING`, [
    name,
  ]);
  return `${name} set to ${value} for this database, so LightRAG's vector queries return the full top-k for every workspace (rollback resets it).`;
}

/** Inside the rollback transaction: restores the settings ensureIterativeScan recorded. */
export async function restoreSettings(c: pg.PoolClient, schema: string, table: string): Promise<string[]> {
  const exists = await c.query<{ r: string | null }>(`SELECT to_regclass($1) AS r`, [qualify(schema, table)]);
  if (!exists.rows[0]!.r) return [];
  const { rows } = await c.query<{ name: string; previous: string | null }>(
    `DELETE FROM ${qualify(schema, table)} RETURNING name, previous`,
  );
  for (const r of rows) await alterDatabase(c, r.name, r.previous ?? undefined);
  return rows.map((r) => (r.previous === null ? `${r.name} reset` : `${r.name} restored to ${r.previous}`));
}
