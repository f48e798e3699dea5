import type pg from 'pg';
import { TargetError, classifyPgError } from './errors';
import { createTableSql, createIndexSql } from './ddl';
import { qualify, quoteIdent } from './identifiers';
import { markerTable, rejectTable, stagingTableName, type TargetPlan } from './plan';

type Queryable = pg.Pool | pg.PoolClient;

function hostOf(db: Queryable): string {
  const o = db as unknown as {
    options?: { host?: string; port?: number };
    connectionParameters?: { host?: string; port?: number };
  };
  const p = o.options ?? o.connectionParameters ?? {};
  return `${p.host ?? 'localhost'}${p.port ? `:${p.port}` : ''}`;
}

/**
 * Checks that the target can take a migration: pgvector present (created when available and
 * allowed), the role may create schemas in the database and tables in the target schema.
 * Every failure is one sentence naming the host, privilege and schema.
 */
export async function checkTarget(
  db: Queryable,
  plan: TargetPlan,
): Promise<{ pgvectorVersion: string; notes: string[] }> {
  const host = hostOf(db);
  const { rows } = await db.query<{
    db: string;
    usr: string;
    installed: string | null;
    available: string | null;
    can_create_db: boolean;
    schema_exists: boolean;
    can_create_schema: boolean | null;
  }>(
    `SELECT current_database() AS db, current_user AS usr,
            (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS installed,
            (SELECT default_version FROM pg_available_extensions WHERE name = 'vector') AS available,
            has_database_privilege(current_database(), 'CREATE') AS can_create_db,
            EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS schema_exists,
            CASE WHEN EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) THEN has_schema_privilege($1, 'CREATE') END AS can_create_schema`,
    [plan.targetSchema],
  );
  const r = rows[0]!;
  let version = r.installed;
  if (!version) {
    if (!r.available) {
      throw new TargetError(
        `pgvector is not installed on ${host}; install the pgvector extension on that server (https://github.com/pgvector/pgvector) and run again.`,
        'permanent',
        'pgvector-missing',
      );
    }
    try {
      await db.query('CREATE EXTENSION IF NOT EXISTS vector');
    } catch (error) {
      if ((error as { code?: string }).code === '42501') {
        throw new TargetError(
          `pgvector is installed on ${host} but not created in database "${r.db}", and role "${r.usr}" may not create it; ask an administrator to run CREATE EXTENSION vector in "${r.db}".`,
          'permanent',
          '42501',
        );
      }
      throw classifyPgError(error, `Creating the pgvector extension on ${host}`);
    }
    version = r.available;
  }
  if (!r.can_create_db) {
    throw new TargetError(
      `Role "${r.usr}" lacks the CREATE privilege on database "${r.db}" at ${host}, needed to create the staging schema "${plan.stagingSchema}"; run GRANT CREATE ON DATABASE "${r.db}" TO "${r.usr}" or use a role that has it.`,
      'permanent',
      '42501',
    );
  }
  if (r.schema_exists && !r.can_create_schema) {
    throw new TargetError(
      `Role "${r.usr}" lacks the CREATE privilege on schema "${plan.targetSchema}" at ${host}, needed to create LightRAG's tables there; run GRANT CREATE ON SCHEMA "${plan.targetSchema}" TO "${r.usr}" or use a role that has it.`,
      'permanent',
      '42501',
    );
  }
  return { pgvectorVersion: version, notes: plan.notes };
}

/**
 * Creates (idempotently) this migration's staging schema: one `<table>_staging` table per
 * production table (production columns, workspace defaulted, no keys or indexes yet), the batch
 * marker table and the per-record reject table. Another migration gets another schema.
 * With `batchSize`, the first call records it and a later one with another size is refused: batch
 * boundaries are the keys that make every batch load exactly once, so a job resumes only with the
 * size it began with.
 */
export async function prepareStaging(
  db: Queryable,
  plan: TargetPlan,
  options: { batchSize?: number } = {},
): Promise<void> {
  await checkTarget(db, plan);
  const s = plan.stagingSchema;
  try {
    await db.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s)}`);
    if (plan.targetSchema !== 'public') await db.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(plan.targetSchema)}`);
    await db.query(
      `CREATE TABLE IF NOT EXISTS ${markerTable(plan)} (
         migration_id TEXT NOT NULL, collection TEXT NOT NULL, batch_index INTEGER NOT NULL,
         rows INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0, committed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
         PRIMARY KEY (migration_id, collection, batch_index))`,
    );
    await db.query(
      `CREATE TABLE IF NOT EXISTS ${rejectTable(plan)} (
         collection TEXT NOT NULL, batch_index INTEGER, id TEXT NOT NULL, reason TEXT NOT NULL)`,
    );
    await db.query(`CREATE TABLE IF NOT EXISTS ${qualify(s, '_meta')} (key TEXT PRIMARY KEY, value JSONB NOT NULL)`);
    await db.query(`INSERT INTO ${qualify(s, '_meta')} VALUES ('plan', $1::jsonb) ON CONFLICT (key) DO NOTHING`, [
      JSON.stringify({
        migrationId: plan.options.migrationId,
        workspace: plan.options.workspace,
        layout: plan.layout.layout,
        dimension: plan.options.dimension,
      }),
    ]);
    for (const spec of plan.layout.tables) {
      await db.query(
        createTableSql(s, stagingTableName(spec.name), spec, {
          withPrimaryKey: false,
          ifNotExists: true,
          workspaceDefault: plan.options.workspace,
          vectorAsFloat32: true,
        }),
      );
    }
  } catch (error) {
    throw classifyPgError(error, `Preparing the staging schema "${s}"`);
  }
  if (options.batchSize !== undefined) await checkBatching(db, plan, options.batchSize);
}

async function checkBatching(db: Queryable, plan: TargetPlan, batchSize: number): Promise<void> {
  const meta = qualify(plan.stagingSchema, '_meta');
  let began: number | undefined;
  try {
    await db.query(`INSERT INTO ${meta} VALUES ('batching', $1::jsonb) ON CONFLICT (key) DO NOTHING`, [
      JSON.stringify({ batchSize }),
    ]);
    const { rows } = await db.query<{ value: { batchSize?: number } }>(
      `SELECT value FROM ${meta} WHERE key = 'batching'`,
    );
    began = rows[0]?.value.batchSize;
  } catch (error) {
    throw classifyPgError(error, `Checking the batch size of the staging schema "${plan.stagingSchema}"`);
  }
  if (began !== undefined && began !== batchSize) {
    throw new TargetError(
      `Job ${plan.options.migrationId} was staged in batches of ${began} records; resume it with --batch-size ${began} (the batch boundaries are what load every record exactly once).`,
    );
  }
}

/** The staging schema exists (prepareStaging ran) for this plan. */
export async function stagingExists(db: Queryable, plan: TargetPlan): Promise<boolean> {
  const { rows } = await db.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [plan.stagingSchema]);
  return rows.length > 0;
}

/** Drops this migration's staging schema and, unless kept, its previous-generation schema. */
export async function cleanupStaging(
  db: Queryable,
  plan: TargetPlan,
  options: { dropPreviousGeneration?: boolean } = {},
): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(plan.stagingSchema)} CASCADE`);
  if (options.dropPreviousGeneration)
    await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(plan.generationSchema)} CASCADE`);
}

export { createIndexSql };
