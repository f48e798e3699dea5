import { createHash } from 'node:crypto';
import type pg from 'pg';
import { createIndexSql, createTableSql } from './ddl';
import { PG_MAX_IDENTIFIER_BYTES, qualify, quoteIdent, quoteLiteral, scopeTag } from './identifiers';
import type { TableSpec } from './layouts/types';
import type { TargetPlan } from './plan';

type Queryable = pg.Pool | pg.PoolClient;

/**
 * Production tables of the lightrag layout are partitioned by LIST (workspace): each migrated
 * workspace is one partition with its own keys and vector index (promote = detach the old one,
 * attach the staged one), and every workspace LightRAG creates itself lands in the DEFAULT
 * partition. The FK-linked graph tables keep whole-table / row moves.
 */
export const partitionable = (spec: TableSpec): boolean => !spec.group && spec.primaryKey[0] === 'workspace';

/** Schema holding this migration's live partitions (their index names are LightRAG's, so never in the target schema). */
export const liveSchema = (plan: TargetPlan): string => `hybridrag_live_${scopeTag(plan.options.migrationId)}`;

/** `<table>_default` beside the parent, or `<md5(table)[:12]>_default` where that would pass 63 bytes. */
export function defaultPartitionName(table: string): string {
  const name = `${table}_default`;
  if (Buffer.byteLength(name, 'utf8') <= PG_MAX_IDENTIFIER_BYTES) return name;
  return `${createHash('md5').update(table, 'utf8').digest('hex').slice(0, 12)}_default`;
}

export type ProductionKind = 'absent' | 'plain' | 'partitioned';

export async function productionKind(db: Queryable, schema: string, table: string): Promise<ProductionKind> {
  const { rows } = await db.query<{ k: string }>(
    `SELECT c.relkind AS k FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, table],
  );
  return !rows[0] ? 'absent' : rows[0].k === 'p' ? 'partitioned' : 'plain';
}

/** The partitioned parent with LightRAG's columns, key and index names, and its DEFAULT partition. */
export async function createPartitionedTable(c: pg.PoolClient, schema: string, spec: TableSpec): Promise<void> {
  await c.query(`${createTableSql(schema, spec.name, spec, { withPrimaryKey: true })} PARTITION BY LIST ("workspace")`);
  for (const idx of spec.indexes) await c.query(createIndexSql(schema, spec.name, idx, false));
  await c.query(
    `CREATE TABLE ${qualify(schema, defaultPartitionName(spec.name))} PARTITION OF ${qualify(schema, spec.name)} DEFAULT`,
  );
}

/** The partition holding exactly this workspace (schema and name), if any. */
export async function workspacePartition(
  db: Queryable,
  parent: string,
  workspace: string,
): Promise<{ schema: string; table: string } | undefined> {
  const { rows } = await db.query<{ schema: string; table: string }>(
    `SELECT n.nspname AS schema, c.relname AS table FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE i.inhparent = $1::regclass AND pg_get_expr(c.relpartbound, c.oid) = $2`,
    [parent, `FOR VALUES IN (${quoteLiteral(workspace)})`],
  );
  return rows[0];
}

export async function defaultPartition(db: Queryable, parent: string): Promise<string | undefined> {
  const { rows } = await db.query<{ schema: string; table: string }>(
    `SELECT n.nspname AS schema, c.relname AS table FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE i.inhparent = $1::regclass AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'`,
    [parent],
  );
  return rows[0] ? qualify(rows[0].schema, rows[0].table) : undefined;
}

const workspaceCheckName = (table: string) => `${table.slice(0, 40)}_workspace_check`;

/**
 * Readies a staged table for ATTACH outside the promote transaction, so the attach itself is a
 * catalogue change: a CHECK (workspace = …) constraint spares PostgreSQL the validation scan, and
 * every index the production parent has (LightRAG may have added some since) is built here, not
 * inside the promote. Idempotent.
 */
export async function prepareForAttach(
  db: Queryable,
  staged: { schema: string; table: string },
  parent: string | undefined,
  workspace: string,
): Promise<void> {
  const target = qualify(staged.schema, staged.table);
  const check = workspaceCheckName(staged.table);
  const has = await db.query(`SELECT 1 FROM pg_constraint WHERE conrelid = $1::regclass AND conname = $2`, [
    target,
    check,
  ]);
  if (!has.rowCount)
    await db.query(
      `ALTER TABLE ${target} ADD CONSTRAINT ${quoteIdent(check)} CHECK ("workspace" = ${quoteLiteral(workspace)})`,
    );
  if (parent) for (const sql of await missingIndexSqls(db, parent, target)) await db.query(sql);
}

/**
 * CREATE INDEX statements for the parent's indexes that the staged table lacks (compared by
 * definition without names; PostgreSQL matches them the same way when it attaches).
 */
async function missingIndexSqls(db: Queryable, parent: string, staged: string): Promise<string[]> {
  const defs = async (rel: string) =>
    (
      await db.query<{ name: string; def: string; primary: boolean }>(
        `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS def, i.indisprimary AS primary
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass`,
        [rel],
      )
    ).rows;
  const shape = (def: string) => def.replace(/^CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?\S+(\.\S+)? /, '');
  const have = new Set((await defs(staged)).map((d) => shape(d.def)));
  return (await defs(parent))
    .filter((d) => !d.primary && !have.has(shape(d.def)))
    .map((d) => `CREATE ${d.def.startsWith('CREATE UNIQUE') ? 'UNIQUE ' : ''}INDEX ON ${staged} ${shape(d.def)}`);
}
