import type { CollectionName, GraphEdge, GraphNode, KvRecord, VectorRecord } from '../../source/records';
import { KV_COLLECTIONS, VECTOR_COLLECTIONS } from '../../source/records';
import { RowError, asInt, asText, canonicalPair, isObject, isoToUtcMs, unixToMs } from './common';
import { vectorIndexSpec } from './lightrag';
import type { AnyRecord, ColumnSpec, LayoutPlan, MapResult, TableSpec, VectorIndexType } from './types';

/**
 * Layout `hybridrag`: the four tables of the original HybridRAG guide with the column names it
 * documents — hybridrag_kv_store (workspace, key, value), hybridrag_graph_edges (workspace,
 * source_id, target_id, properties), hybridrag_chunks (workspace, chunk_id, content, embedding,
 * metadata), hybridrag_doc_status (workspace, doc_id, status_data) — plus our own columns
 * (docs/target.md); ids, names and status are TEXT, so no source value is too long: every table carries `workspace` and,
 * where several source files share it, `collection`, so every record of every file lands in a row;
 * the whole source record is kept as JSONB beside the typed columns (nothing dropped).
 *   hybridrag_kv_store     every kv_store_* file except doc status, and the graph nodes
 *   hybridrag_doc_status   kv_store_doc_status.json
 *   hybridrag_chunks       every vdb_*.json record with `embedding vector(D)`
 *   hybridrag_graph_edges  the GraphML edges (canonical min/max order)
 */
export interface HybridragLayoutOptions {
  dimension: number;
  vectorIndex: VectorIndexType;
  hnswM: number;
  hnswEfConstruction: number;
  ivfflatLists: number;
}

const c = (name: string, sqlType: string, copyType?: ColumnSpec['copyType'], extra?: string): ColumnSpec => ({
  name,
  sqlType,
  ...(copyType ? { copyType } : {}),
  ...(extra ? { extra } : {}),
});
const TS = (name: string): ColumnSpec => c(name, 'TIMESTAMP', 'timestamp', 'DEFAULT CURRENT_TIMESTAMP');
const WS = c('workspace', 'VARCHAR(255)', undefined, 'NOT NULL');

function spec(
  name: string,
  columns: ColumnSpec[],
  primaryKey: string[],
  extraIdx: TableSpec['indexes'] = [],
): TableSpec {
  return {
    name,
    columns,
    copyColumns: columns.filter((x) => x.copyType).map((x) => x.name),
    primaryKey,
    primaryKeyName: `${name}_pkey`,
    indexes: extraIdx,
    identity: primaryKey.filter((k) => k !== 'workspace'),
  };
}

function guard(id: string, fn: () => MapResult): MapResult {
  try {
    return fn();
  } catch (error) {
    if (error instanceof RowError) return { ok: false, id, reason: error.message };
    throw error;
  }
}

export function hybridragLayout(o: HybridragLayoutOptions): LayoutPlan {
  const storage: 'vector' | 'halfvec' = o.vectorIndex === 'hnsw_halfvec' ? 'halfvec' : 'vector';
  const kvStore = spec(
    'hybridrag_kv_store',
    [
      WS,
      c('collection', 'VARCHAR(64)', 'text', 'NOT NULL'),
      c('key', 'TEXT', 'text', 'NOT NULL'),
      c('value', 'JSONB', 'jsonb', 'NOT NULL'),
      TS('created_at'),
      TS('updated_at'),
    ],
    ['workspace', 'collection', 'key'],
    [{ name: 'idx_hybridrag_kv_store_key', using: '(workspace, key)' }],
  );
  const docStatus = spec(
    'hybridrag_doc_status',
    [
      WS,
      c('doc_id', 'TEXT', 'text', 'NOT NULL'),
      c('status', 'TEXT', 'text'),
      c('content_summary', 'TEXT', 'text'),
      c('content_length', 'INTEGER', 'int4'),
      c('chunks_count', 'INTEGER', 'int4'),
      c('file_path', 'TEXT', 'text'),
      c('track_id', 'TEXT', 'text'),
      c('error_msg', 'TEXT', 'text'),
      c('metadata', 'JSONB', 'jsonb'),
      c('status_data', 'JSONB', 'jsonb', 'NOT NULL'),
      TS('created_at'),
      TS('updated_at'),
    ],
    ['workspace', 'doc_id'],
    [{ name: 'idx_hybridrag_doc_status_status', using: '(workspace, status)' }],
  );
  const chunks = spec(
    'hybridrag_chunks',
    [
      WS,
      c('collection', 'VARCHAR(64)', 'text', 'NOT NULL'),
      c('chunk_id', 'TEXT', 'text', 'NOT NULL'),
      c('content', 'TEXT', 'text'),
      c('metadata', 'JSONB', 'jsonb', 'NOT NULL'),
      c('embedding', `${storage.toUpperCase()}(${o.dimension})`, 'vector'),
      TS('created_at'),
    ],
    ['workspace', 'collection', 'chunk_id'],
  );
  chunks.vector = { column: 'embedding', dimension: o.dimension, storage };
  const vi = vectorIndexSpec('hybridrag_chunks', 'embedding', o.vectorIndex, o);
  if (vi) chunks.indexes.push(vi);
  const edges = spec(
    'hybridrag_graph_edges',
    [
      WS,
      c('source_id', 'TEXT', 'text', 'NOT NULL'),
      c('target_id', 'TEXT', 'text', 'NOT NULL'),
      c('weight', 'DOUBLE PRECISION', 'float8'),
      c('properties', 'JSONB', 'jsonb', 'NOT NULL'),
      TS('created_at'),
    ],
    ['workspace', 'source_id', 'target_id'],
    [{ name: 'idx_hybridrag_graph_edges_target', using: '(workspace, target_id)' }],
  );

  const collections: LayoutPlan['collections'] = {};
  for (const name of KV_COLLECTIONS) {
    if (name === 'doc_status') continue;
    collections[name] = {
      collection: name,
      table: kvStore.name,
      map(record: AnyRecord, now) {
        const r = record as KvRecord;
        return guard(String(r.key), () => {
          if (typeof r.key !== 'string') throw new RowError('record has no key');
          const v = r.value;
          const created = isObject(v) ? unixToMs(v.create_time) : undefined;
          const updated = isObject(v) ? unixToMs(v.update_time) : undefined;
          return {
            ok: true,
            id: r.key,
            dedupeKey: r.key,
            row: [name, r.key, v ?? null, created ?? now, updated ?? now],
          };
        });
      },
    };
  }
  collections.graph_nodes = {
    collection: 'graph_nodes',
    table: kvStore.name,
    map(record, now) {
      const n = record as GraphNode;
      return guard(String(n.id), () => {
        if (typeof n.id !== 'string') throw new RowError('node has no id');
        return {
          ok: true,
          id: n.id,
          dedupeKey: n.id,
          row: ['graph_nodes', n.id, isObject(n.attributes) ? n.attributes : {}, now, now],
        };
      });
    },
  };
  collections.doc_status = {
    collection: 'doc_status',
    table: docStatus.name,
    map(record, now) {
      const r = record as KvRecord;
      return guard(String(r.key), () => {
        if (typeof r.key !== 'string') throw new RowError('record has no key');
        const v = isObject(r.value) ? r.value : {};
        return {
          ok: true,
          id: r.key,
          dedupeKey: r.key,
          row: [
            r.key,
            asText(v.status),
            asText(v.content_summary),
            asInt(v.content_length, 'content_length'),
            asInt(v.chunks_count, 'chunks_count'),
            asText(v.file_path),
            asText(v.track_id),
            asText(v.error_msg ?? v.error),
            v.metadata ?? null,
            r.value ?? {},
            isoToUtcMs(v.created_at) ?? now,
            isoToUtcMs(v.updated_at) ?? now,
          ],
        };
      });
    },
  };
  for (const name of VECTOR_COLLECTIONS) {
    collections[name] = {
      collection: name as CollectionName,
      table: chunks.name,
      map(record, now) {
        const r = record as VectorRecord;
        return guard(String(r.id), () => {
          if (typeof r.id !== 'string') throw new RowError('record has no __id__');
          if (!(r.vector instanceof Float32Array) || r.vector.length !== o.dimension)
            throw new RowError(`vector has ${r.vector?.length ?? 0} dimensions, expected ${o.dimension}`);
          const f = isObject(r.fields) ? r.fields : {};
          return {
            ok: true,
            id: r.id,
            dedupeKey: r.id,
            row: [name, r.id, asText(f.content), f, r.vector, unixToMs(f.__created_at__) ?? now],
          };
        });
      },
    };
  }
  collections.graph_edges = {
    collection: 'graph_edges',
    table: edges.name,
    map(record, now) {
      const e = record as GraphEdge;
      return guard(`${e.source} -> ${e.target}`, () => {
        if (typeof e.source !== 'string' || typeof e.target !== 'string')
          throw new RowError('edge has no source or target');
        const [s, t] = canonicalPair(e.source, e.target);
        const a = isObject(e.attributes) ? e.attributes : {};
        const w =
          typeof a.weight === 'number'
            ? a.weight
            : typeof a.weight === 'string' && a.weight.trim() !== '' && Number.isFinite(Number(a.weight))
              ? Number(a.weight)
              : null;
        return { ok: true, id: `${s} -> ${t}`, dedupeKey: `${s}\u0000${t}`, row: [s, t, w, a, now] };
      });
    },
  };
  return { layout: 'hybridrag', tables: [kvStore, docStatus, chunks, edges], collections, finishSteps: [], notes: [] };
}
