/**
 * A hostile copy of a real LightRAG store (newest layout, e.g. hr231__portOS__rag_storage): the
 * content PDF extraction and careless writers produce, written the way Python's json.dump writes
 * it (a lone surrogate as a \ud83d escape). The fixture itself is never touched.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

type Json = Record<string, unknown>;

/** Text that PostgreSQL stores as it is: control characters, emoji, CJK, right-to-left. */
export const EXOTIC = ' bell\u0007 esc\u001b 😀👩‍👩‍👧 中文字符 שלום עולם مرحبا';
/** 600 characters: longer than LightRAG's VARCHAR(512) entity_name. */
export const LONG_ENTITY = `Entity ${'with a very long name '.repeat(30)}`.slice(0, 600);
/** 300 characters: longer than LightRAG's VARCHAR(255) ids. */
export const LONG_DOC_ID = `doc-${'x'.repeat(296)}`;
export const BARE_CACHE_KEY = 'f00dfeedf00dfeedf00dfeedf00dfeed';

export interface HostileStore {
  dir: string;
  /** what was planted where, for the assertions */
  nulChunk: string;
  surrogateDoc: string;
  jsonbNulDoc: string;
  renamedEntity: { from: string; to: string; id: string };
}

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
const read = (dir: string, f: string) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Json;
const write = (dir: string, f: string, v: unknown) => writeFileSync(path.join(dir, f), JSON.stringify(v));

export function hostileCopy(fixtureDir: string): HostileStore {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'hostile-')), 'store');
  cpSync(fixtureDir, dir, { recursive: true });

  // NUL inside a chunk's content (text chunk and its vector record), exotic text kept beside it
  const chunks = read(dir, 'kv_store_text_chunks.json');
  const nulChunk = Object.keys(chunks)[0]!;
  const chunk = chunks[nulChunk] as Json;
  chunk.content = `${String(chunk.content).slice(0, 5)}\0${String(chunk.content).slice(5, 10)}\0${String(chunk.content).slice(10)}${EXOTIC}`;
  write(dir, 'kv_store_text_chunks.json', chunks);
  const vchunks = read(dir, 'vdb_chunks.json') as { data: Json[] };
  for (const r of vchunks.data) if (r.__id__ === nulChunk) r.content = chunk.content;
  write(dir, 'vdb_chunks.json', vchunks);

  // a lone surrogate in a document, and a document whose id is longer than VARCHAR(255)
  const docs = read(dir, 'kv_store_full_docs.json');
  const surrogateDoc = Object.keys(docs)[0]!;
  const doc = docs[surrogateDoc] as Json;
  doc.content = `lone \ud83d here, pair 😀 fine.${EXOTIC} ${String(doc.content)}`;
  docs[LONG_DOC_ID] = { content: `a document with a long id${EXOTIC}`, file_path: 'long.txt' };
  write(dir, 'kv_store_full_docs.json', docs);

  // NUL inside a jsonb value (doc status metadata), and the long-id document's status
  const status = read(dir, 'kv_store_doc_status.json');
  const jsonbNulDoc = Object.keys(status)[0]!;
  const st = status[jsonbNulDoc] as Json;
  st.metadata = { ...(st.metadata as Json | undefined), extracted_title: 'Title\0with NUL', 'key\0nul': 1 };
  status[LONG_DOC_ID] = { ...st, metadata: {}, content_summary: 'long id', file_path: 'long.txt', chunks_list: [] };
  write(dir, 'kv_store_doc_status.json', status);

  // a bare-hash LLM cache key (the 2024 flat cache), which LightRAG's PostgreSQL storage calls legacy
  const cache = read(dir, 'kv_store_llm_response_cache.json');
  cache[BARE_CACHE_KEY] = { return: 'cached answer', model: 'gpt-4o-mini' };
  write(dir, 'kv_store_llm_response_cache.json', cache);

  // an entity renamed to 600 characters everywhere it is named: vector record (id = ent-md5(name)), graph, entity_chunks
  const ents = read(dir, 'vdb_entities.json') as { data: Json[] };
  const from = String(ents.data[0]?.entity_name);
  const id = `ent-${md5(LONG_ENTITY)}`;
  ents.data[0]!.entity_name = LONG_ENTITY;
  ents.data[0]!.__id__ = id;
  ents.data[0]!.content = `${LONG_ENTITY}\n${String(ents.data[0]!.content)}`;
  write(dir, 'vdb_entities.json', ents);
  const graphFile = path.join(dir, 'graph_chunk_entity_relation.graphml');
  const xmlName = (s: string) => s.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');
  const graph = readFileSync(graphFile, 'utf8').replace(
    new RegExp(`(id|source|target)="${xmlName(from).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`, 'g'),
    (_m, attr: string) => `${attr}="${xmlName(LONG_ENTITY)}"`,
  );
  writeFileSync(graphFile, graph);
  const entityChunks = read(dir, 'kv_store_entity_chunks.json');
  if (entityChunks[from]) {
    entityChunks[LONG_ENTITY] = entityChunks[from];
    delete entityChunks[from];
    write(dir, 'kv_store_entity_chunks.json', entityChunks);
  }
  return { dir, nulChunk, surrogateDoc, jsonbNulDoc, renamedEntity: { from, to: LONG_ENTITY, id } };
}

/** Sets one float of record `index` of a nano-vectordb file's matrix to NaN (a vector no value can honestly replace). */
export function plantNaN(dir: string, file: string, index: number): string {
  const vdb = read(dir, file) as { embedding_dim: number; data: Json[]; matrix: string };
  const m = Buffer.from(vdb.matrix, 'base64');
  m.writeFloatLE(Number.NaN, index * vdb.embedding_dim * 4);
  vdb.matrix = m.toString('base64');
  write(dir, file, vdb);
  return String(vdb.data[index]!.__id__);
}
