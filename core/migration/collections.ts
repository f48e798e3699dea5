import type { CollectionName, KvCollection, VectorCollection } from '../source/records';

/** The LightRAG file behind every collection (the graph file holds two: nodes and edges). */
export const KV_FILES: Record<KvCollection, string> = {
  full_docs: 'kv_store_full_docs.json',
  text_chunks: 'kv_store_text_chunks.json',
  llm_response_cache: 'kv_store_llm_response_cache.json',
  doc_status: 'kv_store_doc_status.json',
  full_entities: 'kv_store_full_entities.json',
  full_relations: 'kv_store_full_relations.json',
  entity_chunks: 'kv_store_entity_chunks.json',
  relation_chunks: 'kv_store_relation_chunks.json',
};

export const VECTOR_FILES: Record<VectorCollection, string> = {
  vdb_entities: 'vdb_entities.json',
  vdb_relationships: 'vdb_relationships.json',
  vdb_chunks: 'vdb_chunks.json',
};

export const GRAPH_FILE = 'graph_chunk_entity_relation.graphml';

export function fileOf(collection: CollectionName): string {
  if (collection === 'graph_nodes' || collection === 'graph_edges') return GRAPH_FILE;
  return (KV_FILES as Record<string, string>)[collection] ?? (VECTOR_FILES as Record<string, string>)[collection]!;
}
