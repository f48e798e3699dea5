/**
 * Hardening: concurrent CLIs. Two CLIs starting the same migration at once run one workflow (the
 * second attaches) and both end well; two databases migrating into one PostgreSQL at once (own
 * workspaces, own staging schemas, each CLI's embedded worker on its own task queue) both end exact.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hybridrag } from '../helpers/cli';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';
import { copyFixture } from '../helpers/fixtures';

let db: ScratchDatabase;
let other: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase('hard_conc');
  other = await createScratchDatabase('hard_conc2');
});
afterAll(async () => {
  await db?.drop();
  await other?.drop();
});

const count = async (table: string, workspace: string, on: ScratchDatabase = db) =>
  Number(
    (await on.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE workspace = $1`, [workspace]))
      .rows[0]!.n,
  );

describe('concurrent CLIs', () => {
  it('two CLIs start the same migration at once: one workflow runs, both exit 0, rows exact', async () => {
    const dir = copyFixture('hr231__portOS__rag_storage');
    const args = [
      'backend',
      'migrate',
      'same',
      '--path',
      dir,
      '-y',
      '--connection-string',
      db.url,
      '--workspace',
      'same',
    ];
    const [a, b] = await Promise.all([hybridrag(args), hybridrag(args)]);
    expect(a.stderr).toBe('');
    expect(b.stderr).toBe('');
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(await count('lightrag_vdb_entity', 'same')).toBe(32);
    expect(await count('lightrag_vdb_relation', 'same')).toBe(21);
    const state = JSON.parse(readFileSync(path.join(dir, '.migration_state.json'), 'utf8')) as {
      workflow_id: string;
      phase: string;
    };
    expect(state.phase).toBe('promoted');
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const runs: string[] = [];
      for await (const wf of new Client({ connection }).workflow.list({ query: `WorkflowId = "${state.workflow_id}"` }))
        runs.push(wf.runId);
      expect(runs).toHaveLength(1);
    } finally {
      await connection.close();
    }
  });

  // Different embedding dimensions (256 and 3072) share LightRAG's unsuffixed vector tables only
  // by --embedding-model; the tool refuses that mix clearly, so the second store goes to another
  // database of the same server.
  it('two databases into the same PostgreSQL server at the same time: both exact, no interference', async () => {
    const one = copyFixture('hr231__portOS__rag_storage');
    const two = copyFixture('kunj-10__HackRx-6.0__data');
    const [a, b] = await Promise.all([
      hybridrag([
        'backend',
        'migrate',
        'one',
        '--path',
        one,
        '-y',
        '--staged',
        '--connection-string',
        db.url,
        '--workspace',
        'one',
        '--batch-size',
        '5',
      ]),
      hybridrag([
        'backend',
        'migrate',
        'two',
        '--path',
        two,
        '-y',
        '--connection-string',
        other.url,
        '--workspace',
        'two',
        '--batch-size',
        '5',
      ]),
    ]);
    expect(a.stderr).toBe('');
    expect(b.stderr).toBe('');
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(await count('lightrag_vdb_entity', 'one')).toBe(32);
    expect(await count('lightrag_graph_edges', 'one')).toBe(21);
    expect(await count('lightrag_vdb_entity', 'two', other)).toBe(12);
    expect(await count('lightrag_vdb_relation', 'two', other)).toBe(13);
    expect(await count('lightrag_doc_full', 'two', other)).toBe(4);
  });
});
