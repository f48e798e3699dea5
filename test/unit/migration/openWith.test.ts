import { describe, expect, it } from 'vitest';
import { envLines, lightragSettings, pythonLines } from '../../../core/migration/openWith';

const base = { host: 'db.local', port: 5433, user: 'rag', database: 'kb', workspace: 'team a', dimension: 1536 };

describe('lightragSettings', () => {
  it('names the PostgreSQL storages, the connection without its password, the workspace, model and index type', () => {
    const s = lightragSettings({ ...base, embeddingModel: 'text-embedding-3-small', vectorIndex: 'hnsw_halfvec' });
    expect(envLines(s)).toEqual([
      'LIGHTRAG_KV_STORAGE=PGKVStorage',
      'LIGHTRAG_VECTOR_STORAGE=PGVectorStorage',
      'LIGHTRAG_GRAPH_STORAGE=PGTableGraphStorage',
      'LIGHTRAG_DOC_STATUS_STORAGE=PGDocStatusStorage',
      'POSTGRES_HOST=db.local',
      'POSTGRES_PORT=5433',
      'POSTGRES_USER=rag',
      'POSTGRES_DATABASE=kb',
      'POSTGRES_WORKSPACE="team a"',
      'POSTGRES_VECTOR_INDEX_TYPE=HNSW_HALFVEC',
      'EMBEDDING_MODEL=text-embedding-3-small',
      'EMBEDDING_DIM=1536',
    ]);
    expect(Object.keys(s.env).some((k) => k.includes('PASSWORD'))).toBe(false);
    expect(pythonLines(s)).toContain(
      '    embedding_func=EmbeddingFunc(embedding_dim=1536, model_name="text-embedding-3-small", func=your_embedding_function),',
    );
    expect(pythonLines(s)).toContain('    workspace="team a",');
  });

  it('without a model says LightRAG copies the unsuffixed tables, and without an index leaves the type out', () => {
    const s = lightragSettings({ ...base, vectorIndex: 'none' });
    expect(s.env.EMBEDDING_MODEL).toBeUndefined();
    expect(s.env.POSTGRES_VECTOR_INDEX_TYPE).toBeUndefined();
    expect(s.notes.join(' ')).toMatch(/unsuffixed.*_1536d/);
    expect(s.embeddingFunc).toEqual({ embedding_dim: 1536, model_name: null });
  });
});
