import type pg from 'pg';
import { classifyPgError } from './errors';
import { createIndexSql, foreignKeySqls, primaryKeyClause } from './ddl';
import { qualify, quoteIdent } from './identifiers';
import { stagingTableName, type TargetPlan } from './plan';

/** '512MB', '2GB', '65536kB', '1024' (kB, as PostgreSQL reads a bare number) → kB */
export function toKb(setting: string): number {
  const m = /^\s*(\d+)\s*(kB|MB|GB|TB)?\s*$/i.exec(setting);
  if (!m) throw new Error(`${setting} is not a memory size such as 512MB or 2GB`);
  const unit = (m[2] ?? 'kB').toUpperCase();
  return Number(m[1]) * (unit === 'KB' ? 1 : unit === 'MB' ? 1024 : unit === 'GB' ? 1024 ** 2 : 1024 ** 3);
}

/**
 * Memory (kB) pgvector's in-memory HNSW build needs for `rows` vectors: per element the value
 * (varlena header + 4 or 2 bytes per dimension), the element (~100 bytes with its heap tids) and
 * its neighbour lists (2m candidates on layer 0, m on the few upper layers, 16 bytes each), plus a
 * quarter for allocator slack and 64 MB for the rest of the build.
 */
export function hnswGraphKb(rows: number, dimension: number, storage: 'vector' | 'halfvec', m: number): number {
  const perElement = 8 + dimension * (storage === 'halfvec' ? 2 : 4) + 100 + 16 * (2 * m + m);
  return Math.ceil((rows * perElement * 1.25) / 1024) + 64 * 1024;
}

/**
 * Whether a usable index of that name is there. An INVALID one (a build that stopped half-way, e.g.
 * an earlier attempt's CREATE INDEX CONCURRENTLY) is dropped, so the caller builds it again.
 */
export async function usableIndexExists(client: pg.PoolClient, schema: string, name: string): Promise<boolean> {
  const { rows } = await client.query<{ valid: boolean | null }>(
    `SELECT i.indisvalid AS valid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_index i ON i.indexrelid = c.oid WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, name],
  );
  if (rows.length === 0) return false;
  if (rows[0]!.valid !== false) return true;
  await client.query(`DROP INDEX IF EXISTS ${qualify(schema, name)}`);
  return false;
}

export interface IndexBuildReport {
  table: string;
  index: string;
  ms: number;
}

/**
 * Builds keys and indexes on the staging tables after the data is in (never before): LightRAG's
 * primary keys and id / workspace_id indexes under its exact names, the graph foreign keys, and
 * the vector index (HNSW cosine m=16 ef_construction=64 by default; IVFFlat or halfvec on request)
 * with maintenance_work_mem and max_parallel_maintenance_workers set for the build. A halfvec
 * layout converts the staged float32 column first. Idempotent (skips what exists).
 * Run finishStaging first (duplicates would break the primary key).
 */
export async function buildIndexes(
  pool: pg.Pool,
  plan: TargetPlan,
  onProgress?: (r: IndexBuildReport) => void,
  onStart?: (table: string, index: string) => void,
): Promise<IndexBuildReport[]> {
  const client = await pool.connect();
  const reports: IndexBuildReport[] = [];
  const s = plan.stagingSchema;
  try {
    await client.query(
      `SELECT set_config('maintenance_work_mem', $1, false), set_config('max_parallel_maintenance_workers', $2, false)`,
      [plan.options.maintenanceWorkMem, String(plan.options.parallelWorkers)],
    );
    const existing = (name: string) => usableIndexExists(client, s, name);
    const constraintExists = async (table: string, name: string) =>
      (
        await client.query(`SELECT 1 FROM pg_constraint WHERE conrelid = $1::regclass AND conname = $2`, [
          qualify(s, table),
          name,
        ])
      ).rowCount! > 0;
    const timed = async (table: string, index: string, sql: string) => {
      onStart?.(table, index);
      const t0 = performance.now();
      await client.query(sql);
      const r = { table, index, ms: Math.round(performance.now() - t0) };
      reports.push(r);
      onProgress?.(r);
    };
    // keys and plain indexes first (graph nodes before edges: the FKs reference the nodes' key)
    for (const spec of plan.layout.tables) {
      const st = stagingTableName(spec.name);
      if (spec.vector?.storage === 'halfvec') {
        const { rows } = await client.query<{ t: string }>(
          `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2`,
          [qualify(s, st), spec.vector.column],
        );
        if (!rows[0]?.t.startsWith('halfvec')) {
          await timed(
            st,
            `${spec.vector.column} → halfvec`,
            `ALTER TABLE ${qualify(s, st)} ALTER COLUMN ${quoteIdent(spec.vector.column)} TYPE HALFVEC(${spec.vector.dimension})`,
          );
        }
      }
      if (!(await constraintExists(st, spec.primaryKeyName)))
        await timed(st, spec.primaryKeyName, `ALTER TABLE ${qualify(s, st)} ADD ${primaryKeyClause(spec)}`);
      for (const idx of spec.indexes.filter((i) => !i.vector)) {
        if (!(await existing(idx.name))) await timed(st, idx.name, createIndexSql(s, st, idx, false));
      }
    }
    for (const spec of plan.layout.tables) {
      const st = stagingTableName(spec.name);
      const fkSqls = foreignKeySqls(s, st, {
        ...spec,
        foreignKeys: (spec.foreignKeys ?? []).map((fk) => ({ ...fk, refTable: stagingTableName(fk.refTable) })),
      });
      for (const [i, fk] of (spec.foreignKeys ?? []).entries()) {
        if (!(await constraintExists(st, fk.name))) await timed(st, fk.name, fkSqls[i]!);
      }
    }
    for (const spec of plan.layout.tables) {
      const st = stagingTableName(spec.name);
      for (const idx of spec.indexes.filter((i) => i.vector)) {
        if (await existing(idx.name)) continue;
        // An HNSW graph that outgrows maintenance_work_mem is finished on disk, several times slower:
        // give the build what this table's graph needs (never less than the plan's setting, at most its cap).
        if (/USING hnsw/i.test(idx.using) && spec.vector) {
          const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualify(s, st)}`);
          const kb = Math.max(
            toKb(plan.options.maintenanceWorkMem),
            Math.min(
              hnswGraphKb(Number(rows[0]!.n), spec.vector.dimension, spec.vector.storage, plan.options.hnswM),
              toKb(plan.options.maintenanceWorkMemMax),
            ),
          );
          await client.query(`SELECT set_config('maintenance_work_mem', $1, false)`, [`${kb}kB`]);
        }
        await timed(st, idx.name, createIndexSql(s, st, idx, false));
      }
    }
    await client.query('RESET maintenance_work_mem; RESET max_parallel_maintenance_workers');
    for (const spec of plan.layout.tables) await client.query(`ANALYZE ${qualify(s, stagingTableName(spec.name))}`);
    return reports;
  } catch (error) {
    throw classifyPgError(error, `Building indexes in "${s}"`);
  } finally {
    client.release();
  }
}
