import type pg from 'pg';

/** One index build as PostgreSQL reports it in pg_stat_progress_create_index. */
export interface IndexBuildProgress {
  table: string;
  /** e.g. "building index: loading tuples" (pgvector's HNSW), "building index: scanning table" */
  phase: string;
  blocksDone: number;
  blocksTotal: number;
  tuplesDone: number;
  tuplesTotal: number;
}

/**
 * The index builds running now on tables of `schema` (a job's staging schema is its own), from
 * PostgreSQL's own progress view; a parallel build has one row, its leader's.
 */
export async function indexBuildProgress(db: pg.Pool | pg.PoolClient, schema: string): Promise<IndexBuildProgress[]> {
  const { rows } = await db.query<{ table: string; phase: string; bd: string; bt: string; td: string; tt: string }>(
    `SELECT c.relname AS table, p.phase, p.blocks_done AS bd, p.blocks_total AS bt, p.tuples_done AS td, p.tuples_total AS tt
       FROM pg_stat_progress_create_index p
       JOIN pg_class c ON c.oid = p.relid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1`,
    [schema],
  );
  return rows.map((r) => ({
    table: r.table,
    phase: r.phase,
    blocksDone: Number(r.bd),
    blocksTotal: Number(r.bt),
    tuplesDone: Number(r.td),
    tuplesTotal: Number(r.tt),
  }));
}
