import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '../../helpers/db';
import {
  buildIndexes,
  finishStaging,
  listRejects,
  loadBatch,
  planTarget,
  prepareStaging,
  stagingCounts,
  stagingTable,
  checkTarget,
  type TargetPlan,
} from '../../../core/postgres';
import type { VectorRecord } from '../../../core/source/records';
import { batches, readFixture, realDir } from './fixtureRecords';
import { collectionsOf } from './stageHelper';

let db: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase('target_load');
});
afterAll(async () => {
  await db?.drop();
});

async function tableDigest(plan: TargetPlan, table: string): Promise<string> {
  // every column except the timestamps the loader stamps; order-independent
  const { rows } = await db.pool.query<{ d: string; n: string }>(
    `SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) AS d, count(*) AS n FROM (SELECT t::text AS x FROM ${stagingTable(plan, table)} t) s`,
  );
  return `${rows[0]!.n}:${rows[0]!.d}`;
}

function decodeVectorSend(buf: Buffer): Float32Array {
  const dim = buf.readInt16BE(0);
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) out[i] = buf.readFloatBE(4 + i * 4);
  return out;
}

describe('staging load (layout lightrag, real fixture bingofhy 2026)', () => {
  const f = readFixture(realDir('bingofhy__LightRag-tmp__rag_storage'));
  const plan = planTarget({ migrationId: 'load-test-1', workspace: 'default', dimension: f.dim });
  const now = Date.UTC(2026, 0, 2, 3, 4, 5);

  it('loads every collection in batches; counts equal', async () => {
    await prepareStaging(db.pool, plan);
    for (const [collection, records] of collectionsOf(f)) {
      for (const [i, batch] of batches(records, 10).entries()) {
        const r = await loadBatch(db.pool, plan, { collection, batchIndex: i, records: batch, now });
        expect(r.status).toBe('loaded');
        expect(r.rejected).toEqual([]);
      }
    }
    const counts = await stagingCounts(db.pool, plan);
    expect(counts.lightrag_doc_full).toBe(f.kv.full_docs!.length);
    expect(counts.lightrag_doc_chunks).toBe(f.kv.text_chunks!.length);
    expect(counts.lightrag_llm_cache).toBe(f.kv.llm_response_cache!.length);
    expect(counts.lightrag_doc_status).toBe(f.kv.doc_status!.length);
    expect(counts.lightrag_entity_chunks).toBe(f.kv.entity_chunks!.length);
    expect(counts.lightrag_relation_chunks).toBe(f.kv.relation_chunks!.length);
    expect(counts.lightrag_vdb_entity).toBe(f.vectors.vdb_entities!.length);
    expect(counts.lightrag_vdb_relation).toBe(f.vectors.vdb_relationships!.length);
    expect(counts.lightrag_vdb_chunks).toBe(f.vectors.vdb_chunks!.length);
    expect(counts.lightrag_graph_nodes).toBe(f.nodes.length);
    expect(counts.lightrag_graph_edges).toBe(f.edges.length);
  });

  it('round trip: every vector float bit-identical, text and JSON equal', async () => {
    for (const [coll, table] of [
      ['vdb_entities', 'lightrag_vdb_entity'],
      ['vdb_relationships', 'lightrag_vdb_relation'],
      ['vdb_chunks', 'lightrag_vdb_chunks'],
    ] as const) {
      const { rows } = await db.pool.query<{ id: string; v: Buffer; content: string | null }>(
        `SELECT id, vector_send(content_vector) AS v, content FROM ${stagingTable(plan, table)}`,
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const rec of f.vectors[coll] as VectorRecord[]) {
        const row = byId.get(rec.id)!;
        expect(row, rec.id).toBeDefined();
        const got = decodeVectorSend(row.v);
        expect(
          Buffer.from(got.buffer).equals(Buffer.from(rec.vector.buffer, rec.vector.byteOffset, rec.vector.byteLength)),
        ).toBe(true);
        if (typeof rec.fields.content === 'string') expect(row.content).toBe(rec.fields.content);
      }
    }
    const docs = await db.pool.query<{ id: string; content: string; doc_name: string }>(
      `SELECT id, content, doc_name FROM ${stagingTable(plan, 'lightrag_doc_full')}`,
    );
    for (const r of f.kv.full_docs!) {
      const row = docs.rows.find((x) => x.id === r.key)!;
      expect(row.content).toBe(r.value.content);
      expect(row.doc_name).toBe(r.value.file_path ?? '');
    }
    const st = await db.pool.query<{
      id: string;
      chunks_list: unknown;
      metadata: unknown;
      status: string;
      created_at: Date;
    }>(`SELECT id, chunks_list, metadata, status, created_at FROM ${stagingTable(plan, 'lightrag_doc_status')}`);
    for (const r of f.kv.doc_status!) {
      const row = st.rows.find((x) => x.id === r.key)!;
      expect(row.chunks_list).toEqual(r.value.chunks_list ?? []);
      expect(row.metadata).toEqual(r.value.metadata ?? {});
      expect(row.status).toBe(r.value.status);
    }
    const ec = await db.pool.query<{ id: string; chunk_ids: unknown; count: number }>(
      `SELECT id, chunk_ids, count FROM ${stagingTable(plan, 'lightrag_entity_chunks')}`,
    );
    for (const r of f.kv.entity_chunks!)
      expect(ec.rows.find((x) => x.id === r.key)!.chunk_ids).toEqual(r.value.chunk_ids);
    const ent = await db.pool.query<{ id: string; chunk_ids: string[] }>(
      `SELECT id, chunk_ids FROM ${stagingTable(plan, 'lightrag_vdb_entity')}`,
    );
    for (const r of f.vectors.vdb_entities!)
      expect(ent.rows.find((x) => x.id === r.id)!.chunk_ids).toEqual(String(r.fields.source_id).split('<SEP>'));
    const nodes = await db.pool.query<{ id: string; properties: Record<string, unknown> }>(
      `SELECT id, properties FROM ${stagingTable(plan, 'lightrag_graph_nodes')}`,
    );
    for (const n of f.nodes)
      expect(nodes.rows.find((x) => x.id === n.id)!.properties).toEqual({ ...n.attributes, entity_id: n.id });
  });

  it('replaying any batch, or a whole collection, leaves staging unchanged', async () => {
    const before = new Map<string, string>();
    for (const t of plan.layout.tables) before.set(t.name, await tableDigest(plan, t.name));
    // one batch of each collection, replayed with a different "now"
    for (const [collection, records] of collectionsOf(f)) {
      const r = await loadBatch(db.pool, plan, {
        collection,
        batchIndex: 0,
        records: batches(records, 10)[0]!,
        now: now + 999_000,
      });
      expect(r.status).toBe('already-loaded');
    }
    // a whole collection replayed
    for (const [i, batch] of batches(f.vectors.vdb_entities!, 10).entries()) {
      expect(
        (await loadBatch(db.pool, plan, { collection: 'vdb_entities', batchIndex: i, records: batch })).status,
      ).toBe('already-loaded');
    }
    // concurrent duplicates of one batch
    const dup = await Promise.all(
      [0, 1, 2].map(() =>
        loadBatch(db.pool, plan, { collection: 'graph_edges', batchIndex: 0, records: f.edges.slice(0, 10) }),
      ),
    );
    expect(dup.every((d) => d.status === 'already-loaded')).toBe(true);
    for (const t of plan.layout.tables) expect(await tableDigest(plan, t.name), t.name).toBe(before.get(t.name));
  });

  it('finish joins tokens / chunk_order_index from the text chunks in PostgreSQL', async () => {
    await finishStaging(db.pool, plan);
    const { rows } = await db.pool.query<{
      id: string;
      tokens: number;
      chunk_order_index: number;
      full_doc_id: string;
    }>(`SELECT id, tokens, chunk_order_index, full_doc_id FROM ${stagingTable(plan, 'lightrag_vdb_chunks')}`);
    for (const r of rows) {
      const tc = f.kv.text_chunks!.find((c) => c.key === r.id)!;
      expect(r.tokens).toBe(tc.value.tokens);
      expect(r.chunk_order_index).toBe(tc.value.chunk_order_index);
      expect(r.full_doc_id).toBe(tc.value.full_doc_id);
    }
    // every edge endpoint has a node
    const orphans = await db.pool.query(
      `SELECT 1 FROM ${stagingTable(plan, 'lightrag_graph_edges')} e WHERE NOT EXISTS (SELECT 1 FROM ${stagingTable(plan, 'lightrag_graph_nodes')} n WHERE n.id = e.src_id) OR NOT EXISTS (SELECT 1 FROM ${stagingTable(plan, 'lightrag_graph_nodes')} n WHERE n.id = e.tgt_id)`,
    );
    expect(orphans.rowCount).toBe(0);
    // edges canonical
    const nonCanon = await db.pool.query(
      `SELECT 1 FROM ${stagingTable(plan, 'lightrag_graph_edges')} WHERE src_id COLLATE "C" > tgt_id COLLATE "C"`,
    );
    expect(nonCanon.rowCount).toBe(0);
  });

  it('builds LightRAG-named keys and the HNSW index after loading', async () => {
    const reports = await buildIndexes(db.pool, plan);
    expect(reports.map((r) => r.index)).toContain('idx_lightrag_vdb_entity_hnsw_cosine');
    const { rows } = await db.pool.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1`,
      [plan.stagingSchema],
    );
    const names = rows.map((r) => r.indexname);
    for (const n of [
      'lightrag_doc_full_pk',
      'idx_lightrag_doc_full_id',
      'idx_lightrag_doc_full_workspace_id',
      'idx_lightrag_vdb_chunks_hnsw_cosine',
      'lightrag_graph_nodes_pkey',
      'idx_lightrag_graph_edges_namespace_tgt',
      'idx_lightrag_doc_status_track_id',
    ])
      expect(names).toContain(n);
    expect(rows.find((r) => r.indexname === 'idx_lightrag_vdb_chunks_hnsw_cosine')!.indexdef).toMatch(
      /hnsw \(content_vector vector_cosine_ops\) WITH \(m='?16'?, ef_construction='?64'?\)/,
    );
    // idempotent
    expect(await buildIndexes(db.pool, plan)).toEqual([]);
  });
});

describe('per-record errors, never a crash half-way', () => {
  it('reports NaN/Inf vectors and duplicate ids by collection + id, and stores over-long ids whole', async () => {
    const plan = planTarget({ migrationId: 'errors-1', workspace: 'default', dimension: 3 });
    await prepareStaging(db.pool, plan);
    const v = (x: number[]) => new Float32Array(x);
    const r = await loadBatch(db.pool, plan, {
      collection: 'vdb_entities',
      batchIndex: 0,
      records: [
        { id: 'ent-ok', fields: { entity_name: 'A', content: 'a', source_id: 'c1<SEP>c2' }, vector: v([1, 0, 0]) },
        { id: 'ent-nan', fields: { entity_name: 'B' }, vector: v([NaN, 0, 0]) },
        { id: 'ent-inf', fields: { entity_name: 'C' }, vector: v([0, Infinity, 0]) },
        { id: 'x'.repeat(300), fields: { entity_name: 'D' }, vector: v([0, 0, 1]) },
        { id: 'ent-ok', fields: { entity_name: 'A2' }, vector: v([0, 1, 0]) },
        { id: 'ent-dim', fields: {}, vector: v([1, 2]) },
      ],
    });
    expect(r.status).toBe('loaded');
    expect(r.rows).toBe(2);
    expect(r.rejected.map((e) => [e.collection, e.id])).toEqual([
      ['vdb_entities', 'ent-nan'],
      ['vdb_entities', 'ent-inf'],
      ['vdb_entities', 'ent-ok'],
      ['vdb_entities', 'ent-dim'],
    ]);
    expect(r.rejected[0]!.reason).toMatch(/NaN/);
    expect(r.rejected[2]!.reason).toMatch(/duplicate/);
    // a duplicate across batches is reported by finish; the replay reports the same rejects
    await loadBatch(db.pool, plan, {
      collection: 'vdb_entities',
      batchIndex: 1,
      records: [{ id: 'ent-ok', fields: { entity_name: 'A3' }, vector: v([0, 0, 1]) }],
    });
    const again = await loadBatch(db.pool, plan, { collection: 'vdb_entities', batchIndex: 0, records: [] });
    expect(again.status).toBe('already-loaded');
    expect(again.rejected.length).toBe(4);
    const fin = await finishStaging(db.pool, plan);
    expect(fin.duplicates).toEqual([expect.objectContaining({ collection: 'vdb_entities', id: 'ent-ok' })]);
    expect((await stagingCounts(db.pool, plan)).lightrag_vdb_entity).toBe(2);
    expect((await listRejects(db.pool, plan)).length).toBe(5);
    // an entity chunk key longer than LightRAG's VARCHAR(512) is stored whole
    const kv = await loadBatch(db.pool, plan, {
      collection: 'entity_chunks',
      batchIndex: 0,
      records: [
        { key: 'e'.repeat(513), value: { chunk_ids: [], count: 0 } },
        { key: 'ok', value: { chunk_ids: ['a'], count: 1 } },
      ],
    });
    expect(kv.rows).toBe(2);
    expect(kv.rejected).toEqual([]);
  });

  it('a failing source iterator rolls the whole batch back (marker included)', async () => {
    const plan = planTarget({ migrationId: 'errors-2', workspace: 'default', dimension: 2 });
    await prepareStaging(db.pool, plan);
    async function* broken() {
      yield { key: 'a', value: { content: 'x' } };
      throw new Error('disk read failed');
    }
    await expect(
      loadBatch(db.pool, plan, { collection: 'full_docs', batchIndex: 0, records: broken() }),
    ).rejects.toThrow(/disk read failed/);
    expect((await stagingCounts(db.pool, plan)).lightrag_doc_full).toBe(0);
    const ok = await loadBatch(db.pool, plan, {
      collection: 'full_docs',
      batchIndex: 0,
      records: [{ key: 'a', value: { content: 'x' } }],
    });
    expect(ok.status).toBe('loaded');
  });
});

describe('scoping, identifiers and clear errors', () => {
  it('a job resumes only with the batch size it was staged with (batch boundaries are the exactly-once keys)', async () => {
    const p = planTarget({ migrationId: 'load-test-batching', workspace: 'default', dimension: 8 });
    await prepareStaging(db.pool, p, { batchSize: 3 });
    await prepareStaging(db.pool, p, { batchSize: 3 });
    await expect(prepareStaging(db.pool, p, { batchSize: 5 })).rejects.toThrow(
      'Job load-test-batching was staged in batches of 3 records; resume it with --batch-size 3 (the batch boundaries are what load every record exactly once).',
    );
    await expect(prepareStaging(db.pool, p, { batchSize: 5 })).rejects.toMatchObject({
      name: 'TargetError',
      kind: 'permanent',
    });
  });

  it('two migrations into one PostgreSQL never share staging', () => {
    const a = planTarget({ migrationId: 'migrate/db-a', workspace: 'default', dimension: 4 });
    const b = planTarget({ migrationId: 'migrate/db-b', workspace: 'default', dimension: 4 });
    expect(a.stagingSchema).not.toBe(b.stagingSchema);
    expect(a.generationSchema).not.toBe(b.generationSchema);
  });

  it('workspaces with quotes, spaces and unicode work', async () => {
    const ws = `it's a "ws" ünïcødé 😀`;
    const plan = planTarget({ migrationId: `m'"; DROP TABLE x; --`, workspace: ws, dimension: 2 });
    await prepareStaging(db.pool, plan);
    await loadBatch(db.pool, plan, {
      collection: 'full_docs',
      batchIndex: 0,
      records: [{ key: 'doc-\'"', value: { content: 'c 😀' } }],
    });
    const { rows } = await db.pool.query(
      `SELECT workspace, id, content FROM ${stagingTable(plan, 'lightrag_doc_full')}`,
    );
    expect(rows).toEqual([{ workspace: ws, id: 'doc-\'"', content: 'c 😀' }]);
    expect(() => planTarget({ migrationId: 'x', workspace: '../etc', dimension: 2 })).toThrow(/single path component/);
  });

  it('a role without CREATE privilege gets a clear error naming privilege and schema', async () => {
    const role = `nocreate_${Date.now()}`;
    await db.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD 'secret-pw-123'`);
    await db.pool.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
    const url = new URL(db.url);
    url.username = role;
    url.password = 'secret-pw-123';
    const pg = await import('pg');
    const pool = new pg.default.Pool({ connectionString: url.toString(), max: 1 });
    try {
      const plan = planTarget({ migrationId: 'priv', workspace: 'default', dimension: 2 });
      const err = await prepareStaging(pool, plan).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/lacks the CREATE privilege on database/);
      expect(err?.message).not.toContain('secret-pw-123');
      await db.pool.query(`GRANT CREATE ON DATABASE "${db.name}" TO ${role}`);
      const err2 = await checkTarget(pool, plan).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err2?.message).toMatch(/lacks the CREATE privilege on schema "public"/);
    } finally {
      await pool.end();
      await db.pool.query(`REVOKE ALL ON DATABASE "${db.name}" FROM ${role}`);
      await db.pool.query(`DROP ROLE ${role}`);
    }
  });

  it('a server without pgvector gets a clear error', async () => {
    const fake = {
      options: { host: 'db.example', port: 5432 },
      query: async () => ({
        rows: [
          {
            db: 'x',
            usr: 'u',
            installed: null,
            available: null,
            can_create_db: true,
            schema_exists: true,
            can_create_schema: true,
          },
        ],
      }),
    };
    const plan = planTarget({ migrationId: 'nv', workspace: 'default', dimension: 2 });
    await expect(checkTarget(fake as never, plan)).rejects.toThrow(/^pgvector is not installed on db\.example:5432/);
  });
});

describe('layout hybridrag', () => {
  it('every record of every file lands in a row of the four tables; vectors bit-identical', async () => {
    const f = readFixture(realDir('hr231__portOS__rag_storage'));
    const plan = planTarget({ migrationId: 'hyb-1', workspace: 'default', dimension: f.dim, layout: 'hybridrag' });
    await prepareStaging(db.pool, plan);
    for (const [collection, records] of collectionsOf(f)) {
      for (const [i, batch] of batches(records, 25).entries())
        expect((await loadBatch(db.pool, plan, { collection, batchIndex: i, records: batch })).rejected).toEqual([]);
    }
    await finishStaging(db.pool, plan);
    await buildIndexes(db.pool, plan);
    const counts = await stagingCounts(db.pool, plan);
    const kvTotal =
      Object.entries(f.kv)
        .filter(([k]) => k !== 'doc_status')
        .reduce((s, [, v]) => s + v.length, 0) + f.nodes.length;
    expect(counts.hybridrag_kv_store).toBe(kvTotal);
    expect(counts.hybridrag_doc_status).toBe(f.kv.doc_status!.length);
    expect(counts.hybridrag_chunks).toBe(Object.values(f.vectors).reduce((s, v) => s + v.length, 0));
    expect(counts.hybridrag_graph_edges).toBe(f.edges.length);
    const { rows } = await db.pool.query<{
      collection: string;
      id: string;
      v: Buffer;
      metadata: Record<string, unknown>;
    }>(
      `SELECT collection, chunk_id AS id, vector_send(embedding) AS v, metadata FROM ${stagingTable(plan, 'hybridrag_chunks')}`,
    );
    for (const [coll, recs] of Object.entries(f.vectors)) {
      for (const r of recs) {
        const row = rows.find((x) => x.collection === coll && x.id === r.id)!;
        expect(
          Buffer.from(decodeVectorSend(row.v).buffer).equals(
            Buffer.from(r.vector.buffer, r.vector.byteOffset, r.vector.byteLength),
          ),
        ).toBe(true);
        expect(row.metadata).toEqual(r.fields);
      }
    }
    const kv = await db.pool.query<{ collection: string; id: string; value: unknown }>(
      `SELECT collection, key AS id, value FROM ${stagingTable(plan, 'hybridrag_kv_store')}`,
    );
    for (const r of f.kv.llm_response_cache!)
      expect(kv.rows.find((x) => x.collection === 'llm_response_cache' && x.id === r.key)!.value).toEqual(r.value);
  });
});
