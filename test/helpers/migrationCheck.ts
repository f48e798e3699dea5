import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { expect } from 'vitest';
import { planCollections } from '../../core/migration/planning';
import { verifyProduction } from '../../core/verify';
import { targetPlanOf } from '../../activities/targetPlan';
import type { MigrationResult } from '../../workflows/migration';
import type { JobContext } from '../../core/migration/types';
import { manifestCounts, readManifest } from './fixtures';

/** LightRAG's table of each manifest count. */
const TABLES: Record<string, string> = {
  full_docs: 'lightrag_doc_full',
  text_chunks: 'lightrag_doc_chunks',
  vdb_entities: 'lightrag_vdb_entity',
  vdb_relationships: 'lightrag_vdb_relation',
  vdb_chunks: 'lightrag_vdb_chunks',
  llm_response_cache: 'lightrag_llm_cache',
  doc_status: 'lightrag_doc_status',
  graph_edges: 'lightrag_graph_edges',
};

/**
 * A promoted migration of a real fixture (or of a store with the given counts per collection) is exact: per-table SQL counts equal the manifest's,
 * no id appears twice, the report the workflow wrote passed, and core/verify's verifyProduction
 * (counts, checksums over exact bytes, samples, dimensions) passes against the source files.
 */
export async function expectExactMigration(
  pool: pg.Pool,
  fixture: string | Record<string, number>,
  job: JobContext,
  result: MigrationResult,
): Promise<void> {
  expect(result.outcome).toBe('promoted');
  expect(result.verification?.passed).toBe(true);
  const expected =
    typeof fixture === 'string' ? manifestCounts(readManifest().find((r) => r.local_folder === fixture)!) : fixture;
  for (const [name, table] of Object.entries(TABLES)) {
    if (expected[name] === undefined) continue;
    const pk = await pool.query<{ c: string }>(
      `SELECT a.attname AS c FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary`,
      [table],
    );
    // No duplicate: distinct keys (the primary key, or the whole row without one) equal the count.
    const key = pk.rows.length ? `(${pk.rows.map((r) => `"${r.c}"`).join(', ')})` : `(t.*)::text`;
    const { rows } = await pool.query<{ n: string; d: string }>(
      `SELECT count(*) AS n, count(DISTINCT ${key}) AS d FROM ${table} t WHERE workspace = $1`,
      [job.workspace],
    );
    expect({ table, n: Number(rows[0]!.n) }).toEqual({ table, n: expected[name] });
    expect({ table, distinct: Number(rows[0]!.d) }).toEqual({ table, distinct: expected[name] });
  }
  const reportFile = path.join(job.databasePath, '.migration_reports', `${job.jobId}.json`);
  expect(existsSync(reportFile)).toBe(true);
  expect((JSON.parse(readFileSync(reportFile, 'utf8')) as { passed: boolean }).passed).toBe(true);
  const sources = await planCollections(job.databasePath, { batchSize: 1000 });
  const report = await verifyProduction(pool, targetPlanOf({ job, dimension: sources.dimension }), sources.collections);
  expect(report.collections.filter((c) => !c.passed).map((c) => c.collection)).toEqual([]);
  expect(report.passed).toBe(true);
  const state = JSON.parse(readFileSync(path.join(job.databasePath, '.migration_state.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  expect(state).toMatchObject({ phase: 'promoted', promoted: true, staging_complete: true, job_id: job.jobId });
}
