import type pg from 'pg';
import { qualify } from './identifiers';
import { defaultPartition, partitionable, productionKind, workspacePartition } from './partitions';
import type { TargetPlan } from './plan';
import type { PromoteMode } from './promote';

/** Rows per second a rows-mode promote moves (measured: ~100 rows/s into a 1536-d HNSW index, issue #15). */
const HNSW_INSERT_ROWS_PER_S_AT_1536 = 100;
const PLAIN_ROWS_PER_S = 20_000;
/** a promote that only changes the catalogue */
const CATALOGUE_SECONDS = 1;

export interface PromotePreviewTable {
  table: string;
  mode: PromoteMode;
  /** what the promote will do to this table, in words */
  how: string;
  seconds: number;
}

export interface PromotePreview {
  tables: PromotePreviewTable[];
  /** expected duration of the promote transaction */
  seconds: number;
}

/**
 * How the promote of this plan would work against the target as it is now (read only): per table
 * attach / swap / rows, as promote() decides it, and how long it is expected to take.
 * `rows`: records per production table of this migration.
 */
export async function previewPromote(
  db: pg.Pool | pg.PoolClient,
  plan: TargetPlan,
  rows: Map<string, number>,
): Promise<PromotePreview> {
  const ws = plan.options.workspace;
  const T = plan.targetSchema;
  const count = async (sql: string, params: unknown[]) =>
    Number((await db.query<{ n: string }>(sql, params)).rows[0]!.n);
  const shared = new Map<string, boolean>();
  for (const spec of plan.layout.tables) {
    const kind = await productionKind(db, T, spec.name);
    shared.set(
      spec.name,
      kind === 'plain' &&
        (await db.query(`SELECT 1 FROM ${qualify(T, spec.name)} WHERE workspace <> $1 LIMIT 1`, [ws])).rowCount! > 0,
    );
  }
  const tables: PromotePreviewTable[] = [];
  for (const spec of plan.layout.tables) {
    const prod = qualify(T, spec.name);
    const kind = await productionKind(db, T, spec.name);
    const newRows = rows.get(spec.name) ?? 0;
    if (partitionable(spec) && kind !== 'plain') {
      let how = kind === 'absent' ? 'creates the table partitioned by workspace, attaches' : 'attaches';
      how += " this workspace's staged table as its partition (keys and vector index reused)";
      let seconds = 0;
      if (kind === 'partitioned' && (await workspacePartition(db, prod, ws))) how += ', detaching the previous one';
      const dflt = kind === 'partitioned' ? await defaultPartition(db, prod) : undefined;
      const inDefault = dflt ? await count(`SELECT count(*) AS n FROM ${dflt} WHERE workspace = $1`, [ws]) : 0;
      if (inDefault) {
        how += `, moving the ${inDefault} rows LightRAG wrote for this workspace out of the DEFAULT partition`;
        seconds = inDefault / PLAIN_ROWS_PER_S;
      }
      tables.push({ table: spec.name, mode: 'attach', how, seconds });
      continue;
    }
    const group = spec.group ? plan.layout.tables.filter((s) => s.group === spec.group) : [spec];
    if (kind === 'absent' || !group.some((s) => shared.get(s.name))) {
      tables.push({ table: spec.name, mode: 'swap', how: 'renames the staged table into place', seconds: 0 });
      continue;
    }
    const previous = await count(`SELECT count(*) AS n FROM ${prod} WHERE workspace = $1`, [ws]);
    const indexed = spec.vector && spec.indexes.some((i) => i.vector);
    const insertRate = indexed ? (HNSW_INSERT_ROWS_PER_S_AT_1536 * 1536) / spec.vector!.dimension : PLAIN_ROWS_PER_S;
    tables.push({
      table: spec.name,
      mode: 'rows',
      how: `copies ${previous} previous rows aside and inserts ${newRows} rows one by one${indexed ? ' into the shared vector index' : ''} (the table holds other workspaces and is not partitioned)`,
      seconds: previous / PLAIN_ROWS_PER_S + newRows / insertRate,
    });
  }
  const seconds = CATALOGUE_SECONDS + tables.reduce((s, t) => s + t.seconds, 0);
  return { tables, seconds: Math.round(seconds) };
}

/** One sentence for the dry run. */
export function describePromotePreview(p: PromotePreview, formatDuration: (s: number) => string): string {
  const by = (mode: PromoteMode) => p.tables.filter((t) => t.mode === mode);
  const parts = [
    by('attach').length && `${by('attach').length} attached as this workspace's partition`,
    by('swap').length && `${by('swap').length} swapped in whole`,
    by('rows').length &&
      `${by('rows').length} with rows moved (${by('rows')
        .map((t) => t.table)
        .join(', ')})`,
  ].filter(Boolean);
  const slow = by('rows').some((t) => t.seconds > 10);
  return (
    `Promote: ${parts.join(', ')}; about ${formatDuration(p.seconds)} in one transaction` +
    (slow
      ? ", holding the shared tables for writers that long (LightRAG's tables hold other workspaces unpartitioned)"
      : '')
  );
}
