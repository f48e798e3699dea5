/**
 * LightRAG starts clean on the result (issue 14): one database holds every fixture store (each in
 * its own workspace, vectors in model-suffixed tables per dimension) plus a hostile copy; LightRAG
 * 1.5.7 then starts every PostgreSQL storage — table checks and every startup migration (LLM cache
 * keys, doc status, chunks, field lengths, vector tables, graph) — and must log no ERROR. The same
 * probe does report the ERROR once a bare-hash cache row (what this tool used to write) is present.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '../../helpers/db';
import { hostileCopy } from '../../helpers/hostile';
import { buildIndexes, planTarget, promote } from '../../../core/postgres';
import { planFixture, stageSources } from '../verify/stageSources';
import { realDir } from './fixtureRecords';
import { lightragPython, runLightragProbe } from './lightragProbe';

const MODEL = 'startup-check-model';
let db: ScratchDatabase;
let python = '';
const stores: { workspace: string; dim: number; model: string }[] = [];

function fixtureStores(): string[] {
  const [, ...rows] = readFileSync(realDir('MANIFEST.tsv'), 'utf8').trim().split('\n');
  return rows.map((r) => realDir(r.split('\t')[0]!));
}

beforeAll(async () => {
  python = lightragPython();
  db = await createScratchDatabase('startup_lightrag');
  const dirs = [...fixtureStores(), hostileCopy(realDir('hr231__portOS__rag_storage')).dir];
  for (const [i, dir] of dirs.entries()) {
    const workspace = `store_${i}`;
    const { sources, dimension } = await planFixture(dir, 50);
    // beyond 2000 dimensions pgvector indexes only halfvec: migrated and started as LightRAG's HNSW_HALFVEC
    const highDimensionIndex = dimension > 2000 ? 'halfvec' : 'none';
    const plan = planTarget({
      migrationId: `startup-${i}`,
      workspace,
      dimension,
      embeddingModel: MODEL,
      highDimensionIndex,
    });
    await stageSources(db.pool, plan, sources);
    await buildIndexes(db.pool, plan);
    await promote(db.pool, plan);
    stores.push({ workspace, dim: dimension, model: MODEL });
  }
}, 900_000);
afterAll(async () => {
  await db?.drop();
});

describe('LightRAG 1.5.7 starts on a database holding every fixture store', () => {
  it('runs its startup checks and migrations on every storage without logging an ERROR', () => {
    expect(stores.length).toBeGreaterThanOrEqual(11);
    // LightRAG's PostgreSQL pool is process-wide with one vector index type: one run per type
    const runs = [
      { stores: stores.filter((s) => s.dim <= 2000), env: {} as Record<string, string> },
      { stores: stores.filter((s) => s.dim > 2000), env: { POSTGRES_VECTOR_INDEX_TYPE: 'HNSW_HALFVEC' } },
    ];
    expect(runs[1]!.stores.length).toBeGreaterThan(0);
    for (const run of runs) {
      const out = runLightragProbe(python, 'lightrag_startup_probe.py', { stores: run.stores }, db.url, run.env).result;
      expect(out.log_errors).toEqual([]);
      expect(out.migration_logs.filter((m: string) => /failed|error/i.test(m))).toEqual([]);
    }
  }, 600_000);

  it('the same probe reports the ERROR a legacy (bare-hash) cache row causes', async () => {
    await db.pool.query(
      `INSERT INTO lightrag_llm_cache (workspace, id, original_prompt, return_value, cache_type) VALUES ('legacy', 'f00d', '', '', 'extract')`,
    );
    const out = runLightragProbe(python, 'lightrag_startup_probe.py', { stores: stores.slice(0, 1) }, db.url).result;
    expect(out.log_errors.join('\n')).toMatch(/column "mode" does not exist|LLM cache migration failed/);
  }, 600_000);
});
