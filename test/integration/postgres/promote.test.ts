import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '../../helpers/db';
import {
  planTarget,
  promote,
  promotionState,
  rollbackPromote,
  cleanupStaging,
  type TargetPlan,
} from '../../../core/postgres';
import { readFixture, realDir } from './fixtureRecords';
import { stageFixture } from './stageHelper';

let db: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase('target_promote');
});
afterAll(async () => {
  await db?.drop();
});

const TABLES = [
  'lightrag_doc_full',
  'lightrag_doc_chunks',
  'lightrag_llm_cache',
  'lightrag_doc_status',
  'lightrag_vdb_entity',
  'lightrag_vdb_relation',
  'lightrag_vdb_chunks',
  'lightrag_graph_nodes',
  'lightrag_graph_edges',
];

/** One statement counting this workspace's rows in every production table (what a reader sees at one instant). */
async function snapshot(ws: string): Promise<string> {
  const sql = `SELECT ${TABLES.map((t, i) => `(SELECT count(*) FROM public.${t} WHERE workspace = $1) AS c${i}`).join(', ')}`;
  const { rows } = await db.pool.query(sql, [ws]);
  return Object.values(rows[0]).join(',');
}

async function pollDuring<T>(ws: string, action: () => Promise<T>): Promise<{ seen: Set<string>; result: T }> {
  const seen = new Set<string>();
  let stop = false;
  const reader = (async () => {
    while (!stop) {
      try {
        seen.add(await snapshot(ws));
      } catch (error) {
        const code = (error as { code?: string }).code;
        // a reader chosen as deadlock victim simply retries (LightRAG's pool retries too); anything else is recorded
        if (code !== '40P01') seen.add(`error ${code}: ${(error as Error).message}`);
      }
    }
  })();
  await new Promise((r) => setTimeout(r, 50));
  const result = await action();
  await new Promise((r) => setTimeout(r, 50));
  stop = true;
  await reader;
  return { seen, result };
}

describe('promote / rollback', () => {
  const old = readFixture(realDir('Rajendk-AITech__LightRAG__rag_storage'));
  const neu = readFixture(realDir('pararthdave__LightRAG__working_dir'));
  const other = readFixture(realDir('Rahulagowda004__lightrag_implemented_chatbot__root'));
  const p1 = planTarget({ migrationId: 'gen-1', workspace: 'default', dimension: 1536 });
  const p2 = planTarget({ migrationId: 'gen-2', workspace: 'default', dimension: 1536 });
  let oldSnap = '';

  const graph = (t: { table: string }) => t.table.startsWith('lightrag_graph');

  it('creates production tables on first promote (partitioned by workspace; graph tables swapped) with LightRAG names', async () => {
    await stageFixture(db.pool, p1, old);
    const r = await promote(db.pool, p1);
    expect(r.tables.every((t) => t.mode === (graph(t) ? 'swap' : 'attach') && !t.hadPrevious)).toBe(true);
    const kinds = await db.pool.query<{ relname: string; relkind: string }>(
      `SELECT relname, relkind FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname = ANY($1)`,
      [TABLES],
    );
    expect(kinds.rows.filter((k) => k.relkind === 'p').length).toBe(TABLES.length - 2);
    expect(await promotionState(db.pool, p1)).toBe('promoted');
    expect((await promote(db.pool, p1)).alreadyPromoted).toBe(true);
    const { rows } = await db.pool.query<{ indexname: string }>(
      `SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'lightrag_vdb_entity'`,
    );
    expect(rows.map((x) => x.indexname).sort()).toEqual([
      'idx_lightrag_vdb_entity_hnsw_cosine',
      'idx_lightrag_vdb_entity_id',
      'idx_lightrag_vdb_entity_workspace_id',
      'lightrag_vdb_entity_pk',
    ]);
    const def = await db.pool.query(
      `SELECT column_default FROM information_schema.columns WHERE table_name = 'lightrag_doc_full' AND column_name = 'workspace'`,
    );
    expect(def.rows[0].column_default).toBeNull();
    oldSnap = await snapshot('default');
    expect(oldSnap.split(',').map(Number)[4]).toBe(old.vectors.vdb_entities!.length);
  });

  it('a concurrent reader never sees a mixed or empty generation (attach and swap mode)', async () => {
    await stageFixture(db.pool, p2, neu);
    const { seen, result } = await pollDuring('default', () => promote(db.pool, p2));
    expect(result.tables.every((t) => t.mode === (graph(t) ? 'swap' : 'attach') && t.hadPrevious)).toBe(true);
    const newSnap = await snapshot('default');
    expect(newSnap).not.toBe(oldSnap);
    expect(
      [...seen].every((s) => s === oldSnap || s === newSnap),
      [...seen].join(' / '),
    ).toBe(true);
    expect(seen.size).toBeGreaterThanOrEqual(1);
  });

  it('rollback restores the previous generation instantly, and promote again re-applies', async () => {
    const newSnap = await snapshot('default');
    const { seen, result } = await pollDuring('default', () => rollbackPromote(db.pool, p2));
    expect(result.rolledBack).toBe(true);
    expect(await snapshot('default')).toBe(oldSnap);
    expect([...seen].every((s) => s === oldSnap || s === newSnap)).toBe(true);
    expect(await promotionState(db.pool, p2)).toBe('rolled-back');
    await promote(db.pool, p2);
    expect(await snapshot('default')).toBe(newSnap);
  });

  it('another workspace: its own partitions (graph rows mode), other workspaces untouched, reader sees old or new only', async () => {
    const p3 = planTarget({ migrationId: 'gen-3', workspace: 'second ws', dimension: 1536 });
    await stageFixture(db.pool, p3, other);
    const defaultBefore = await snapshot('default');
    const r = await promote(db.pool, p3);
    expect(r.tables.every((t) => t.mode === (graph(t) ? 'rows' : 'attach'))).toBe(true);
    expect(r.tables.filter((t) => !graph(t)).every((t) => !t.hadPrevious)).toBe(true);
    expect(await snapshot('default')).toBe(defaultBefore);
    const secondSnap = await snapshot('second ws');
    // migrate the same workspace again with the other fixture while a reader polls
    const p4 = planTarget({ migrationId: 'gen-4', workspace: 'second ws', dimension: 1536 });
    await stageFixture(db.pool, p4, old);
    const { seen } = await pollDuring('second ws', () => promote(db.pool, p4));
    const fourthSnap = await snapshot('second ws');
    expect(
      [...seen].every((s) => s === secondSnap || s === fourthSnap),
      [...seen].join(' / '),
    ).toBe(true);
    expect(await snapshot('default')).toBe(defaultBefore);
    await rollbackPromote(db.pool, p4);
    expect(await snapshot('second ws')).toBe(secondSnap);
    expect(await snapshot('default')).toBe(defaultBefore);
  });

  it('rolling back a whole-table (swap) promote keeps the rows another workspace added since, and promote again re-applies', async () => {
    // 'default' (p2) was promoted by moving whole tables; 'second ws' was promoted into them since
    const defaultNow = await snapshot('default');
    const secondBefore = await snapshot('second ws');
    expect(secondBefore.split(',').some((n) => Number(n) > 0)).toBe(true);
    const result = await rollbackPromote(db.pool, p2);
    expect(result.rolledBack).toBe(true);
    expect(result.tables.filter((t) => t.mode === 'rows').length).toBeGreaterThan(0);
    expect(await snapshot('second ws')).toBe(secondBefore);
    expect(await snapshot('default')).toBe(oldSnap);
    await promote(db.pool, p2);
    expect(await snapshot('default')).toBe(defaultNow);
    expect(await snapshot('second ws')).toBe(secondBefore);
  });

  it('older LightRAG shapes get missing columns; a different vector dimension is refused, never dropped', async () => {
    // an older doc_status shape and a 1024-d vector table holding another workspace
    await db.pool.query(`CREATE SCHEMA legacy`);
    await db.pool.query(
      `CREATE TABLE legacy.lightrag_doc_status (workspace varchar(255) NOT NULL, id varchar(255) NOT NULL, content_summary varchar(255), content_length int4, chunks_count int4, status varchar(64), file_path text, created_at timestamp, updated_at timestamp, CONSTRAINT lightrag_doc_status_pk PRIMARY KEY (workspace, id))`,
    );
    await db.pool.query(
      `INSERT INTO legacy.lightrag_doc_status (workspace, id, status) VALUES ('someone else', 'doc-x', 'processed')`,
    );
    const base = { workspace: 'default', dimension: 1536, targetSchema: 'legacy' };
    const p5 = planTarget({ migrationId: 'gen-5', ...base });
    await stageFixture(db.pool, p5, old);
    const r = await promote(db.pool, p5);
    const ds = r.tables.find((t) => t.table === 'lightrag_doc_status')!;
    expect(ds.mode).toBe('rows');
    expect(ds.addedColumns.sort()).toEqual(['chunks_list', 'content_hash', 'error_msg', 'metadata', 'track_id']);
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM legacy.lightrag_doc_status`);
    expect(rows[0].n).toBe(1 + old.kv.doc_status!.length);

    await db.pool.query(`CREATE TABLE legacy.lightrag_vdb_chunks_x (LIKE legacy.lightrag_vdb_chunks)`);
    await db.pool.query(`DROP TABLE legacy.lightrag_vdb_chunks_x`);
    await db.pool.query(
      `INSERT INTO legacy.lightrag_vdb_chunks (workspace, id, content_vector) VALUES ('other', 'chunk-x', array_fill(0.5, ARRAY[1536])::vector)`,
    );
    const p6 = planTarget({ migrationId: 'gen-6', workspace: 'ws6', dimension: 4, targetSchema: 'legacy' });
    await stageFixture(db.pool, p6, {
      kv: {},
      vectors: { vdb_chunks: [{ id: 'chunk-1', fields: { content: 'c' }, vector: new Float32Array([1, 0, 0, 0]) }] },
      dim: 4,
      nodes: [],
      edges: [],
    });
    await expect(promote(db.pool, p6)).rejects.toThrow(
      /holds other workspaces' vectors as vector\(1536\).*vector\(4\).*--embedding-model/,
    );
    const still = await db.pool.query(`SELECT count(*)::int AS n FROM legacy.lightrag_vdb_chunks`);
    expect(still.rows[0].n).toBeGreaterThan(0);
    // the model-suffixed table is the way out
    const p7 = planTarget({
      migrationId: 'gen-7',
      workspace: 'ws6',
      dimension: 4,
      targetSchema: 'legacy',
      embeddingModel: 'BAAI/bge-m3',
    });
    await stageFixture(db.pool, p7, {
      kv: {},
      vectors: { vdb_chunks: [{ id: 'chunk-1', fields: { content: 'c' }, vector: new Float32Array([1, 0, 0, 0]) }] },
      dim: 4,
      nodes: [],
      edges: [],
    });
    await promote(db.pool, p7);
    const s = await db.pool.query(
      `SELECT count(*)::int AS n FROM legacy.lightrag_vdb_chunks_baai_bge_m3_4d WHERE workspace = 'ws6'`,
    );
    expect(s.rows[0].n).toBe(1);
    await cleanupStaging(db.pool, p7);
  });
});

describe('plans', () => {
  it('hashes long vector index names like LightRAG', () => {
    const p: TargetPlan = planTarget({
      migrationId: 'x',
      workspace: 'default',
      dimension: 1536,
      embeddingModel: 'text-embedding-3-large',
    });
    const t = p.layout.tables.find((x) => x.name === 'lightrag_vdb_chunks_text_embedding_3_large_1536d')!;
    expect(t.indexes.map((i) => i.name)[0]).toBe('idx_lightrag_vdb_chunks_text_embedding_3_large_1536d_id');
    expect(planTarget({ migrationId: 'x', workspace: 'default', dimension: 3072 }).vectorIndex).toBe('none');
    expect(
      planTarget({ migrationId: 'x', workspace: 'default', dimension: 3072, highDimensionIndex: 'halfvec' })
        .vectorIndex,
    ).toBe('hnsw_halfvec');
  });
});
