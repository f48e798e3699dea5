/**
 * The records the source readers yield and the target loaders consume: the contract between
 * core/source and core/postgres. Values stay as parsed from the file (nothing renamed or dropped);
 * the mapping to table rows is the target layout's job.
 */

export const KV_COLLECTIONS = [
  'full_docs',
  'text_chunks',
  'llm_response_cache',
  'doc_status',
  'full_entities',
  'full_relations',
  'entity_chunks',
  'relation_chunks',
] as const;
export type KvCollection = (typeof KV_COLLECTIONS)[number];

export const VECTOR_COLLECTIONS = ['vdb_entities', 'vdb_relationships', 'vdb_chunks'] as const;
export type VectorCollection = (typeof VECTOR_COLLECTIONS)[number];

export const GRAPH_COLLECTIONS = ['graph_nodes', 'graph_edges'] as const;
export type GraphCollection = (typeof GRAPH_COLLECTIONS)[number];

export type CollectionName = KvCollection | VectorCollection | GraphCollection;

export type JsonObject = { [key: string]: unknown };

/** One entry of a kv_store_*.json file. For the legacy nested LLM cache, `key` is the flat
 * `mode:cache_type:hash` key LightRAG itself derives on load, and `value` the entry unchanged. */
export interface KvRecord {
  key: string;
  value: JsonObject;
}

/** One `data[i]` of a nano-vectordb file with its vector (matrix row i, or the per-record vector). */
export interface VectorRecord {
  /** `__id__` */
  id: string;
  /** every field of `data[i]` except `__id__` and `vector`, unchanged (including `__created_at__`) */
  fields: JsonObject;
  /** may be a view of memory shared by its whole batch: copy it (slice) to keep it after the batch */
  vector: Float32Array;
}

/** A GraphML node: its id and every attribute, typed by the GraphML key's attr.type. */
export interface GraphNode {
  id: string;
  attributes: JsonObject;
}

/** A GraphML edge as written in the file (source/target not yet put in canonical order). */
export interface GraphEdge {
  source: string;
  target: string;
  attributes: JsonObject;
}

/**
 * A string value read as its UTF-8 bytes, held one byte per character in a latin1 JS string (V8
 * stores it one byte per character; writing it back with `latin1` is a plain copy). The loader's
 * readers give long text fields this way (`openBatch` with `utf8Fields`): decoding UTF-8 into a JS
 * string, checking it and encoding it back was most of the worker's CPU per row (docs/benchmarks.md).
 * Only values without `\u` escapes become one, so it never holds a NUL or a lone surrogate: nothing
 * for fit.ts to change. `toString()` gives the decoded string where a value is needed as text.
 */
export class Utf8Text {
  constructor(readonly latin1: string) {}

  get byteLength(): number {
    return this.latin1.length;
  }

  toString(): string {
    return Buffer.from(this.latin1, 'latin1').toString('utf8');
  }

  toJSON(): string {
    return this.toString();
  }
}
