import type { GraphEdge, GraphNode, KvRecord, VectorRecord, CollectionName } from '../../source/records';
import { lightragIndexName, modelSuffix, PG_MAX_IDENTIFIER_BYTES } from '../identifiers';
import { TargetError } from '../errors';
import { flatCacheKey } from '../../source/kvReader';
import type { FitNote } from '../fit';
import {
  RowError,
  asInt,
  asText,
  asTextOrUtf8,
  canonicalPair,
  chunkIdsFrom,
  isObject,
  isoToUtcMs,
  unixToMs,
} from './common';
import type {
  AnyRecord,
  CollectionMapping,
  ColumnSpec,
  IndexSpec,
  LayoutPlan,
  MapResult,
  TableSpec,
  VectorIndexType,
} from './types';

/**
 * Layout `lightrag`: LightRAG's own tables (lightrag-hku 1.5.7 postgres_impl.py TABLES and
 * pgtable_impl.py _DDL; LIGHTRAG_SCHEMA.md §2) with its record-to-row mapping (§4).
 */
export interface LightragLayoutOptions {
  dimension: number;
  /** embedding model name: vector tables get LightRAG's `_<model>_<dim>d` suffix when set */
  embeddingModel?: string;
  vectorIndex: VectorIndexType;
  hnswM: number;
  hnswEfConstruction: number;
  ivfflatLists: number;
}

/**
 * Where LightRAG's DDL has VARCHAR(n) for a value taken from the source (ids, entity and document
 * names, status, …), the column is TEXT: a longer value is stored whole instead of being refused
 * or cut (an entity's vector id and graph node are derived from its full name, so a cut name would
 * no longer be found). PostgreSQL stores varchar and text alike; LightRAG 1.5.7 reads and writes
 * them the same, and its startup migrations leave TEXT columns alone (_migrate_field_lengths only
 * widens varchar(255)/(256)) — proven by test/integration/postgres/lightrag-fitted.test.ts.
 */
const WIDE = 'TEXT';
const TS0 = { sqlType: 'TIMESTAMP(0)', extra: 'DEFAULT CURRENT_TIMESTAMP', copyType: 'timestamp' } as const;
const TS6 = { sqlType: 'TIMESTAMP', extra: 'DEFAULT CURRENT_TIMESTAMP', copyType: 'timestamp' } as const;
const col = (name: string, sqlType: string, copyType?: ColumnSpec['copyType'], extra?: string): ColumnSpec => ({
  name,
  sqlType,
  ...(copyType ? { copyType } : {}),
  ...(extra ? { extra } : {}),
});

function kvTable(name: string, columns: ColumnSpec[], wsFirst = false, extraIdx: IndexSpec[] = []): TableSpec {
  const id = col('id', columns[0]!.sqlType, 'text', wsFirst ? 'NOT NULL' : undefined);
  const ws = col('workspace', WIDE, undefined, wsFirst ? 'NOT NULL' : undefined);
  const all = wsFirst ? [ws, id, ...columns.slice(1)] : [id, ws, ...columns.slice(1)];
  return {
    name,
    columns: all,
    copyColumns: all.filter((c) => c.copyType).map((c) => c.name),
    primaryKey: ['workspace', 'id'],
    primaryKeyName: `${name}_pk`,
    indexes: [
      { name: lightragIndexName(name, 'id'), using: '(id)' },
      { name: lightragIndexName(name, 'workspace_id'), using: '(workspace, id)' },
      ...extraIdx,
    ],
    identity: ['id'],
  };
}

export function lightragTableNames(options: Pick<LightragLayoutOptions, 'dimension' | 'embeddingModel'>) {
  const suffix = modelSuffix(options.embeddingModel, options.dimension);
  const vdb = (base: string) => (suffix ? `${base}_${suffix}` : base);
  return {
    docFull: 'lightrag_doc_full',
    docChunks: 'lightrag_doc_chunks',
    llmCache: 'lightrag_llm_cache',
    docStatus: 'lightrag_doc_status',
    fullEntities: 'lightrag_full_entities',
    fullRelations: 'lightrag_full_relations',
    entityChunks: 'lightrag_entity_chunks',
    relationChunks: 'lightrag_relation_chunks',
    vdbChunks: vdb('lightrag_vdb_chunks'),
    vdbEntity: vdb('lightrag_vdb_entity'),
    vdbRelation: vdb('lightrag_vdb_relation'),
    graphNodes: 'lightrag_graph_nodes',
    graphEdges: 'lightrag_graph_edges',
  };
}

export function vectorIndexSpec(
  table: string,
  column: string,
  type: VectorIndexType,
  o: Pick<LightragLayoutOptions, 'hnswM' | 'hnswEfConstruction' | 'ivfflatLists'>,
): IndexSpec | undefined {
  switch (type) {
    case 'none':
      return undefined;
    case 'hnsw':
      return {
        name: lightragIndexName(table, 'hnsw_cosine'),
        using: `USING hnsw (${column} vector_cosine_ops) WITH (m = ${o.hnswM}, ef_construction = ${o.hnswEfConstruction})`,
        vector: true,
      };
    case 'hnsw_halfvec':
      return {
        name: lightragIndexName(table, 'hnsw_halfvec_cosine'),
        using: `USING hnsw (${column} halfvec_cosine_ops) WITH (m = ${o.hnswM}, ef_construction = ${o.hnswEfConstruction})`,
        vector: true,
      };
    case 'ivfflat':
      return {
        name: lightragIndexName(table, 'ivfflat_cosine'),
        using: `USING ivfflat (${column} vector_cosine_ops) WITH (lists = ${o.ivfflatLists})`,
        vector: true,
      };
  }
}

function ok(id: string, row: unknown[], dedupeKey = id): MapResult {
  return { ok: true, id, dedupeKey, row };
}

function guard(id: string, fn: () => MapResult): MapResult {
  try {
    return fn();
  } catch (error) {
    if (error instanceof RowError) return { ok: false, id, reason: error.message };
    throw error;
  }
}

/**
 * LightRAG's PostgreSQL KV storage takes a cache id without ':' for a pre-2025 row and, on every
 * start, runs a legacy migration whose SQL needs a `mode` column its schema no longer has (an
 * ERROR for every workspace of the database). Such a key (the bare args hash of the 2024 flat
 * cache) is stored under the flat key LightRAG gives a legacy entry: `default:<cache_type or
 * extract>:<hash>` (the hash is kept: LightRAG's SQL would use md5(original_prompt), which these
 * entries do not have).
 */
function legacyCacheKey(key: string, v: Record<string, unknown>): { key: string; fit?: FitNote } {
  if (key.includes(':')) return { key };
  const flat = flatCacheKey('default', key, v);
  return { key: flat, fit: { field: 'id', change: `renamed from ${JSON.stringify(key)} to ${JSON.stringify(flat)}` } };
}

const keyOf = (r: AnyRecord): string => ('key' in r ? r.key : 'source' in r ? `${r.source} -> ${r.target}` : r.id);

export function lightragLayout(o: LightragLayoutOptions): LayoutPlan {
  const t = lightragTableNames(o);
  for (const name of [t.vdbChunks, t.vdbEntity, t.vdbRelation]) {
    if (Buffer.byteLength(name) > PG_MAX_IDENTIFIER_BYTES) {
      throw new TargetError(
        `The vector table name "${name}" is longer than ${PG_MAX_IDENTIFIER_BYTES} characters, so LightRAG would refuse it; use a shorter --embedding-model name.`,
      );
    }
  }
  const storage: 'vector' | 'halfvec' = o.vectorIndex === 'hnsw_halfvec' ? 'halfvec' : 'vector';
  const vecType = `${storage.toUpperCase()}(${o.dimension})`;

  const tables: TableSpec[] = [];
  tables.push(
    kvTable(t.docFull, [
      col('id', WIDE),
      col('doc_name', WIDE, 'text'),
      col('content', 'TEXT', 'text'),
      col('meta', 'JSONB'),
      col('sidecar_location', 'TEXT', 'text', 'NULL'),
      col('parse_format', WIDE, 'text', "NULL DEFAULT 'raw'"),
      col('content_hash', 'TEXT', 'text', 'NULL'),
      col('process_options', 'TEXT', 'text', 'NULL'),
      col('chunk_options', 'JSONB', 'jsonb', "NULL DEFAULT '{}'::jsonb"),
      col('parse_engine', 'TEXT', 'text', 'NULL'),
      { name: 'create_time', ...TS0 },
      { name: 'update_time', ...TS0 },
    ]),
  );
  tables.push(
    kvTable(t.docChunks, [
      col('id', WIDE),
      col('full_doc_id', WIDE, 'text'),
      col('chunk_order_index', 'INTEGER', 'int4'),
      col('tokens', 'INTEGER', 'int4'),
      col('content', 'TEXT', 'text'),
      col('file_path', 'TEXT', 'text', 'NULL'),
      col('llm_cache_list', 'JSONB', 'jsonb', "NULL DEFAULT '[]'::jsonb"),
      col('heading', 'JSONB', 'jsonb', "NULL DEFAULT '{}'::jsonb"),
      col('sidecar', 'JSONB', 'jsonb', "NULL DEFAULT '{}'::jsonb"),
      { name: 'create_time', ...TS0 },
      { name: 'update_time', ...TS0 },
    ]),
  );
  tables.push(
    kvTable(
      t.llmCache,
      [
        col('id', WIDE),
        col('original_prompt', 'TEXT', 'text'),
        col('return_value', 'TEXT', 'text'),
        col('chunk_id', WIDE, 'text', 'NULL'),
        col('cache_type', WIDE, 'text'),
        col('queryparam', 'JSONB', 'jsonb', 'NULL'),
        { name: 'create_time', ...TS6 },
        { name: 'update_time', ...TS6 },
      ],
      true,
    ),
  );
  const ds = 'lightrag_doc_status';
  tables.push(
    kvTable(
      t.docStatus,
      [
        col('id', WIDE),
        col('content_summary', WIDE, 'text', 'NULL'),
        col('content_length', 'INT4', 'int4', 'NULL'),
        col('chunks_count', 'INT4', 'int4', 'NULL'),
        col('status', WIDE, 'text', 'NULL'),
        col('file_path', 'TEXT', 'text', 'NULL'),
        col('chunks_list', 'JSONB', 'jsonb', "NULL DEFAULT '[]'::jsonb"),
        col('track_id', WIDE, 'text', 'NULL'),
        col('metadata', 'JSONB', 'jsonb', "NULL DEFAULT '{}'::jsonb"),
        col('error_msg', 'TEXT', 'text', 'NULL'),
        col('content_hash', 'TEXT', 'text', 'NULL'),
        { name: 'created_at', ...TS6 },
        { name: 'updated_at', ...TS6 },
      ],
      true,
      [
        { name: `idx_${ds}_track_id`, using: '(track_id)' },
        { name: `idx_${ds}_workspace_status_updated_at`, using: '(workspace, status, updated_at DESC)' },
        { name: `idx_${ds}_workspace_status_created_at`, using: '(workspace, status, created_at DESC)' },
        { name: `idx_${ds}_workspace_updated_at`, using: '(workspace, updated_at DESC)' },
        { name: `idx_${ds}_workspace_created_at`, using: '(workspace, created_at DESC)' },
        { name: `idx_${ds}_workspace_file_path`, using: '(workspace, file_path)' },
        {
          name: `idx_${ds}_workspace_content_hash`,
          using: "(workspace, content_hash) WHERE content_hash IS NOT NULL AND content_hash <> ''",
        },
      ],
    ),
  );
  const jsonKv = (name: string, jsonCol: string, idType = WIDE) =>
    kvTable(name, [
      col('id', idType),
      col(jsonCol, 'JSONB', 'jsonb'),
      col('count', 'INTEGER', 'int4'),
      { name: 'create_time', ...TS0 },
      { name: 'update_time', ...TS0 },
    ]);
  tables.push(jsonKv(t.fullEntities, 'entity_names'));
  tables.push(jsonKv(t.fullRelations, 'relation_pairs'));
  tables.push(jsonKv(t.entityChunks, 'chunk_ids'));
  tables.push(jsonKv(t.relationChunks, 'chunk_ids'));

  const legacyVectorTables = modelSuffix(o.embeddingModel, o.dimension) === undefined;
  const vdbTable = (name: string, cols: ColumnSpec[]): TableSpec => {
    const spec = kvTable(name, cols);
    if (legacyVectorTables)
      spec.lightragVarchar =
        name === t.vdbChunks
          ? { id: 255 }
          : name === t.vdbEntity
            ? { id: 255, entity_name: 512 }
            : { id: 255, source_id: 512, target_id: 512 };
    const vi = vectorIndexSpec(name, 'content_vector', o.vectorIndex, o);
    if (vi) spec.indexes.push(vi);
    spec.vector = { column: 'content_vector', dimension: o.dimension, storage };
    return spec;
  };
  tables.push(
    vdbTable(t.vdbChunks, [
      col('id', WIDE),
      col('full_doc_id', WIDE, 'text'),
      col('chunk_order_index', 'INTEGER', 'int4'),
      col('tokens', 'INTEGER', 'int4'),
      col('content', 'TEXT', 'text'),
      col('content_vector', vecType, 'vector'),
      col('file_path', 'TEXT', 'text', 'NULL'),
      { name: 'create_time', ...TS0 },
      { name: 'update_time', ...TS0 },
    ]),
  );
  tables.push(
    vdbTable(t.vdbEntity, [
      col('id', WIDE),
      col('entity_name', WIDE, 'text'),
      col('content', 'TEXT', 'text'),
      col('content_vector', vecType, 'vector'),
      { name: 'create_time', ...TS0 },
      { name: 'update_time', ...TS0 },
      col('chunk_ids', 'TEXT[]', 'text[]', 'NULL'),
      col('file_path', 'TEXT', 'text', 'NULL'),
    ]),
  );
  tables.push(
    vdbTable(t.vdbRelation, [
      col('id', WIDE),
      col('source_id', WIDE, 'text'),
      col('target_id', WIDE, 'text'),
      col('content', 'TEXT', 'text'),
      col('content_vector', vecType, 'vector'),
      { name: 'create_time', ...TS0 },
      { name: 'update_time', ...TS0 },
      col('chunk_ids', 'TEXT[]', 'text[]', 'NULL'),
      col('file_path', 'TEXT', 'text', 'NULL'),
    ]),
  );
  const graphCols = (keyCols: ColumnSpec[]): ColumnSpec[] => [
    col('workspace', 'TEXT', undefined, 'NOT NULL'),
    col('namespace', 'TEXT', undefined, "NOT NULL DEFAULT 'chunk_entity_relation'"),
    ...keyCols,
    col('properties', 'JSONB', 'jsonb', "NOT NULL DEFAULT '{}'"),
    col('updated_at', 'TIMESTAMPTZ', 'timestamptz', 'NOT NULL DEFAULT now()'),
  ];
  tables.push({
    name: t.graphNodes,
    columns: graphCols([col('id', 'TEXT', 'text', 'NOT NULL')]),
    copyColumns: ['id', 'properties', 'updated_at'],
    primaryKey: ['workspace', 'namespace', 'id'],
    primaryKeyName: 'lightrag_graph_nodes_pkey',
    indexes: [],
    identity: ['namespace', 'id'],
    group: 'graph',
  });
  tables.push({
    name: t.graphEdges,
    columns: graphCols([col('src_id', 'TEXT', 'text', 'NOT NULL'), col('tgt_id', 'TEXT', 'text', 'NOT NULL')]),
    copyColumns: ['src_id', 'tgt_id', 'properties', 'updated_at'],
    primaryKey: ['workspace', 'namespace', 'src_id', 'tgt_id'],
    primaryKeyName: 'lightrag_graph_edges_pkey',
    indexes: [
      { name: 'idx_lightrag_graph_edges_namespace_tgt', using: '(workspace, namespace, tgt_id)' },
      {
        name: 'idx_lightrag_graph_edges_noncanonical',
        using: '(workspace, namespace) WHERE src_id COLLATE "C" > tgt_id COLLATE "C"',
      },
    ],
    foreignKeys: [
      {
        name: 'fk_lightrag_graph_edges_src',
        columns: ['workspace', 'namespace', 'src_id'],
        refTable: t.graphNodes,
        refColumns: ['workspace', 'namespace', 'id'],
        onDelete: 'CASCADE',
      },
      {
        name: 'fk_lightrag_graph_edges_tgt',
        columns: ['workspace', 'namespace', 'tgt_id'],
        refTable: t.graphNodes,
        refColumns: ['workspace', 'namespace', 'id'],
        onDelete: 'CASCADE',
      },
    ],
    identity: ['namespace', 'src_id', 'tgt_id'],
    group: 'graph',
  });

  // ---------------------------------------------------------------- mappers (§4) ---
  const kv = (
    collection: CollectionName,
    table: string,
    fn: (key: string, v: Record<string, unknown>, now: number) => unknown[],
    rekey?: (key: string, v: Record<string, unknown>) => { key: string; fit?: FitNote },
  ): CollectionMapping => ({
    collection,
    table,
    map(record, now) {
      const r = record as KvRecord;
      return guard(keyOf(r), () => {
        if (typeof r.key !== 'string') throw new RowError('record has no key');
        if (!isObject(r.value)) throw new RowError('value is not a JSON object');
        const { key, fit } = rekey ? rekey(r.key, r.value) : { key: r.key };
        return { ...ok(key, fn(key, r.value, now)), ...(fit ? { fits: [fit] } : {}) };
      });
    },
  });
  const times = (v: Record<string, unknown>, now: number) => [
    unixToMs(v.create_time) ?? now,
    unixToMs(v.update_time) ?? now,
  ];
  const jsonOr = (v: unknown, dflt: unknown) => (v === undefined || v === null ? dflt : v);
  /** `fields` are taken with asTextOrUtf8 by the mapping: the loader reads them as UTF-8 bytes */
  const withUtf8 = (fields: readonly string[], m: CollectionMapping): CollectionMapping => ({
    ...m,
    utf8Fields: fields,
  });

  const collections: LayoutPlan['collections'] = {
    full_docs: withUtf8(
      ['content'],
      kv('full_docs', t.docFull, (key, v, now) => [
        key,
        asText(v.file_path) ?? '',
        asTextOrUtf8(v.content) ?? '',
        asText(v.sidecar_location),
        asText(v.parse_format),
        asText(v.content_hash),
        asText(v.process_options),
        jsonOr(v.chunk_options, {}),
        asText(v.parse_engine),
        ...times(v, now),
      ]),
    ),
    text_chunks: withUtf8(
      ['content'],
      kv('text_chunks', t.docChunks, (key, v, now) => [
        key,
        asText(v.full_doc_id) ?? '',
        asInt(v.chunk_order_index, 'chunk_order_index'),
        asInt(v.tokens, 'tokens'),
        asTextOrUtf8(v.content) ?? '',
        asText(v.file_path) ?? 'unknown_source',
        jsonOr(v.llm_cache_list, []),
        jsonOr(v.heading, {}),
        jsonOr(v.sidecar, {}),
        ...times(v, now),
      ]),
    ),
    llm_response_cache: withUtf8(
      ['original_prompt', 'return'],
      kv(
        'llm_response_cache',
        t.llmCache,
        (key, v, now) => [
          key,
          asTextOrUtf8(v.original_prompt) ?? '',
          asTextOrUtf8(v.return) ?? '',
          asText(v.chunk_id),
          'cache_type' in v ? asText(v.cache_type) : 'extract',
          v.queryparam ? v.queryparam : null,
          ...times(v, now),
        ],
        legacyCacheKey,
      ),
    ),
    doc_status: kv('doc_status', t.docStatus, (key, v) => {
      const content = asText(v.content) ?? '';
      const summary =
        asText(v.content_summary) ?? (content.length > 250 ? `${[...content].slice(0, 250).join('')}...` : content);
      return [
        key,
        summary,
        asInt(v.content_length, 'content_length') ?? [...content].length,
        asInt(v.chunks_count, 'chunks_count') ?? -1,
        asText(v.status) ?? 'pending',
        asText(v.file_path) ?? 'unknown_source',
        jsonOr(v.chunks_list, []),
        asText(v.track_id),
        jsonOr(v.metadata, {}),
        asText(v.error_msg ?? v.error),
        asText(v.content_hash),
        isoToUtcMs(v.created_at),
        isoToUtcMs(v.updated_at),
      ];
    }),
    full_entities: kv('full_entities', t.fullEntities, (key, v, now) => [
      key,
      jsonOr(v.entity_names, []),
      asInt(v.count, 'count') ?? (Array.isArray(v.entity_names) ? v.entity_names.length : 0),
      ...times(v, now),
    ]),
    full_relations: kv('full_relations', t.fullRelations, (key, v, now) => [
      key,
      jsonOr(v.relation_pairs, []),
      asInt(v.count, 'count') ?? (Array.isArray(v.relation_pairs) ? v.relation_pairs.length : 0),
      ...times(v, now),
    ]),
    entity_chunks: kv('entity_chunks', t.entityChunks, (key, v, now) => [
      key,
      jsonOr(v.chunk_ids, []),
      asInt(v.count, 'count') ?? (Array.isArray(v.chunk_ids) ? v.chunk_ids.length : 0),
      ...times(v, now),
    ]),
    relation_chunks: kv('relation_chunks', t.relationChunks, (key, v, now) => [
      key,
      jsonOr(v.chunk_ids, []),
      asInt(v.count, 'count') ?? (Array.isArray(v.chunk_ids) ? v.chunk_ids.length : 0),
      ...times(v, now),
    ]),
  };

  const vec = (
    collection: CollectionName,
    table: string,
    fn: (r: VectorRecord, f: Record<string, unknown>, now: number) => unknown[],
  ): CollectionMapping => ({
    collection,
    table,
    utf8Fields: ['content'], // every vector mapping takes content with asTextOrUtf8
    map(record, now) {
      const r = record as VectorRecord;
      const id = keyOf(r);
      return guard(id, () => {
        if (typeof r.id !== 'string') throw new RowError('record has no __id__');
        if (!(r.vector instanceof Float32Array)) throw new RowError('record has no vector');
        if (r.vector.length !== o.dimension)
          throw new RowError(`vector has ${r.vector.length} dimensions, expected ${o.dimension}`);
        // NaN / ±Inf elements are rejected by the encoder (one pass over the floats, reported per record)
        const f = isObject(r.fields) ? r.fields : {};
        return ok(r.id, fn(r, f, now));
      });
    },
  });
  const created = (f: Record<string, unknown>, now: number) => unixToMs(f.__created_at__) ?? now;
  const chunkIds = (f: Record<string, unknown>) => chunkIdsFrom(f.source_id);
  collections.vdb_chunks = vec('vdb_chunks', t.vdbChunks, (r, f, now) => [
    r.id,
    asText(f.full_doc_id),
    asInt(f.chunk_order_index, 'chunk_order_index'),
    asInt(f.tokens, 'tokens'),
    asTextOrUtf8(f.content),
    r.vector,
    asText(f.file_path),
    created(f, now),
    now,
  ]);
  collections.vdb_entities = vec('vdb_entities', t.vdbEntity, (r, f, now) => {
    const name = asText(f.entity_name) ?? '';
    return [
      r.id,
      name,
      asTextOrUtf8(f.content) ?? name,
      r.vector,
      created(f, now),
      now,
      chunkIds(f),
      asText(f.file_path),
    ];
  });
  collections.vdb_relationships = vec('vdb_relationships', t.vdbRelation, (r, f, now) => {
    const src = asText(f.src_id);
    const tgt = asText(f.tgt_id);
    return [
      r.id,
      src,
      tgt,
      asTextOrUtf8(f.content) ?? (src !== null && tgt !== null ? `${src}\t${tgt}` : ''),
      r.vector,
      created(f, now),
      now,
      chunkIds(f),
      asText(f.file_path),
    ];
  });
  collections.graph_nodes = {
    collection: 'graph_nodes',
    table: t.graphNodes,
    map(record, now) {
      const n = record as GraphNode;
      return guard(keyOf(n), () => {
        if (typeof n.id !== 'string') throw new RowError('node has no id');
        return ok(n.id, [n.id, { ...(isObject(n.attributes) ? n.attributes : {}), entity_id: n.id }, now]);
      });
    },
  };
  collections.graph_edges = {
    collection: 'graph_edges',
    table: t.graphEdges,
    map(record, now) {
      const e = record as GraphEdge;
      return guard(keyOf(e), () => {
        if (typeof e.source !== 'string' || typeof e.target !== 'string')
          throw new RowError('edge has no source or target');
        const [src, tgt] = canonicalPair(e.source, e.target);
        const props = { ...(isObject(e.attributes) ? e.attributes : {}) };
        return ok(`${src} -> ${tgt}`, [src, tgt, props, now], `${src}\u0000${tgt}`);
      });
    },
  };

  return {
    layout: 'lightrag',
    tables,
    collections,
    finishSteps: [
      {
        // §4.7: LightRAG's chunk vector rows need tokens / chunk_order_index (and any missing
        // full_doc_id, file_path, content) from the text-chunk record of the same id — joined here,
        // in PostgreSQL, once both collections are staged.
        name: 'join chunk vectors with text chunks',
        tables: [t.vdbChunks, t.docChunks],
        sql: `UPDATE $T0 v SET tokens = COALESCE(v.tokens, c.tokens), chunk_order_index = COALESCE(v.chunk_order_index, c.chunk_order_index),
                 full_doc_id = COALESCE(v.full_doc_id, c.full_doc_id), file_path = COALESCE(v.file_path, c.file_path), content = COALESCE(v.content, c.content)
              FROM $T1 c WHERE c.id = v.id
                AND (v.tokens IS NULL OR v.chunk_order_index IS NULL OR v.full_doc_id IS NULL OR v.file_path IS NULL OR v.content IS NULL)`,
      },
      {
        name: 'fill required chunk vector fields',
        tables: [t.vdbChunks],
        sql: `UPDATE $T0 SET full_doc_id = COALESCE(full_doc_id, ''), content = COALESCE(content, ''), file_path = COALESCE(file_path, 'unknown_source')
              WHERE full_doc_id IS NULL OR content IS NULL OR file_path IS NULL`,
      },
      {
        // §4.8: LightRAG's graph needs a node for every edge endpoint (else its startup deletes the edge).
        name: 'add a node for every edge endpoint',
        tables: [t.graphNodes, t.graphEdges],
        sql: `INSERT INTO $T0 (id, properties, updated_at)
              SELECT e.id, jsonb_build_object('entity_id', e.id), now()
              FROM (SELECT src_id AS id FROM $T1 UNION SELECT tgt_id FROM $T1) e
              WHERE NOT EXISTS (SELECT 1 FROM $T0 n WHERE n.id = e.id)`,
      },
    ],
    notes: [],
  };
}
