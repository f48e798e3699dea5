import type pg from 'pg';
import { TargetError, classifyPgError } from './errors';
import { columnDdl, createIndexSql } from './ddl';
import { qualify, quoteIdent, quoteLiteral } from './identifiers';
import type { TableSpec } from './layouts/types';
import {
  createPartitionedTable,
  defaultPartition,
  liveSchema,
  partitionable,
  prepareForAttach,
  productionKind,
  workspacePartition,
  type ProductionKind,
} from './partitions';
import { stagingTableName, type TargetPlan } from './plan';
import { ensureIterativeScan, restoreSettings } from './searchSettings';

export type PromoteMode = 'swap' | 'rows' | 'attach';

export interface PromotedTable {
  table: string;
  /**
   * attach: the staged table became this workspace's partition of the (partitioned) production
   * table, the previous partition detached; swap: the staged table replaced the whole production
   * table (renames); rows: this workspace's rows were replaced
   */
  mode: PromoteMode;
  /** production held this workspace before (those rows are now the previous generation) */
  hadPrevious: boolean;
  previousRows: number;
  rows: number;
  /** columns added to an older LightRAG table, as LightRAG itself would */
  addedColumns: string[];
}

export interface PromoteResult {
  alreadyPromoted: boolean;
  tables: PromotedTable[];
  /** how long the promote transaction held production locks (BEGIN to COMMIT) */
  transactionMs: number;
  /** database-level settings changed or left (hnsw.iterative_scan), for the report */
  notes: string[];
}

const promotionsTable = (plan: TargetPlan) => qualify(plan.generationSchema, '_promotions');
const SETTINGS_TABLE = '_settings';

async function regclass(c: pg.PoolClient, schema: string, table: string): Promise<boolean> {
  const { rows } = await c.query<{ r: string | null }>(`SELECT to_regclass($1) AS r`, [qualify(schema, table)]);
  return rows[0]!.r !== null;
}

async function count(c: pg.PoolClient | pg.Pool, sql: string, params: unknown[] = []): Promise<number> {
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

/** Work done before the transaction so it holds production locks only for catalogue changes. */
async function prepareStagedTables(pool: pg.Pool, plan: TargetPlan): Promise<Map<string, number>> {
  const rows = new Map<string, number>();
  const S = plan.stagingSchema;
  for (const spec of plan.layout.tables) {
    const staged = stagingTableName(spec.name);
    const { rows: found } = await pool.query<{ r: string | null }>(`SELECT to_regclass($1) AS r`, [qualify(S, staged)]);
    if (!found[0]!.r) continue;
    rows.set(spec.name, await count(pool, `SELECT count(*) AS n FROM ${qualify(S, staged)}`));
    if (!partitionable(spec)) continue;
    const kind = await productionKind(pool, plan.targetSchema, spec.name);
    if (kind === 'plain') continue;
    const parent = kind === 'partitioned' ? qualify(plan.targetSchema, spec.name) : undefined;
    await prepareForAttach(pool, { schema: S, table: staged }, parent, plan.options.workspace);
  }
  return rows;
}

/**
 * Promotes the staged generation in ONE transaction, so readers see the old generation or the
 * new one, never a mix:
 * - attach mode (production absent or partitioned by workspace — what this tool creates): the
 *   staged table, keys and vector index built, becomes this workspace's partition; the previous
 *   partition is detached into this migration's previous-generation schema. Catalogue changes
 *   only: seconds whatever the other workspaces hold, and each workspace searches its own index;
 * - swap mode (an unpartitioned production table holding no other workspace's rows, and the graph
 *   tables): the whole production table moves into the previous-generation schema and the staged
 *   table is renamed into its place;
 * - rows mode (an unpartitioned table LightRAG or an older version made, holding other
 *   workspaces): this workspace's production rows are copied to the previous-generation schema,
 *   deleted, and the staged rows inserted (INSERT … SELECT); other workspaces' rows are untouched.
 *   An older LightRAG table gets its missing columns added (as LightRAG does at startup); a vector
 *   column of another dimension is refused, never dropped.
 * The two graph tables (linked by foreign keys) always move in the same mode. hnsw.iterative_scan is
 * set for the database (see searchSettings.ts). Idempotent: a second call after success is a no-op;
 * after a rollback it promotes again.
 */
export async function promote(
  pool: pg.Pool,
  plan: TargetPlan,
  options: { lockTimeoutMs?: number; onTable?: (table: PromotedTable) => void } = {},
): Promise<PromoteResult> {
  return withRetry(async () => {
    const stagedRows = await prepareStagedTables(pool, plan);
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      const t0 = performance.now();
      try {
        const result = await promoteTx(c, plan, options.lockTimeoutMs ?? 30_000, stagedRows, options.onTable);
        await c.query('COMMIT');
        result.transactionMs = Math.round(performance.now() - t0);
        await countPrevious(c, plan, result);
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

/** Rows of detached previous partitions, counted after COMMIT (they no longer change). */
async function countPrevious(c: pg.PoolClient, plan: TargetPlan, result: PromoteResult): Promise<void> {
  const { rows } = await c.query<{ table_name: string; previous_table: string }>(
    `SELECT table_name, previous_table FROM ${promotionsTable(plan)} WHERE previous_schema IS NOT NULL AND rolled_back_at IS NULL`,
  );
  for (const r of rows) {
    const t = result.tables.find((x) => x.table === r.table_name);
    if (t)
      t.previousRows = await count(c, `SELECT count(*) AS n FROM ${qualify(plan.generationSchema, r.previous_table)}`);
  }
}

/**
 * Promotes and rollbacks into one target schema take turns (they are catalogue changes of well
 * under a second): two first promotes would otherwise both create the partitioned tables.
 */
async function serialiseOnTarget(c: pg.PoolClient, schema: string): Promise<void> {
  await c.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`hybridrag-migrate promote ${schema}`]);
}

interface TableState {
  kind: ProductionKind;
  others: boolean;
  /** attach mode: the partition now holding this workspace */
  partition?: { schema: string; table: string };
  /** attach mode: the DEFAULT partition, when it holds rows of this workspace (LightRAG wrote them) */
  defaultWithRows?: string;
}

async function promoteTx(
  c: pg.PoolClient,
  plan: TargetPlan,
  lockTimeoutMs: number,
  stagedRows: Map<string, number>,
  onTable?: (table: PromotedTable) => void,
): Promise<PromoteResult> {
  const ws = plan.options.workspace;
  const S = plan.stagingSchema;
  const G = plan.generationSchema;
  const T = plan.targetSchema;
  const none: PromoteResult = { alreadyPromoted: true, tables: [], transactionMs: 0, notes: [] };
  await c.query(`SELECT set_config('lock_timeout', $1, true)`, [`${lockTimeoutMs}ms`]);
  await serialiseOnTarget(c, T);
  await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(G)}`);
  await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(T)}`);
  await c.query(
    `CREATE TABLE IF NOT EXISTS ${promotionsTable(plan)} (ord INTEGER NOT NULL, table_name TEXT PRIMARY KEY, mode TEXT NOT NULL, had_previous BOOLEAN NOT NULL,
       workspace TEXT NOT NULL, promoted_at TIMESTAMPTZ NOT NULL DEFAULT now(), rolled_back_at TIMESTAMPTZ,
       previous_schema TEXT, previous_table TEXT, created BOOLEAN NOT NULL DEFAULT false)`,
  );
  // serialise promotes/rollbacks of this migration
  await c.query(`LOCK TABLE ${promotionsTable(plan)} IN EXCLUSIVE MODE`);
  const prior = await c.query<{
    table_name: string;
    mode: string;
    rolled_back_at: Date | null;
    previous_schema: string | null;
    had_previous: boolean;
  }>(`SELECT table_name, mode, rolled_back_at, previous_schema, had_previous FROM ${promotionsTable(plan)}`);
  if (prior.rows.some((r) => r.rolled_back_at === null)) return none;
  // previous generations copied row by row by an earlier (rolled back) promote
  for (const r of prior.rows)
    if (r.mode === 'rows' || (r.mode === 'attach' && r.had_previous && r.previous_schema === null))
      await c.query(`DROP TABLE IF EXISTS ${qualify(G, r.table_name)}`);
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

  const state = new Map<string, TableState>();
  const modeOf = new Map<string, PromoteMode>();
  for (const spec of specs) {
    const kind = await productionKind(c, T, spec.name);
    const st: TableState = { kind, others: false };
    if (partitionable(spec) && kind === 'partitioned') {
      st.partition = await workspacePartition(c, qualify(T, spec.name), ws);
      const dflt = await defaultPartition(c, qualify(T, spec.name));
      if (dflt && (await c.query(`SELECT 1 FROM ${dflt} WHERE workspace = $1 LIMIT 1`, [ws])).rowCount)
        st.defaultWithRows = dflt;
    }
    state.set(spec.name, st);
  }
  // Lock production tables in a fixed order: writers wait, readers go on reading the old generation
  // (a partitioned table that only gains a partition is not even closed to writers).
  for (const spec of specs) {
    const st = state.get(spec.name)!;
    if (st.kind === 'absent') continue;
    const prod = qualify(T, spec.name);
    if (partitionable(spec) && st.kind === 'partitioned') {
      const detach = st.partition !== undefined;
      await c.query(`LOCK TABLE ${prod} IN ${detach ? 'ACCESS EXCLUSIVE' : 'SHARE UPDATE EXCLUSIVE'} MODE`);
      continue;
    }
    await c.query(`LOCK TABLE ${prod} IN SHARE ROW EXCLUSIVE MODE`);
    st.others = (await c.query(`SELECT 1 FROM ${prod} WHERE workspace <> $1 LIMIT 1`, [ws])).rowCount! > 0;
  }
  for (const spec of specs) {
    const st = state.get(spec.name)!;
    if (partitionable(spec) && st.kind !== 'plain') {
      modeOf.set(spec.name, 'attach');
      continue;
    }
    const group = spec.group ? specs.filter((s) => s.group === spec.group) : [spec];
    modeOf.set(spec.name, group.some((s) => state.get(s.name)!.others) ? 'rows' : 'swap');
  }

  // Swap-mode tables get ACCESS EXCLUSIVE up front, in the layout's order (a reader statement that
  // names the tables in that order cannot deadlock with us; others may be chosen as deadlock victims
  // and retry, and so would we).
  for (const spec of specs) {
    if (state.get(spec.name)!.kind !== 'absent' && modeOf.get(spec.name) === 'swap')
      await c.query(`LOCK TABLE ${qualify(T, spec.name)} IN ACCESS EXCLUSIVE MODE`);
  }
  const results = new Map<string, PromotedTable>();
  const previousOf = new Map<string, { schema: string; table: string } | undefined>();
  // 1) move the previous generation out (reverse order: edges before the nodes they reference)
  for (const spec of [...specs].reverse()) {
    const st = state.get(spec.name)!;
    const mode = modeOf.get(spec.name)!;
    const prod = qualify(T, spec.name);
    const r: PromotedTable = {
      table: spec.name,
      mode,
      hadPrevious: st.kind !== 'absent',
      previousRows: 0,
      rows: 0,
      addedColumns: [],
    };
    results.set(spec.name, r);
    if (st.kind === 'absent') continue;
    if (mode !== 'swap') await refuseOtherVectorType(c, T, spec);
    if (mode === 'attach') {
      r.hadPrevious = st.partition !== undefined || st.defaultWithRows !== undefined;
      if (st.partition) {
        const { schema, table } = st.partition;
        await c.query(`ALTER TABLE ${prod} DETACH PARTITION ${qualify(schema, table)}`);
        await c.query(`DROP TABLE IF EXISTS ${qualify(G, table)}`);
        await c.query(`ALTER TABLE ${qualify(schema, table)} SET SCHEMA ${quoteIdent(G)}`);
        previousOf.set(spec.name, st.partition);
      } else if (st.defaultWithRows) {
        await c.query(`DROP TABLE IF EXISTS ${qualify(G, spec.name)}`);
        await c.query(
          `CREATE TABLE ${qualify(G, spec.name)} AS SELECT * FROM ${st.defaultWithRows} WHERE workspace = ${quoteLiteral(ws)}`,
        );
        r.previousRows = (await c.query(`DELETE FROM ${st.defaultWithRows} WHERE workspace = $1`, [ws])).rowCount ?? 0;
      }
    } else if (mode === 'swap') {
      await c.query(`LOCK TABLE ${prod} IN ACCESS EXCLUSIVE MODE`);
      r.previousRows = await count(c, `SELECT count(*) AS n FROM ${prod}`);
      await c.query(`DROP TABLE IF EXISTS ${qualify(G, spec.name)}`);
      await c.query(`ALTER TABLE ${prod} SET SCHEMA ${quoteIdent(G)}`);
    } else {
      r.addedColumns = await upgradeShape(c, T, spec);
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
    if (r.mode === 'attach') {
      await attachStaged(c, plan, spec, state.get(spec.name)!.kind === 'absent');
      r.rows = stagedRows.get(spec.name) ?? 0;
    } else if (r.mode === 'swap') {
      await c.query(`LOCK TABLE ${staged} IN ACCESS EXCLUSIVE MODE`);
      await c.query(`ALTER TABLE ${staged} RENAME TO ${quoteIdent(spec.name)}`);
      await c.query(`ALTER TABLE ${qualify(S, spec.name)} SET SCHEMA ${quoteIdent(T)}`);
      await c.query(`ALTER TABLE ${prod} ALTER COLUMN "workspace" DROP DEFAULT`);
      r.rows = await count(c, `SELECT count(*) AS n FROM ${prod}`);
    } else {
      const cols = spec.columns.map((x) => quoteIdent(x.name)).join(', ');
      r.rows = (await c.query(`INSERT INTO ${prod} (${cols}) SELECT ${cols} FROM ${staged}`)).rowCount ?? 0;
    }
    const previous = previousOf.get(spec.name);
    await c.query(
      `INSERT INTO ${promotionsTable(plan)} (ord, table_name, mode, had_previous, workspace, previous_schema, previous_table, created)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        ord,
        spec.name,
        r.mode,
        r.hadPrevious,
        ws,
        previous?.schema ?? null,
        previous?.table ?? null,
        state.get(spec.name)!.kind === 'absent',
      ],
    );
    onTable?.(r);
  }
  const notes = specs.some((s) => s.vector && s.indexes.some((i) => i.vector))
    ? [await ensureIterativeScan(c, qualify(G, SETTINGS_TABLE))]
    : [];
  return { alreadyPromoted: false, tables: specs.map((s) => results.get(s.name)!), transactionMs: 0, notes };
}

/** A shared production table whose vector column has another type is never changed (nor dropped). */
async function refuseOtherVectorType(c: pg.PoolClient, schema: string, spec: TableSpec): Promise<void> {
  if (!spec.vector) return;
  const have = await vectorType(c, schema, spec.name, spec.vector.column);
  const want = `${spec.vector.storage}(${spec.vector.dimension})`;
  if (have && have !== want) {
    throw new TargetError(
      `The production table ${schema}.${spec.name} holds other workspaces' vectors as ${have}, but this migration has ${want}; ` +
        `write to LightRAG's model-suffixed tables instead (--embedding-model) — the existing table is left untouched.`,
    );
  }
}

/** The staged table (prepared by prepareForAttach) becomes this workspace's partition in the live schema. */
async function attachStaged(c: pg.PoolClient, plan: TargetPlan, spec: TableSpec, createParent: boolean) {
  const L = liveSchema(plan);
  const staged = qualify(plan.stagingSchema, stagingTableName(spec.name));
  if (createParent) await createPartitionedTable(c, plan.targetSchema, spec);
  await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(L)}`);
  await c.query(`ALTER TABLE ${staged} RENAME TO ${quoteIdent(spec.name)}`);
  await c.query(`ALTER TABLE ${qualify(plan.stagingSchema, spec.name)} SET SCHEMA ${quoteIdent(L)}`);
  await c.query(`ALTER TABLE ${qualify(L, spec.name)} ALTER COLUMN "workspace" DROP DEFAULT`);
  await c.query(
    `ALTER TABLE ${qualify(plan.targetSchema, spec.name)} ATTACH PARTITION ${qualify(L, spec.name)} FOR VALUES IN (${quoteLiteral(plan.options.workspace)})`,
  );
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
  /** database settings the promote had changed, now restored */
  notes: string[];
}

interface PromotionRow {
  table_name: string;
  mode: PromoteMode;
  had_previous: boolean;
  previous_schema: string | null;
  previous_table: string | null;
  /** the promote created the production table (it did not exist before) */
  created: boolean;
}

/**
 * Restores the previous generation in ONE transaction (catalogue changes in attach and swap mode:
 * detach/attach and renames). The generation that was promoted goes back to staging (attach,
 * swap) or stays in staging (rows), so a later promote can bring it back; other workspaces'
 * partitions and rows are untouched. No-op when nothing is promoted.
 */
export async function rollbackPromote(
  pool: pg.Pool,
  plan: TargetPlan,
  options: { lockTimeoutMs?: number } = {},
): Promise<RollbackResult> {
  const ws = plan.options.workspace;
  const nothing: RollbackResult = { rolledBack: false, tables: [], notes: [] };
  return withRetry(async () => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      try {
        await c.query(`SELECT set_config('lock_timeout', $1, true)`, [`${options.lockTimeoutMs ?? 30_000}ms`]);
        if (!(await regclass(c, plan.generationSchema, '_promotions'))) {
          await c.query('ROLLBACK');
          return nothing;
        }
        await c.query(`LOCK TABLE ${promotionsTable(plan)} IN EXCLUSIVE MODE`);
        const { rows } = await c.query<PromotionRow>(
          `SELECT table_name, mode, had_previous, previous_schema, previous_table, created FROM ${promotionsTable(plan)} WHERE rolled_back_at IS NULL ORDER BY ord`,
        );
        if (rows.length === 0) {
          await c.query('ROLLBACK');
          return nothing;
        }
        const result = await rollbackTx(c, plan, rows);
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
    throw classifyPgError(error, `Rolling back the promote of workspace "${ws}"`);
  });
}

async function rollbackTx(c: pg.PoolClient, plan: TargetPlan, rows: PromotionRow[]): Promise<RollbackResult> {
  const ws = plan.options.workspace;
  const S = plan.stagingSchema;
  const G = plan.generationSchema;
  const T = plan.targetSchema;
  await serialiseOnTarget(c, T);
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
      (await c.query(`SELECT 1 FROM ${qualify(T, r.table_name)} WHERE workspace <> $1 LIMIT 1`, [ws])).rowCount! > 0
    )
      shared.add(r.table_name);
  }
  const out: RollbackResult['tables'] = [];
  // out: reverse order (edges first)
  for (const r of [...rows].reverse()) {
    const prod = qualify(T, r.table_name);
    const staged = stagingTableName(r.table_name);
    if (r.mode === 'attach') {
      const live = await workspacePartition(c, prod, ws);
      if (live) {
        await c.query(`ALTER TABLE ${prod} DETACH PARTITION ${qualify(live.schema, live.table)}`);
        await c.query(`ALTER TABLE ${qualify(live.schema, live.table)} SET SCHEMA ${quoteIdent(S)}`);
        await c.query(`ALTER TABLE ${qualify(S, live.table)} RENAME TO ${quoteIdent(staged)}`);
        await c.query(`ALTER TABLE ${qualify(S, staged)} ALTER COLUMN "workspace" SET DEFAULT ${quoteLiteral(ws)}`);
      }
      if (r.created && (await holdsNothingElse(c, prod))) await c.query(`DROP TABLE ${prod}`);
    } else if (shared.has(r.table_name)) {
      await c.query(`CREATE TABLE ${qualify(S, staged)} (LIKE ${prod} INCLUDING ALL)`);
      await c.query(`INSERT INTO ${qualify(S, staged)} SELECT * FROM ${prod} WHERE workspace = $1`, [ws]);
      await c.query(`ALTER TABLE ${qualify(S, staged)} ALTER COLUMN "workspace" SET DEFAULT ${quoteLiteral(ws)}`);
      await c.query(`DELETE FROM ${prod} WHERE workspace = $1`, [ws]);
    } else if (r.mode === 'swap') {
      await c.query(`ALTER TABLE ${prod} SET SCHEMA ${quoteIdent(S)}`);
      await c.query(`ALTER TABLE ${qualify(S, r.table_name)} RENAME TO ${quoteIdent(staged)}`);
      await c.query(`ALTER TABLE ${qualify(S, staged)} ALTER COLUMN "workspace" SET DEFAULT ${quoteLiteral(ws)}`);
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
    if (r.mode === 'attach') {
      if (r.previous_schema && r.previous_table) {
        await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(r.previous_schema)}`);
        await c.query(`ALTER TABLE ${qualify(G, r.previous_table)} SET SCHEMA ${quoteIdent(r.previous_schema)}`);
        const previous = qualify(r.previous_schema, r.previous_table);
        await c.query(`ALTER TABLE ${prod} ATTACH PARTITION ${previous} FOR VALUES IN (${quoteLiteral(ws)})`);
        restored = await count(c, `SELECT count(*) AS n FROM ${previous}`);
      } else if (r.had_previous) {
        restored = await copyRows(c, qualify(G, r.table_name), prod);
      }
    } else if (shared.has(r.table_name)) {
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
  const notes = await restoreSettings(c, G, SETTINGS_TABLE);
  return { rolledBack: true, tables: out, notes };
}

/** A partitioned table with no partition but an empty DEFAULT one (what a first promote created, rolled back). */
async function holdsNothingElse(c: pg.PoolClient, parent: string): Promise<boolean> {
  const { rows } = await c.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_inherits WHERE inhparent = $1::regclass`,
    [parent],
  );
  const dflt = await defaultPartition(c, parent);
  if (Number(rows[0]!.n) !== (dflt ? 1 : 0)) return false;
  return !dflt || (await c.query(`SELECT 1 FROM ${dflt} LIMIT 1`)).rowCount === 0;
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

/** What a promote did, in sentences for the job's report. */
export function promoteNotes(result: PromoteResult): string[] {
  if (result.alreadyPromoted) return ['already promoted: nothing changed'];
  const by = (mode: PromoteMode) => result.tables.filter((t) => t.mode === mode).length;
  return [
    `${result.tables.length} tables promoted in one transaction of ${result.transactionMs} ms ` +
      `(${by('attach')} attached as this workspace's partition, ${by('swap')} swapped in whole, ${by('rows')} with this workspace's rows replaced); ` +
      `the previous generation is kept for rollback`,
    ...result.notes,
  ];
}
