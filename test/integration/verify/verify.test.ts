import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planCollections } from '../../../core/migration/planning';
import { planTarget, stagingTable } from '../../../core/postgres';
import { summarizeReport, verifyStaging, writeReport, type VerificationReport } from '../../../core/verify';
import { createScratchDatabase, type ScratchDatabase } from '../../helpers/db';
import { realDir } from '../postgres/fixtureRecords';
import { stagedFixture, stageSources } from './stageSources';

const FIXTURES = [
  'pararthdave__LightRAG__working_dir', // oldest: bare-hash cache, quoted ids, 1536-d matrix
  'Rajendk-AITech__LightRAG__rag_storage', // nested LLM cache, float __created_at__
  'hr231__portOS__rag_storage', // per-record float16 vectors, all newest files
  'bingofhy__LightRag-tmp__rag_storage', // graph nodes without vectors, failed docs
  'kunj-10__HackRx-6.0__data', // 3072-d (no vector index)
];

let db: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase('verify');
});
afterAll(async () => {
  await db?.drop();
});

const failing = (r: VerificationReport) => r.collections.filter((c) => !c.passed);

describe('verifyStaging on untouched staging', () => {
  for (const layout of ['lightrag', 'hybridrag'] as const) {
    for (const name of FIXTURES) {
      it(`passes for ${name} (${layout})`, async () => {
        const { plan, sources } = await stagedFixture(db.pool, name, layout, 'clean');
        const progress: string[] = [];
        const report = await verifyStaging(db.pool, plan, sources, { onProgress: (p) => progress.push(p.phase) });
        expect(failing(report), summarizeReport(report).join('\n')).toEqual([]);
        expect(report.passed).toBe(true);
        expect(progress).toContain('source');
        for (const s of sources) {
          const c = report.collections.find((x) => x.collection === s.collection)!;
          expect(c, s.collection).toBeDefined();
          expect(c.sourceCount).toBe(s.plan.recordCount);
          if (c.expectedCount > 0) expect(c.sample.checked).toBeGreaterThan(0);
          expect(c.targetCount).toBe(c.expectedCount + c.added);
        }
        if (layout === 'lightrag') {
          const nodes = report.collections.find((c) => c.collection === 'graph_nodes');
          if (name.startsWith('bingofhy')) expect(nodes?.added ?? 0).toBeGreaterThanOrEqual(0);
        }
      });
    }
  }
});

describe('verifyStaging finds corruption', () => {
  it('names the changed, missing, duplicate and changed-text ids (lightrag)', async () => {
    const { plan, sources } = await stagedFixture(
      db.pool,
      'Rajendk-AITech__LightRAG__rag_storage',
      'lightrag',
      'corrupt',
    );
    const ent = stagingTable(plan, 'lightrag_vdb_entity');
    const chunks = stagingTable(plan, 'lightrag_doc_chunks');
    const docs = stagingTable(plan, 'lightrag_doc_full');
    const rels = stagingTable(plan, 'lightrag_vdb_relation');
    const pick = async (t: string, offset = 0) =>
      (await db.pool.query<{ id: string }>(`SELECT id FROM ${t} ORDER BY id OFFSET ${offset} LIMIT 1`)).rows[0]!.id;

    // one float of one vector, changed in its last bit
    const entId = await pick(ent, 5);
    await db.pool.query(
      `UPDATE ${ent} SET content_vector = (SELECT array_agg(CASE WHEN i = 17 THEN x * (1 + 1e-7::real) ELSE x END ORDER BY i)::real[]::vector
                                             FROM unnest(content_vector::real[]) WITH ORDINALITY u(x, i)) WHERE id = $1`,
      [entId],
    );
    const changedFloat = await db.pool.query(`SELECT (content_vector::real[])[17] AS x FROM ${ent} WHERE id = $1`, [
      entId,
    ]);
    expect(changedFloat.rowCount).toBe(1);
    const missingId = await pick(chunks, 2);
    await db.pool.query(`DELETE FROM ${chunks} WHERE id = $1`, [missingId]);
    const dupId = await pick(rels, 3);
    await db.pool.query(`INSERT INTO ${rels} SELECT * FROM ${rels} WHERE id = $1`, [dupId]);
    const textId = await pick(docs, 0);
    await db.pool.query(`UPDATE ${docs} SET content = content || ' ' WHERE id = $1`, [textId]);

    const report = await verifyStaging(db.pool, plan, sources, { sampleRate: 1, maxSample: 5000 });
    expect(report.passed).toBe(false);
    const by = (c: string) => report.collections.find((x) => x.collection === c)!;

    const e = by('vdb_entities');
    expect(e.passed).toBe(false);
    expect(e.checksum.match).toBe(false);
    expect(e.differences?.changed).toEqual([entId]);
    expect(e.differences?.total).toBe(1);
    expect(e.sample.mismatches).toEqual([expect.objectContaining({ id: entId, column: 'content_vector', index: 16 })]);

    const c = by('text_chunks');
    expect(c.differences?.missing).toEqual([missingId]);
    expect(c.targetCount).toBe(c.expectedCount - 1);

    const r = by('vdb_relationships');
    expect(r.differences?.duplicate).toEqual([dupId]);
    expect(r.differences?.total).toBe(1);

    const d = by('full_docs');
    expect(d.differences?.changed).toEqual([textId]);
    expect(d.sample.mismatches[0]).toMatchObject({ id: textId, column: 'content' });

    // the untouched collections still pass
    for (const x of report.collections)
      if (!['vdb_entities', 'text_chunks', 'vdb_relationships', 'full_docs'].includes(x.collection))
        expect(x.passed, x.collection).toBe(true);

    const lines = summarizeReport(report);
    expect(lines).toHaveLength(report.collections.length);
    expect(lines.find((l) => l.includes('vdb_entities'))).toContain(entId);

    const dir = mkdtempSync(path.join(os.tmpdir(), 'verify-report-'));
    const file = await writeReport(dir, 'job/1', report);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(report);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    rmSync(dir, { recursive: true, force: true });
  });

  it('names a changed float in a table shared by several collections (hybridrag)', async () => {
    const { plan, sources } = await stagedFixture(db.pool, 'hr231__portOS__rag_storage', 'hybridrag', 'corrupt');
    const t = stagingTable(plan, 'hybridrag_chunks');
    const { rows } = await db.pool.query<{ id: string }>(
      `SELECT chunk_id AS id FROM ${t} WHERE collection = 'vdb_relationships' ORDER BY chunk_id LIMIT 1`,
    );
    const id = rows[0]!.id;
    await db.pool.query(
      `UPDATE ${t} SET embedding = (SELECT array_agg(CASE WHEN i = 1 THEN -x ELSE x END ORDER BY i)::real[]::vector
                                     FROM unnest(embedding::real[]) WITH ORDINALITY u(x, i)) WHERE collection = 'vdb_relationships' AND chunk_id = $1`,
      [id],
    );
    const report = await verifyStaging(db.pool, plan, sources);
    const rel = report.collections.find((c) => c.collection === 'vdb_relationships')!;
    expect(rel.passed).toBe(false);
    expect(rel.differences?.changed).toEqual([id]);
    for (const c of report.collections)
      if (c.collection !== 'vdb_relationships') expect(c.passed, c.collection).toBe(true);
  });
});

describe('endpoint nodes added by finishStaging', () => {
  it('counts them as added, not as a failure (lightrag)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'verify-added-'));
    cpSync(realDir('hr231__portOS__rag_storage'), dir, { recursive: true });
    const file = path.join(dir, 'graph_chunk_entity_relation.graphml');
    const xml = readFileSync(file, 'utf8');
    const edge = /<edge source="([^"]*)"/.exec(xml)!;
    const node = new RegExp(`\\s*<node id="${edge[1]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}">[\\s\\S]*?</node>`).exec(
      xml,
    )!;
    writeFileSync(file, xml.replace(node[0], ''));
    const planned = await planCollections(dir, { batchSize: 5, env: {} });
    const plan = planTarget({ migrationId: 'verify/added', workspace: 'default', dimension: planned.dimension });
    await stageSources(db.pool, plan, planned.collections);
    const report = await verifyStaging(db.pool, plan, planned.collections);
    const nodes = report.collections.find((c) => c.collection === 'graph_nodes')!;
    expect(report.passed, summarizeReport(report).join('\n')).toBe(true);
    expect(nodes.added).toBe(1);
    expect(nodes.targetCount).toBe(nodes.expectedCount + 1);
    rmSync(dir, { recursive: true, force: true });
  });
});
