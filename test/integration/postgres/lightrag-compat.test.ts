import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '../../helpers/db';
import { planTarget, promote } from '../../../core/postgres';
import { canonicalPair } from '../../../core/postgres/layouts/common';
import { readFixture, realDir } from './fixtureRecords';
import { cosineTopK, lightragPython, runLightragProbe } from './lightragProbe';
import { stageFixture } from './stageHelper';

let db: ScratchDatabase;
let python = '';

beforeAll(async () => {
  python = lightragPython();
  db = await createScratchDatabase('target_lightrag');
}, 900_000);
afterAll(async () => {
  await db?.drop();
});

describe('LightRAG (lightrag-hku 1.5.7) opens a migrated workspace', () => {
  it('reads documents, chunks, doc status, graph nodes and edges, and ranks vectors like the source', async () => {
    const f = readFixture(realDir('bingofhy__LightRag-tmp__rag_storage'));
    const plan = planTarget({ migrationId: 'compat-1', workspace: 'default', dimension: f.dim });
    expect(await stageFixture(db.pool, plan, f)).toEqual([]);
    await promote(db.pool, plan);

    const ents = f.vectors.vdb_entities!;
    const q = ents[3]!.vector;
    const topK = 5;
    const expected = cosineTopK(q, ents, topK);
    const edge = f.edges[0]!;
    const spec = {
      workspace: 'default',
      dim: f.dim,
      doc_ids: f.kv.full_docs!.map((r) => r.key),
      chunk_ids: f.kv.text_chunks!.map((r) => r.key),
      status_ids: f.kv.doc_status!.slice(0, 3).map((r) => r.key),
      node_ids: f.nodes.slice(0, 3).map((n) => n.id),
      node_vector_ids: ents.slice(0, 2).map((r) => r.id),
      edges: [[edge.target, edge.source]],
      query_vector: Array.from(q),
      top_k: topK,
    };
    const out = runLightragProbe(python, 'lightrag_probe.py', spec, db.url).result;

    expect(out.log_errors).toEqual([]);
    // documents
    for (const r of f.kv.full_docs!) {
      const d =
        out.docs.find((x: { id?: string; _id?: string } | null) => x && (x.id ?? x._id) === r.key) ?? out.docs[0];
      expect(d.content).toBe(r.value.content);
    }
    // chunks
    expect(out.chunks.length).toBe(f.kv.text_chunks!.length);
    for (const [i, r] of f.kv.text_chunks!.entries()) {
      expect(out.chunks[i].content).toBe(r.value.content);
      expect(out.chunks[i].tokens).toBe(r.value.tokens);
      expect(out.chunks[i].full_doc_id).toBe(r.value.full_doc_id);
    }
    for (const [i, r] of f.kv.text_chunks!.entries()) expect(out.chunk_rows[i]?.content).toBe(r.value.content);
    // doc status
    for (const id of spec.status_ids) {
      const src = f.kv.doc_status!.find((r) => r.key === id)!.value;
      expect(out.status[id].status).toBe(src.status);
      expect(out.status[id].chunks_list ?? []).toEqual(src.chunks_list ?? []);
    }
    // graph
    for (const id of spec.node_ids) {
      const src = f.nodes.find((n) => n.id === id)!;
      expect(out.nodes[id].entity_id).toBe(id);
      expect(out.nodes[id].description).toBe(src.attributes.description);
    }
    expect(out.edges[0].description).toBe(edge.attributes.description);
    expect(out.edges[0].weight).toBe(edge.attributes.weight);
    expect(canonicalPair(edge.source, edge.target)).toBeDefined();
    // vector query: same neighbours as the source vectors give
    const nameOf = new Map(ents.map((r) => [r.id, r.fields.entity_name as string]));
    expect(out.neighbours.map((n: string) => nameOf.get(n) ?? n)).toEqual(expected.map((id) => nameOf.get(id)));
  }, 900_000);
});
