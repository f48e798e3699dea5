import type pg from 'pg';
import { DatabaseError } from './errors';

export interface DatabaseReport {
  postgresVersion: string;
  pgvectorVersion: string;
  /** true when this call created the extension */
  pgvectorCreated: boolean;
  currentUser: string;
}

/**
 * Reports the server and pgvector versions, creating the `vector` extension when it is
 * available but not yet created in this database (and the role may do so).
 */
export async function inspectDatabase(pool: pg.Pool): Promise<DatabaseReport> {
  const { rows } = await pool.query<{
    version: string;
    user: string;
    installed: string | null;
    available: string | null;
  }>(
    `SELECT current_setting('server_version') AS version, current_user AS user,
            (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS installed,
            (SELECT default_version FROM pg_available_extensions WHERE name = 'vector') AS available`,
  );
  const row = rows[0]!;
  if (row.installed) {
    return {
      postgresVersion: row.version,
      pgvectorVersion: row.installed,
      pgvectorCreated: false,
      currentUser: row.user,
    };
  }
  if (!row.available) {
    throw new DatabaseError(
      `pgvector is not installed on this PostgreSQL server (${row.version}); install it (https://github.com/pgvector/pgvector, or npm run services -- up for a local server) and run again.`,
      'permanent',
      'pgvector-missing',
    );
  }
  try {
    await pool.query('CREATE EXTENSION IF NOT EXISTS vector');
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '42501') {
      throw new DatabaseError(
        `pgvector ${row.available} is available but role "${row.user}" may not create extensions in this database; ask an administrator to run CREATE EXTENSION vector there.`,
        'permanent',
        code,
      );
    }
    throw error;
  }
  const created = await pool.query<{ v: string }>(`SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'`);
  return {
    postgresVersion: row.version,
    pgvectorVersion: created.rows[0]!.v,
    pgvectorCreated: true,
    currentUser: row.user,
  };
}
