import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { hybridrag } from '../helpers/cli';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';
import { copyFixture } from '../helpers/fixtures';

/** A real store of 3072-dimension embeddings (text-embedding-3-large): beyond pgvector's 2000-dimension vector index. */
const FIXTURE = 'kunj-10__HackRx-6.0__data';
let db: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase('high_dim');
});
afterAll(async () => {
  await db?.drop();
});

const env = () => ({ TEMPORAL_ADDRESS: inject('temporalAddress') });
const vectorColumn = async (table: string) =>
  (
    await db.pool.query<{ t: string }>(
      `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'content_vector'`,
      [table],
    )
  ).rows[0]?.t;
const vectorIndexes = async (table: string) =>
  (
    await db.pool.query<{ d: string }>(
      `SELECT indexdef AS d FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1 AND indexdef ILIKE '%using hnsw%'`,
      [table],
    )
  ).rows.map((r) => r.d);

describe('vectors over 2000 dimensions', () => {
  it('--high-dimension-index halfvec stores them as halfvec with an HNSW index, verified; the dry run counts the index build', async () => {
    const dir = copyFixture(FIXTURE);
    const dry = await hybridrag(
      [
        'backend',
        'migrate',
        '--path',
        dir,
        '--dry-run',
        '--high-dimension-index',
        'halfvec',
        '--connection-string',
        db.url,
      ],
      env(),
    );
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/Estimated time: about .* \(.*index build .*\)/);
    const plain = await hybridrag(
      ['backend', 'migrate', '--path', dir, '--dry-run', '--connection-string', db.url],
      env(),
    );
    expect(plain.stdout).not.toMatch(/index build/);

    const run = await hybridrag(
      [
        'backend',
        'migrate',
        '--path',
        dir,
        '-y',
        '--json',
        '--high-dimension-index',
        'halfvec',
        '--connection-string',
        db.url,
      ],
      env(),
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as {
      outcome: string;
      verification: { passed: boolean } | null;
      notes: string[];
    };
    expect(out.outcome).toBe('promoted');
    expect(out.verification?.passed).toBe(true);
    expect(out.notes.join('\n')).toMatch(/3072-dimension vectors are stored as halfvec with an HNSW halfvec index/);
    expect(await vectorColumn('lightrag_vdb_chunks')).toBe('halfvec(3072)');
    expect((await vectorIndexes('lightrag_vdb_chunks')).join('\n')).toMatch(/halfvec_cosine_ops/);
  });

  it('by default they stay exact vectors without an index, and the note says how to get one', async () => {
    const dir = copyFixture(FIXTURE);
    const run = await hybridrag(
      [
        'backend',
        'migrate',
        '--path',
        dir,
        '-y',
        '--json',
        '--workspace',
        'exact',
        '--embedding-model',
        'large',
        '--connection-string',
        db.url,
      ],
      env(),
    );
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { outcome: string; notes: string[] };
    expect(out.outcome).toBe('promoted');
    expect(out.notes.join('\n')).toContain('--high-dimension-index halfvec stores them as halfvec with an index');
    const table = 'lightrag_vdb_chunks_large_3072d';
    expect(await vectorColumn(table)).toBe('vector(3072)');
    expect(await vectorIndexes(table)).toEqual([]);
  });
});
