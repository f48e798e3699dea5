import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConnectionString } from '../../core/connection';
import type { MigrationInput, migrationWorkflow } from '../../workflows/migration';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';
import { copyFixture, manifestCounts, readManifest } from '../helpers/fixtures';
import { connectTestTemporal, credentialsFor, type TestTemporal } from '../helpers/temporal';

let db: ScratchDatabase;
let temporal: TestTemporal;

beforeAll(async () => {
  db = await createScratchDatabase('wf_direct');
  temporal = await connectTestTemporal(credentialsFor(db.url));
});
afterAll(async () => {
  await temporal?.close();
  await db?.drop();
});

const FIXTURE = 'Rajendk-AITech__LightRAG__rag_storage';

function input(dir: string, jobId: string): MigrationInput {
  return {
    job: {
      jobId,
      databaseName: 'rajendk',
      databasePath: dir,
      target: parseConnectionString(db.url).target,
      workspace: 'default',
      layout: 'lightrag',
    },
    mode: 'direct',
    batchSize: 7,
    skipVerify: false,
    parallelism: 2,
    collectionParallelism: 2,
  };
}

describe('migrationWorkflow (direct) on a real fixture', () => {
  it('moves every record into LightRAG tables, mirrors the state file, and leaves no plan files', async () => {
    const dir = copyFixture(FIXTURE);
    const expected = manifestCounts(readManifest().find((r) => r.local_folder === FIXTURE)!);
    const result = await temporal.client.workflow.execute<typeof migrationWorkflow>('migrationWorkflow', {
      taskQueue: temporal.taskQueue,
      workflowId: `test-direct-${temporal.taskQueue}`,
      args: [input(dir, 'job-test-direct-1')],
    });
    expect(result.outcome).toBe('promoted');
    const count = async (table: string) =>
      Number((await db.pool.query(`SELECT count(*) AS n FROM ${table} WHERE workspace = 'default'`)).rows[0].n);
    expect(await count('lightrag_doc_full')).toBe(expected.full_docs);
    expect(await count('lightrag_doc_chunks')).toBe(expected.text_chunks);
    expect(await count('lightrag_vdb_entity')).toBe(expected.vdb_entities);
    expect(await count('lightrag_vdb_relation')).toBe(expected.vdb_relationships);
    expect(await count('lightrag_vdb_chunks')).toBe(expected.vdb_chunks);
    expect(await count('lightrag_llm_cache')).toBe(expected.llm_response_cache);
    expect(await count('lightrag_doc_status')).toBe(expected.doc_status);
    expect(await count('lightrag_graph_edges')).toBe(expected.graph_edges);
    const state = JSON.parse(readFileSync(path.join(dir, '.migration_state.json'), 'utf8')) as Record<string, unknown>;
    expect(state).toMatchObject({
      phase: 'promoted',
      promoted: true,
      staging_complete: true,
      verification_passed: true,
      job_id: 'job-test-direct-1',
    });
    expect(existsSync(path.join(dir, '.migration_plans'))).toBe(false);
    expect(result.progress.rowsDone).toBe(result.progress.rowsTotal);
  });
});
