/**
 * Nothing left behind (issue 14): a hostile copy of a real store (NUL in text and jsonb, lone
 * surrogates, a 600-character entity name, a 300-character document id, a bare-hash cache key,
 * control characters, emoji, CJK, right-to-left text) is staged, verified and promoted with the
 * production readers and loader; every record becomes a row, every fitted value is listed, the rest
 * is verified byte-exact, and LightRAG 1.5.7 reads the fitted rows and starts without an ERROR.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '../../helpers/db';
import { BARE_CACHE_KEY, EXOTIC, LONG_DOC_ID, hostileCopy, type HostileStore } from '../../helpers/hostile';
import { buildIndexes, finishStaging, planTarget, promote, type TargetPlan } from '../../../core/postgres';
import { verifyStaging, type VerificationReport, type VerifySource } from '../../../core/verify';
import { planFixture, stageSources } from '../verify/stageSources';
import { realDir } from './fixtureRecords';
import { lightragPython, runLightragProbe } from './lightragProbe';

let db: ScratchDatabase;
let python = '';
let store: HostileStore;
let sources: VerifySource[];
let plan: TargetPlan;
let report: VerificationReport;
let overLong: unknown;

beforeAll(async () => {
  python = lightragPython();
  db = await createScratchDatabase('fitted_lightrag');
  store = hostileCopy(realDir('hr231__portOS__rag_storage'));
  const planned = await planFixture(store.dir, 5);
  sources = planned.sources;
  plan = planTarget({ migrationId: 'fitted-1', workspace: 'default', dimension: planned.dimension });
  await stageSources(db.pool, plan, sources);
  overLong = (await finishStaging(db.pool, plan)).overLightragVarchar; // idempotent: what the activity reports
  report = await verifyStaging(db.pool, plan, sources);
  await buildIndexes(db.pool, plan);
  await promote(db.pool, plan);
}, 900_000);
afterAll(async () => {
  await db?.drop();
});

const collection = (name: string) => report.collections.find((c) => c.collection === name)!;
const fitsOf = (name: string, id: string) => collection(name).fitted.listed.filter((f) => f.id === id);

describe('a hostile store migrates whole (layout lightrag)', () => {
  it('makes a row of every source record, and the verification passes byte-exact on the rest', () => {
    for (const c of report.collections) {
      expect(c.rejected, c.collection).toBe(0);
      expect(c.targetCount - c.added, c.collection).toBe(c.sourceCount);
    }
    expect(report.passed).toBe(true);
  });

  it('names every fitted value: collection, id, field and what changed', () => {
    expect(fitsOf('text_chunks', store.nulChunk)).toEqual([
      { id: store.nulChunk, field: 'content', change: '2 NUL removed at offsets 5, 11' },
    ]);
    expect(fitsOf('vdb_chunks', store.nulChunk)).toEqual([
      { id: store.nulChunk, field: 'content', change: '2 NUL removed at offsets 5, 11' },
    ]);
    expect(fitsOf('full_docs', store.surrogateDoc)).toEqual([
      { id: store.surrogateDoc, field: 'content', change: '1 lone surrogate replaced by U+FFFD at offset 5' },
    ]);
    expect(fitsOf('doc_status', store.jsonbNulDoc)).toEqual(
      expect.arrayContaining([
        { id: store.jsonbNulDoc, field: 'metadata.extracted_title', change: '1 NUL removed at offset 5' },
        { id: store.jsonbNulDoc, field: 'metadata key "keynul"', change: '1 NUL removed at offset 3' },
      ]),
    );
    expect(fitsOf('llm_response_cache', `default:extract:${BARE_CACHE_KEY}`)).toEqual([
      {
        id: `default:extract:${BARE_CACHE_KEY}`,
        field: 'id',
        change: `renamed from "${BARE_CACHE_KEY}" to "default:extract:${BARE_CACHE_KEY}"`,
      },
    ]);
    // long names and ids are stored whole, not fitted; exotic text is stored as it is
    const fittedIds = report.collections.flatMap((c) => c.fitted.listed.map((f) => f.id));
    expect(fittedIds).not.toContain(LONG_DOC_ID);
    expect(fittedIds).not.toContain(store.renamedEntity.id);
    expect(report.collections.reduce((n, c) => n + c.fitted.values, 0)).toBe(6);
  });

  it('stores the fitted values and keeps the rest exact in PostgreSQL', async () => {
    const q = async (sql: string, params: unknown[]) =>
      (await db.pool.query(sql, params)).rows[0] as Record<string, unknown>;
    const chunk = await q(`SELECT content FROM lightrag_doc_chunks WHERE workspace = 'default' AND id = $1`, [
      store.nulChunk,
    ]);
    expect(chunk.content).not.toContain('\0');
    expect(String(chunk.content).endsWith(EXOTIC)).toBe(true);
    const doc = await q(`SELECT content FROM lightrag_doc_full WHERE workspace = 'default' AND id = $1`, [
      store.surrogateDoc,
    ]);
    expect(String(doc.content).startsWith('lone \ufffd here, pair 😀 fine.')).toBe(true);
    const long = await q(`SELECT content FROM lightrag_doc_full WHERE workspace = 'default' AND id = $1`, [
      LONG_DOC_ID,
    ]);
    expect(long.content).toBe(`a document with a long id${EXOTIC}`);
    const ent = await q(`SELECT entity_name FROM lightrag_vdb_entity WHERE workspace = 'default' AND id = $1`, [
      store.renamedEntity.id,
    ]);
    expect(ent.entity_name).toBe(store.renamedEntity.to);
    const legacy = await q(`SELECT count(*)::int AS n FROM lightrag_llm_cache WHERE id NOT LIKE '%:%'`, []);
    expect(legacy.n).toBe(0);
    // the unsuffixed vector table holds a name longer than LightRAG's own VARCHAR(512): named
    expect(overLong).toEqual([{ table: 'lightrag_vdb_entity', column: 'entity_name', limit: 512, rows: 1 }]);
  });

  it('LightRAG reads the fitted rows, finds the long-named entity by name (vectors and graph), and logs no ERROR', () => {
    const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
    expect(store.renamedEntity.id).toBe(`ent-${md5(store.renamedEntity.to)}`);
    const out = runLightragProbe(
      python,
      'lightrag_probe.py',
      {
        workspace: 'default',
        dim: plan.options.dimension,
        doc_ids: [store.surrogateDoc, LONG_DOC_ID],
        chunk_ids: [store.nulChunk],
        status_ids: [store.jsonbNulDoc, LONG_DOC_ID],
        node_ids: [store.renamedEntity.to],
        edges: [],
        node_vector_ids: [store.renamedEntity.id],
        query_vector: new Array(plan.options.dimension).fill(0.01),
        top_k: 3,
        entity_names: [store.renamedEntity.to],
      },
      db.url,
    ).result;
    expect(out.log_errors).toEqual([]);
    expect(out.docs[0].content.startsWith('lone \ufffd here')).toBe(true);
    expect(out.docs[1].content).toBe(`a document with a long id${EXOTIC}`);
    expect(out.chunks[0].content).not.toContain('\0');
    expect(out.chunks[0].content.endsWith(EXOTIC)).toBe(true);
    expect(out.status[store.jsonbNulDoc].metadata.extracted_title).toBe('Titlewith NUL');
    expect(out.status[LONG_DOC_ID].file_path).toBe('long.txt');
    expect(out.entities_by_name[store.renamedEntity.to].entity_name).toBe(store.renamedEntity.to);
    expect(out.nodes[store.renamedEntity.to].entity_id).toBe(store.renamedEntity.to);
    expect(out.node_degree[store.renamedEntity.to]).toBeGreaterThan(0);
  }, 300_000);
});

describe('the hybridrag layout of the same store, queried with the column names the guide documents', () => {
  it('holds every record under (workspace, key, value), (workspace, source_id, target_id, properties), (workspace, chunk_id, content, embedding, metadata) and (workspace, doc_id, status_data)', async () => {
    const hplan = planTarget({
      migrationId: 'fitted-hybridrag',
      workspace: 'guide',
      dimension: plan.options.dimension,
      layout: 'hybridrag',
    });
    await stageSources(db.pool, hplan, sources);
    const hreport = await verifyStaging(db.pool, hplan, sources);
    expect(hreport.passed).toBe(true);
    for (const c of hreport.collections) expect(c.rejected, c.collection).toBe(0);
    await buildIndexes(db.pool, hplan);
    await promote(db.pool, hplan);
    const count = (c: string) => hreport.collections.find((x) => x.collection === c)!.sourceCount;
    const kv = await db.pool.query<{ key: string; value: Record<string, unknown> }>(
      `SELECT workspace, key, value FROM hybridrag_kv_store WHERE workspace = 'guide'`,
    );
    const kvCollections = ['full_docs', 'text_chunks', 'llm_response_cache', 'full_entities', 'full_relations'];
    const kvExpected = [...kvCollections, 'entity_chunks', 'relation_chunks', 'graph_nodes'].reduce(
      (n, c) => n + (hreport.collections.some((x) => x.collection === c) ? count(c) : 0),
      0,
    );
    expect(kv.rows.length).toBe(kvExpected);
    expect(kv.rows.find((r) => r.key === LONG_DOC_ID)!.value.content).toBe(`a document with a long id${EXOTIC}`);
    const edges = await db.pool.query<{ source_id: string; target_id: string; properties: Record<string, unknown> }>(
      `SELECT workspace, source_id, target_id, properties FROM hybridrag_graph_edges WHERE workspace = 'guide'`,
    );
    expect(edges.rows.length).toBe(count('graph_edges'));
    expect(
      edges.rows.some((e) => e.source_id === store.renamedEntity.to || e.target_id === store.renamedEntity.to),
    ).toBe(true);
    const chunks = await db.pool.query<{ chunk_id: string; content: string | null; metadata: Record<string, unknown> }>(
      `SELECT workspace, chunk_id, content, embedding, metadata FROM hybridrag_chunks WHERE workspace = 'guide'`,
    );
    expect(chunks.rows.length).toBe(count('vdb_chunks') + count('vdb_entities') + count('vdb_relationships'));
    expect(chunks.rows.find((r) => r.chunk_id === store.renamedEntity.id)!.metadata.entity_name).toBe(
      store.renamedEntity.to,
    );
    expect(chunks.rows.find((r) => r.chunk_id === store.nulChunk)!.content).not.toContain('\0');
    const status = await db.pool.query<{ doc_id: string; status_data: Record<string, unknown> }>(
      `SELECT workspace, doc_id, status_data FROM hybridrag_doc_status WHERE workspace = 'guide'`,
    );
    expect(status.rows.length).toBe(count('doc_status'));
    expect(
      (status.rows.find((r) => r.doc_id === store.jsonbNulDoc)!.status_data.metadata as Record<string, unknown>)
        .extracted_title,
    ).toBe('Titlewith NUL');
  });
});
