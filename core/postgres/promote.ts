import type pg from 'pg';
import { TargetError, classifyPgError } from './errors';
import { columnDdl, createIndexSql } from './ddl';
import { qualify, quoteIdent, quoteLiteral } from './identifiers';
import type { TableSpec } from './layouts/types';
import { stagingTableName, type TargetPlan } from './plan';

export type PromoteMode = 'swap' | 'rows';

export interface PromotedTable {
  table: string;
  /** swap: the staged table replaced the whole production table (renames); rows: this workspace's rows were replaced */
  mode: PromoteMode;
  /** production existed before (its rows of this workspace are now the previous generation) */
  hadPrevious: boolean;
  previousRows: number;
  rows: number;
  /** columns added to an older LightRAG table, as LightRAG itself would */
  addedColumns: string[];
}

export interface PromoteResult {
  alreadyPromoted: boolean;
  tables: PromotedTable[];
}

const promotionsTable = (plan: TargetPlan) => qualify(plan.generationSchema, '_promotions');

async function regclass(c: pg.PoolClient, schema: string, table: string): Promise<boolean> {
  const { rows } = await c.query<{ r: string | null }>(`SELECT to_regclass($1) AS r`, [qualify(schema, table)]);
  return rows[0]!.r !== null;
}

async function count(c: pg.PoolClient, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await c.query<{ n: string }>(sql, params);
  return Number(rows[0]!.n);
}

async function vectorType(
  c: pg.PoolClient,
  schema: string,
  table: string,
  column: string,
): Promise<string | undefined> {
  const { rows } = await c.query<{ t: string }>(
    `SELECT format_type(a.atttypid, a.atttypmod) AS t FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attname = $2 AND NOT a.attisdropped`,
    [qualify(schema, table), column],
  );
  return rows[0]?.t;
}

async function withRetry<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (i >= attempts || (code !== '40P01' && code !== '55P03' && code !== '40001')) throw error;
      await new Promise((r) => setTimeout(r, 200 * i));
    }
  }
}

/**
 * Promotes the staged generation in ONE transaction, so readers see the old generation or the
 * new one, never a mix:
 * - swap mode (production table absent, or holding no other workspace's rows): the whole
 *   production table moves into this migration's previous-generation schema and the staged table
 *   (already keyed and indexed under LightRAG's names) is renamed into its place — instant even
 *   for millions of rows with an HNSW index;
 * - rows mode (other workspaces present): this workspace's production rows are copied to the
 *   previous-generation schema, deleted, and the staged rows inserted (INSERT … SELECT); other
 *   workspaces' rows are untouched. An older LightRAG table gets its missing columns added (as
 *   LightRAG does at startup); a vector column of another dimension is refused, never dropped.
 * The two graph tables (linked by foreign keys) always move in the same mode.
 * Idempotent: a second call after success is a no-op; after a rollback it promotes again.
 */
export async function promote(
  pool: pg.Pool,
  plan: TargetPlan,
  options: { lockTimeoutMs?: number; onTable?: (table: PromotedTable) => void } = {},
): Promise<PromoteResult> {
  return withRetry(async () => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      try {
        const result = await promoteTx(c, plan, options.lockTimeoutMs ?? 30_000, options.onTable);
        await c.query('COMMIT');
        return result;
      } catch (error) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } finally {
      c.release();
    }
  }).catch((error) => {
    throw classifyPgError(error, `Promoting the staged tables of workspace "${plan.options.workspace}"`);
  });
}

async function promoteTx(
  c: pg.PoolClient,
  plan: TargetPlan,
  lockTimeoutMs: number,
  onTable?: (table: PromotedTable) => void,
): Promise<PromoteResult> {
  const ws = plan.options.workspace;
  const S = plan.stagingSchema;
  const G = plan.generationSchema;
  const T = plan.targetSchema;
  await c.query(`SELECT set_config('lock_timeout', $1, true)`, [`${lockTimeoutMs}ms`]);
  await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(G)}`);
  await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(T)}`);
  await c.query(
    `CREATE TABLE IF NOT EXISTS ${promotionsTable(plan)} (ord INTEGER NOT NULL, table_name TEXT PRIMARY KEY, mode TEXT NOT NULL, had_previous BOOLEAN NOT NULL,
       workspace TEXT NOT NULL, promoted_at TIMESTAMPTZ NOT NULL DEFAULT now(), rolled_back_at TIMESTAMPTZ)`,
  );
  // serialise promotes/rollbacks of this migration
  await c.query(`LOCK TABLE ${promotionsTable(plan)} IN EXCLUSIVE MODE`);
  const prior = await c.query<{ table_name: string; mode: string; rolled_back_at: Date | null }>(
    `SELECT table_name, mode, rolled_back_at FROM ${promotionsTable(plan)}`,
  );
  if (prior.rows.some((r) => r.rolled_back_at === null)) return { alreadyPromoted: true, tables: [] };
  for (const r of prior.rows) if (r.mode === 'rows') await c.query(`DROP TABLE IF EXISTS ${qualify(G, r.table_name)}`);
  await c.query(`DELETE FROM ${promotionsTable(plan)}`);

  const specs = plan.layout.tables;
  for (const spec of specs) {
    if (!(await regclass(c, S, stagingTableName(spec.name)))) {
      throw new TargetError(
        `The staging table ${S}.${stagingTableName(spec.name)} is missing; run the staging phase (prepare, load, finish, build indexes) before promoting.`,
      );
    }
    const hasPk = await count(
      c,
      `SELECT count(*) AS n FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`,
      [qualify(S, stagingTableName(spec.name))],
    );
    if (!hasPk)
      throw new TargetError(
        `The staging table ${S}.${stagingTableName(spec.name)} has no primary key yet; build the indexes (buildIndexes) before promoting.`,
      );
  }

  // Lock production tables in a fixed order: writers wait, readers go on reading the old generation.
  const state = new Map<string, { exists: boolean; others: boolean }>();
  for (const spec of specs) {
    const exists = await regclass(c, T, spec.name);
    let others = false;
    if (exists) {
      await c.query(`LOCK TABLE ${qualify(T, spec.name)} IN SHARE ROW EXCLUSIVE MODE`);
      others =
        (await c.query(`SELECT 1 FROM ${qualify(T, spec.name)} WHERE workspace <> $1 LIMIT 1`, [ws])).rowCount! > 0;
    }
    state.set(spec.name, { exists, others });
  }
  const modeOf = new Map<string, PromoteMode>();
  for (const spec of specs) {
    const group = spec.group ? specs.filter((s) => s.group === spec.group) : [spec];
    modeOf.set(spec.name, group.some((s) => state.get(s.name)!.others) ? 'rows' : 'swap');
  }

  // Swap-mode tables get ACCESS EXCLUSIVE up front, in the layout's order (a reader statement that
  // names the tables in that order cannot deadlock with us; others may be chosen as deadlock victims
  // and retry, and so would we).
  for (const spec of specs) {
    if (state.get(spec.name)!.exists && modeOf.get(spec.name) === 'swap')
      await c.query(`LOCK TABLE ${qualify(T, spec.name)} IN ACCESS EXCLUSIVE MODE`);
  }
  const results = new Map<string, PromotedTable>();
  // 1) move the previous generation out (reverse order: edges before the nodes they reference)
  for (const spec of [...specs].reverse()) {
    const st = state.get(spec.name)!;
    const mode = modeOf.get(spec.name)!;
    const prod = qualify(T, spec.name);
    const r: PromotedTable = {
      table: spec.name,
      mode,
      hadPrevious: st.exists,
      previousRows: 0,
      rows: 0,
      addedColumns: [],
    };
    results.set(spec.name, r);
    if (!st.exists) continue;
    if (mode === 'swap') {
      await c.query(`LOCK TABLE ${prod} IN ACCESS EXCLUSIVE MODE`);
      r.previousRows = await count(c, `SELECT count(*) AS n FROM ${prod}`);
      await c.query(`DROP TABLE IF EXISTS ${qualify(G, spec.name)}`);
      await c.query(`ALTER TABLE ${prod} SET SCHEMA ${quoteIdent(G)}`);
    } else {
      r.addedColumns = await upgradeShape(c, T, spec);
      if (spec.vector) {
        const have = await vectorType(c, T, spec.name, spec.vector.column);
        const want = `${spec.vector.storage}(${spec.vector.dimension})`;
        if (have && have !== want) {
          throw new TargetError(
            `The production table ${T}.${spec.name} holds other workspaces' vectors as ${have}, but this migration has ${want}; ` +
              `write to LightRAG's model-suffixed tables instead (--embedding-model) — the existing table is left untouched.`,
          );
        }
      }
      await c.query(`DROP TABLE IF EXISTS ${qualify(G, spec.name)}`);
      await c.query(
        `CREATE TABLE ${qualify(G, spec.name)} AS SELECT * FROM ${prod} WHERE workspace = ${quoteLiteral(ws)}`,
      );
      r.previousRows = (await c.query(`DELETE FROM ${prod} WHERE workspace = $1`, [ws])).rowCount ?? 0;
    }
  }
  // 2) bring the new generation in (nodes before edges)
  for (const [ord, spec] of specs.entries()) {
    const r = results.get(spec.name)!;
    const prod = qualify(T, spec.name);
    const staged = qualify(S, stagingTableName(spec.name));
    if (r.mode === 'swap') {
      await c.query(`LOCK TABLE ${staged} IN ACCESS EXCLUSIVE MODE`);
      await c.query(`ALTER TABLE ${staged} RENAME TO ${quoteIdent(spec.name)}`);
      await c.query(`ALTER TABLE ${qualify(S, spec.name)} SET SCHEMA ${quoteIdent(T)}`);
      await c.query(`ALTER TABLE ${prod} ALTER COLUMN "workspace" DROP DEFAULT`);
      r.rows = await count(c, `SELECT count(*) AS n FROM ${prod}`);
    } else {
      const cols = spec.columns.map((x) => quoteIdent(x.name)).join(', ');
      r.rows = (await c.query(`INSERT INTO ${prod} (${cols}) SELECT ${cols} FROM ${staged}`)).rowCount ?? 0;
    }
    await c.query(
      `INSERT INTO ${promotionsTable(plan)} (ord, table_name, mode, had_previous, workspace) VALUES ($1, $2, $3, $4, $5)`,
      [ord, spec.name, r.mode, r.hadPrevious, ws],
    );
    onTable?.(r);
  }
  return { alreadyPromoted: false, tables: specs.map((s) => results.get(s.name)!) };
}

/** Adds the layout's columns missing from an existing (older) production table, as LightRAG's startup does. */
async function upgradeShape(c: pg.PoolClient, schema: string, spec: TableSpec): Promise<string[]> {
  const { rows } = await c.query<{ attname: string }>(
    `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
    [qualify(schema, spec.name)],
  );
  const have = new Set(rows.map((r) => r.attname));
  const added: string[] = [];
  for (const col of spec.columns) {
    if (have.has(col.name)) continue;
    await c.query(`ALTER TABLE ${qualify(schema, spec.name)} ADD COLUMN IF NOT EXISTS ${columnDdl(spec, col.name)}`);
    added.push(col.name);
  }
  for (const idx of spec.indexes.filter((i) => !i.vector)) await c.query(createIndexSql(schema, spec.name, idx, true));
  return added;
}

/**
 * Copies every row of `from` into `to` by column name (the columns both have: production may have
 * gained columns since, see upgradeShape); returns the rows copied.
 */
async function copyRows(c: pg.PoolClient, from: string, to: string): Promise<number> {
  const { rows } = await c.query<{ attname: string }>(
    `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
       AND attname IN (SELECT attname FROM pg_attribute WHERE attrelid = $2::regclass AND attnum > 0 AND NOT attisdropped) ORDER BY attnum`,
    [from, to],
  );
  const list = rows.map((x) => quoteIdent(x.attname)).join(', ');
  return (await c.query(`INSERT INTO ${to} (${list}) SELECT ${list} FROM ${from}`)).rowCount ?? 0;
}

export interface RollbackResult {
  rolledBack: boolean;
  tables: { table: string; mode: PromoteMode; restoredRows: number }[];
}

/**
 * Restores the previous generation in ONE transaction (instant in swap mode: renames back). The
 * generation that was promoted goes back to staging (swap) or stays in staging (rows), so a
 * later promote can bring it back. No-op when nothing is promoted.
 */
export async function rollbackPromote(
  pool: pg.Pool,
  plan: TargetPlan,
  options: { lockTimeoutMs?: number } = {},
): Promise<RollbackResult> {
  const ws = plan.options.workspace;
  const S = plan.stagingSchema;
  const G = plan.generationSchema;
  const T = plan.targetSchema;
  return withRetry(async () => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      try {
        await c.query(`SELECT set_config('lock_timeout', $1, true)`, [`${options.lockTimeoutMs ?? 30_000}ms`]);
        if (!(await regclass(c, G, '_promotions'))) {
          await c.query('ROLLBACK');
          return { rolledBack: false, tables: [] };
        }
        await c.query(`LOCK TABLE ${promotionsTable(plan)} IN EXCLUSIVE MODE`);
        const { rows } = await c.query<{ table_name: string; mode: PromoteMode; had_previous: boolean }>(
          `SELECT table_name, mode, had_previous FROM ${promotionsTable(plan)} WHERE rolled_back_at IS NULL ORDER BY ord`,
        );
        if (rows.length === 0) {
          await c.query('ROLLBACK');
          return { rolledBack: false, tables: [] };
        }
        await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(S)}`);
        for (const r of rows) await c.query(`LOCK TABLE ${qualify(T, r.table_name)} IN ACCESS EXCLUSIVE MODE`);
        // A table promoted whole (swap) may since hold other workspaces' rows (a later migration of
        // another workspace promoted in rows mode): moving it out would take their rows too. Such a
        // table is rolled back row by row: this workspace's rows go back to staging, the previous
        // generation (this workspace's rows only: swap was chosen because there were no others) comes back.
        const shared = new Set<string>();
        for (const r of rows) {
          if (
            r.mode === 'swap' &&
            (await c.query(`SELECT 1 FROM ${qualify(T, r.table_name)} WHERE workspace <> $1 LIMIT 1`, [ws])).rowCount! >
              0
          )
            shared.add(r.table_name);
        }
        const out: RollbackResult['tables'] = [];
        // out: reverse order (edges first)
        for (const r of [...rows].reverse()) {
          const prod = qualify(T, r.table_name);
          if (shared.has(r.table_name)) {
            const staged = qualify(S, stagingTableName(r.table_name));
            await c.query(`CREATE TABLE ${staged} (LIKE ${prod} INCLUDING ALL)`);
            await c.query(`INSERT INTO ${staged} SELECT * FROM ${prod} WHERE workspace = $1`, [ws]);
            await c.query(`ALTER TABLE ${staged} ALTER COLUMN "workspace" SET DEFAULT ${quoteLiteral(ws)}`);
            await c.query(`DELETE FROM ${prod} WHERE workspace = $1`, [ws]);
          } else if (r.mode === 'swap') {
            await c.query(`ALTER TABLE ${prod} SET SCHEMA ${quoteIdent(S)}`);
            await c.query(
              `ALTER TABLE ${qualify(S, r.table_name)} RENAME TO ${quoteIdent(stagingTableName(r.table_name))}`,
            );
            await c.query(
              `ALTER TABLE ${qualify(S, stagingTableName(r.table_name))} ALTER COLUMN "workspace" SET DEFAULT ${quoteLiteral(ws)}`,
            );
          } else {
            await c.query(`DELETE FROM ${prod} WHERE workspace = $1`, [ws]);
          }
        }
        /** previous generations copied back row by row (shared tables): dropped at the end */
        const emptied: string[] = [];
        // in: forward order (nodes first)
        for (const r of rows) {
          const prod = qualify(T, r.table_name);
          let restored = 0;
          if (shared.has(r.table_name)) {
            if (r.had_previous) {
              const previous = qualify(G, r.table_name);
              restored = await copyRows(c, previous, prod);
              emptied.push(previous);
            }
          } else if (r.mode === 'swap') {
            if (r.had_previous) {
              await c.query(`ALTER TABLE ${qualify(G, r.table_name)} SET SCHEMA ${quoteIdent(T)}`);
              restored = await count(c, `SELECT count(*) AS n FROM ${prod}`);
            }
          } else if (r.had_previous) {
            restored = await copyRows(c, qualify(G, r.table_name), prod);
          }
          out.push({ table: r.table_name, mode: shared.has(r.table_name) ? 'rows' : r.mode, restoredRows: restored });
        }
        // edges before the nodes they reference
        for (const previous of emptied.reverse()) await c.query(`DROP TABLE ${previous}`);
        await c.query(`UPDATE ${promotionsTable(plan)} SET rolled_back_at = now() WHERE rolled_back_at IS NULL`);
        await c.query('COMMIT');
        return { rolledBack: true, tables: out };
      } catch (error) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } finally {
      c.release();
    }
  }).catch((error) => {
    throw classifyPgError(error, `Rolling back the promote of workspace "${ws}"`);
  });
}

/** Whether this migration's generation is currently promoted. */
export async function promotionState(
  db: pg.Pool | pg.PoolClient,
  plan: TargetPlan,
): Promise<'not-promoted' | 'promoted' | 'rolled-back'> {
  const { rows } = await db.query<{ r: string | null }>(`SELECT to_regclass($1) AS r`, [promotionsTable(plan)]);
  if (!rows[0]!.r) return 'not-promoted';
  const s = await db.query<{ live: string; total: string }>(
    `SELECT count(*) FILTER (WHERE rolled_back_at IS NULL) AS live, count(*) AS total FROM ${promotionsTable(plan)}`,
  );
  const { live, total } = s.rows[0]!;
  return Number(live) > 0 ? 'promoted' : Number(total) > 0 ? 'rolled-back' : 'not-promoted';
}
