/**
 * Test-only: turns a small real LightRAG working dir into the records core/source yields, with
 * JSON.parse (these fixtures are small; the production readers stream).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES } from '../../helpers/fixtures';
import type { GraphEdge, GraphNode, KvRecord, VectorRecord } from '../../../core/source/records';

export { FIXTURES as REAL } from '../../helpers/fixtures';
export const realDir = (name: string) => path.join(FIXTURES, name);

export interface FixtureRecords {
  kv: Record<string, KvRecord[]>;
  vectors: Record<string, VectorRecord[]>;
  dim: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

const KV_FILES = [
  'full_docs',
  'text_chunks',
  'llm_response_cache',
  'doc_status',
  'full_entities',
  'full_relations',
  'entity_chunks',
  'relation_chunks',
];

export function readKv(dir: string, name: string): KvRecord[] {
  const file = path.join(dir, `kv_store_${name}.json`);
  if (!existsSync(file)) return [];
  const obj = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
  const entries = Object.entries(obj);
  if (name === 'llm_response_cache' && entries.length > 0 && !entries[0]![0].includes(':')) {
    const nested = entries.every(([, v]) =>
      Object.values(v).every((e) => typeof e === 'object' && e !== null && 'return' in e),
    );
    if (nested && entries.every(([, v]) => !('return' in v))) {
      const out: KvRecord[] = [];
      for (const [mode, inner] of entries)
        for (const [hash, e] of Object.entries(inner)) {
          const entry = e as Record<string, unknown>;
          out.push({ key: `${mode}:${(entry.cache_type as string) ?? 'extract'}:${hash}`, value: entry });
        }
      return out;
    }
  }
  return entries.map(([key, value]) => ({ key, value }));
}

export function readVdb(dir: string, name: string): { dim: number; records: VectorRecord[] } {
  const file = path.join(dir, `vdb_${name}.json`);
  if (!existsSync(file)) return { dim: 0, records: [] };
  const j = JSON.parse(readFileSync(file, 'utf8')) as {
    embedding_dim: number;
    data: Record<string, unknown>[];
    matrix: string;
  };
  const buf = Buffer.from(j.matrix ?? '', 'base64');
  const dim = j.embedding_dim;
  if (buf.length !== j.data.length * dim * 4) throw new Error(`${file}: matrix size mismatch`);
  const records = j.data.map((d, i) => {
    const { __id__, vector: _v, ...fields } = d;
    const vec = new Float32Array(dim);
    for (let k = 0; k < dim; k++) vec[k] = buf.readFloatLE((i * dim + k) * 4);
    return { id: __id__ as string, fields, vector: vec };
  });
  return { dim, records };
}

const unescapeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(+n))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&amp;/g, '&');

export function readGraph(dir: string): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const file = path.join(dir, 'graph_chunk_entity_relation.graphml');
  if (!existsSync(file)) return { nodes: [], edges: [] };
  const xml = readFileSync(file, 'utf8');
  const keys = new Map<string, { name: string; type: string }>();
  for (const m of xml.matchAll(
    /<key id="([^"]+)" for="(?:node|edge)" attr\.name="([^"]+)" attr\.type="([^"]+)"\s*\/>/g,
  ))
    keys.set(m[1]!, { name: m[2]!, type: m[3]! });
  const attrs = (body: string) => {
    const a: Record<string, unknown> = {};
    for (const m of body.matchAll(/<data key="([^"]+)">([\s\S]*?)<\/data>/g)) {
      const k = keys.get(m[1]!);
      if (!k) continue;
      const raw = unescapeXml(m[2]!);
      a[k.name] =
        k.type === 'long' || k.type === 'int'
          ? Number.parseInt(raw, 10)
          : k.type === 'double' || k.type === 'float'
            ? Number(raw)
            : raw;
    }
    return a;
  };
  const nodes: GraphNode[] = [];
  for (const m of xml.matchAll(/<node id="([^"]*)"\s*(?:\/>|>([\s\S]*?)<\/node>)/g))
    nodes.push({ id: unescapeXml(m[1]!), attributes: attrs(m[2] ?? '') });
  const edges: GraphEdge[] = [];
  for (const m of xml.matchAll(
    /<edge source="([^"]*)" target="([^"]*)"(?: id="[^"]*")?\s*(?:\/>|>([\s\S]*?)<\/edge>)/g,
  ))
    edges.push({ source: unescapeXml(m[1]!), target: unescapeXml(m[2]!), attributes: attrs(m[3] ?? '') });
  return { nodes, edges };
}

export function readFixture(dir: string): FixtureRecords {
  const kv: Record<string, KvRecord[]> = {};
  for (const n of KV_FILES) kv[n] = readKv(dir, n);
  const vectors: Record<string, VectorRecord[]> = {};
  let dim = 0;
  for (const [coll, file] of [
    ['vdb_entities', 'entities'],
    ['vdb_relationships', 'relationships'],
    ['vdb_chunks', 'chunks'],
  ] as const) {
    const v = readVdb(dir, file);
    vectors[coll] = v.records;
    dim = dim || v.dim;
  }
  return { kv, vectors, dim, ...readGraph(dir) };
}

/** Splits into batches of n. */
export function batches<T>(items: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out.length ? out : [[]];
}
