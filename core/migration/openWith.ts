import type { VectorIndexType } from '../postgres/layouts/types';

/** What decides how LightRAG reads a migrated workspace. Plain data: never a password. */
export interface OpenWithInput {
  host: string;
  port: number;
  user: string;
  database: string;
  workspace: string;
  dimension: number;
  /** the model that named the vector tables `{table}_{model}_{dim}d`; absent: the unsuffixed tables */
  embeddingModel?: string;
  vectorIndex: VectorIndexType;
}

/** The settings that make LightRAG (lightrag-hku 1.5.7) read the migrated workspace. */
export interface LightragSettings {
  /** `.env` settings, in the order printed (POSTGRES_PASSWORD is never among them) */
  env: Record<string, string>;
  /** the keyword arguments of `LightRAG(...)` that are plain values (the functions are the user's own) */
  arguments: Record<string, string>;
  embeddingFunc: { embedding_dim: number; model_name: string | null };
  notes: string[];
}

const INDEX_TYPES: Record<Exclude<VectorIndexType, 'none'>, string> = {
  hnsw: 'HNSW',
  hnsw_halfvec: 'HNSW_HALFVEC',
  ivfflat: 'IVFFLAT',
};

/**
 * The `.env` lines LightRAG's server reads (api/config.py: LIGHTRAG_*_STORAGE, EMBEDDING_*;
 * kg/postgres_impl.py: POSTGRES_*) and the equivalent `LightRAG(...)` arguments. The workspace is
 * POSTGRES_WORKSPACE, which LightRAG's PostgreSQL storages put before any other workspace setting.
 */
export function lightragSettings(input: OpenWithInput): LightragSettings {
  const env: Record<string, string> = {
    LIGHTRAG_KV_STORAGE: 'PGKVStorage',
    LIGHTRAG_VECTOR_STORAGE: 'PGVectorStorage',
    LIGHTRAG_GRAPH_STORAGE: 'PGTableGraphStorage',
    LIGHTRAG_DOC_STATUS_STORAGE: 'PGDocStatusStorage',
    POSTGRES_HOST: input.host,
    POSTGRES_PORT: String(input.port),
    POSTGRES_USER: input.user,
    POSTGRES_DATABASE: input.database,
    POSTGRES_WORKSPACE: input.workspace,
  };
  const notes: string[] = ['POSTGRES_PASSWORD: set it yourself (from your secret store); it is never printed'];
  if (input.vectorIndex !== 'none') env.POSTGRES_VECTOR_INDEX_TYPE = INDEX_TYPES[input.vectorIndex];
  else notes.push('no vector index was built (the dimension is beyond what pgvector indexes): searches scan the table');
  if (input.embeddingModel) env.EMBEDDING_MODEL = input.embeddingModel;
  else
    notes.push(
      `the vector tables are LightRAG's unsuffixed ones: on first start LightRAG copies them into {table}_{model}_${input.dimension}d for your EMBEDDING_MODEL (its dimension must be ${input.dimension})`,
    );
  env.EMBEDDING_DIM = String(input.dimension);
  return {
    env,
    arguments: {
      workspace: input.workspace,
      kv_storage: env.LIGHTRAG_KV_STORAGE!,
      vector_storage: env.LIGHTRAG_VECTOR_STORAGE!,
      graph_storage: env.LIGHTRAG_GRAPH_STORAGE!,
      doc_status_storage: env.LIGHTRAG_DOC_STATUS_STORAGE!,
    },
    embeddingFunc: { embedding_dim: input.dimension, model_name: input.embeddingModel ?? null },
    notes,
  };
}

/** `.env` lines; a value with a space, `#` or a quote is double-quoted as dotenv reads it. */
export function envLines(settings: LightragSettings): string[] {
  return Object.entries(settings.env).map(([k, v]) => `${k}=${/^[\w.:/@-]*$/.test(v) ? v : JSON.stringify(v)}`);
}

/** The equivalent Python: the connection stays in the environment (POSTGRES_*), the rest is arguments. */
export function pythonLines(settings: LightragSettings): string[] {
  const py = (v: string) => JSON.stringify(v);
  const fn = settings.embeddingFunc;
  return [
    'rag = LightRAG(',
    '    working_dir="./rag_storage",',
    ...Object.entries(settings.arguments).map(([k, v]) => `    ${k}=${py(v)},`),
    `    embedding_func=EmbeddingFunc(embedding_dim=${fn.embedding_dim}${fn.model_name ? `, model_name=${py(fn.model_name)}` : ''}, func=your_embedding_function),`,
    '    llm_model_func=your_llm_function,',
    ')',
  ];
}
