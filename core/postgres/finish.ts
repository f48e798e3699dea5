import type pg from 'pg';
import { classifyPgError, type RecordError } from './errors';
import { quoteIdent } from './identifiers';
import type { TableSpec } from './layouts/types';
import { rejectTable, stagingTable, type TargetPlan } from './plan';

type Queryable = pg.Pool | pg.PoolClient;

function collectionOf(plan: TargetPlan, spec: TableSpec): string {
  const names = Object.values(plan.layout.collections)
    .filter((m) => m && m.table === spec.name)
    .map((m) => m.collection);
  return names.length === 1 ? names[0]! : names.join('|');
}

/**
 * Removes rows whose id repeats across batches (a replay never does this: replays are no-ops),
 * keeping the row loaded last, and records each removed one as a per-record error. Idempotent.
 */
export async function dedupeStagingTable(db: Queryable, plan: TargetPlan, spec: TableSpec): Promise<RecordError[]> {
  const t = stagingTable(plan, spec.name);
  const ident = spec.identity.map(quoteIdent);
  const hasCollection = spec.columns.some((c) => c.name === 'collection');
  const key = spec.identity
    .filter((k) => k !== 'namespace' && k !== 'collection')
    .map((k) => `${quoteIdent(k)}::text`)
    .join(` || ' -> ' || `);
  const { rows } = await db.query<{ collection: string; id: string }>(
    `WITH ranked AS (
       SELECT ctid AS c, row_number() OVER (PARTITION BY ${ident.join(', ')} ORDER BY ctid DESC) AS rn, ${key} AS k,
              ${hasCollection ? '"collection"' : '$1::text'} AS coll
       FROM ${t}),
     del AS (DELETE FROM ${t} WHERE ctid IN (SELECT c FROM ranked WHERE rn > 1)),
     ins AS (INSERT INTO ${rejectTable(plan)} (collection, batch_index, id, reason)
             SELECT coll, NULL, k, 'duplicate id: another batch holds a record with the same id (the last loaded is kept)' FROM ranked WHERE rn > 1
             RETURNING collection, id)
     SELECT collection, id FROM ins`,
    hasCollection ? [] : [collectionOf(plan, spec)],
  );
  return rows.map((r) => ({
    collection: r.collection,
    id: r.id,
    reason: 'duplicate id: another batch holds a record with the same id (the last loaded is kept)',
  }));
}

export interface FinishResult {
  duplicates: RecordError[];
  steps: { name: string; rows: number }[];
  /** values in unsuffixed vector tables longer than LightRAG's own VARCHAR (see TableSpec.lightragVarchar) */
  overLightragVarchar: { table: string; column: string; limit: number; rows: number }[];
}

/** Rows of unsuffixed vector tables whose values exceed LightRAG's own VARCHAR sizes, per column. */
async function overLightragVarchar(db: Queryable, plan: TargetPlan): Promise<FinishResult['overLightragVarchar']> {
  const out: FinishResult['overLightragVarchar'] = [];
  for (const spec of plan.layout.tables) {
    for (const [column, limit] of Object.entries(spec.lightragVarchar ?? {})) {
      const { rows } = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${stagingTable(plan, spec.name)} WHERE char_length(${quoteIdent(column)}) > ${limit}`,
      );
      if (Number(rows[0]!.n) > 0) out.push({ table: spec.name, column, limit, rows: Number(rows[0]!.n) });
    }
  }
  return out;
}

/**
 * Finishes staging after every collection is loaded, all inside PostgreSQL: cross-batch duplicates,
 * then the layout's cross-collection steps (lightrag: the chunk-vector ⋈ text-chunk join for
 * tokens / chunk_order_index, required-field fill, a node for every edge endpoint). Idempotent.
 */
export async function finishStaging(db: Queryable, plan: TargetPlan): Promise<FinishResult> {
  try {
    const duplicates: RecordError[] = [];
    for (const spec of plan.layout.tables) duplicates.push(...(await dedupeStagingTable(db, plan, spec)));
    const steps: FinishResult['steps'] = [];
    for (const step of plan.layout.finishSteps) {
      let sql = step.sql;
      step.tables.forEach((table, i) => {
        sql = sql.split(`$T${i}`).join(stagingTable(plan, table));
      });
      const r = await db.query(sql);
      steps.push({ name: step.name, rows: r.rowCount ?? 0 });
    }
    return { duplicates, steps, overLightragVarchar: await overLightragVarchar(db, plan) };
  } catch (error) {
    throw classifyPgError(error, `Finishing the staging tables in "${plan.stagingSchema}"`);
  }
}

/** Row counts of every staging table (and per collection where a table holds several). */
export async function stagingCounts(db: Queryable, plan: TargetPlan): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const spec of plan.layout.tables) {
    const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${stagingTable(plan, spec.name)}`);
    out[spec.name] = Number(rows[0]!.n);
  }
  return out;
}
