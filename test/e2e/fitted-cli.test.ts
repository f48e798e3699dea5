/**
 * The end of a run says what happened (issue 14), through the real binary and services: every
 * record with some values fitted (exit 0, a ⚠️ line naming the report), records left out (exit 3,
 * a ⚠️ banner, the ids), --strict refusing both, and the dry run listing the fitted values.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hybridrag } from '../helpers/cli';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';
import { hostileCopy, plantNaN } from '../helpers/hostile';
import { realDir } from '../integration/postgres/fixtureRecords';

const FIXTURE = 'hr231__portOS__rag_storage';
let db: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase('e2e_fitted');
});
afterAll(async () => {
  await db?.drop();
});

const migrate = (name: string, dir: string, ...extra: string[]) =>
  hybridrag([
    'backend',
    'migrate',
    name,
    '--path',
    dir,
    '-y',
    '--connection-string',
    db.url,
    '--workspace',
    name,
    ...extra,
  ]);
const rowsIn = async (table: string, workspace: string) =>
  Number((await db.pool.query(`SELECT count(*) AS n FROM ${table} WHERE workspace = $1`, [workspace])).rows[0].n);

describe('the end of a run says what happened', () => {
  it('--dry-run lists the values it will fit', async () => {
    const { dir, nulChunk } = hostileCopy(realDir(FIXTURE));
    const run = await hybridrag([
      'backend',
      'migrate',
      'dry',
      '--path',
      dir,
      '--dry-run',
      '--connection-string',
      db.url,
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('⚠️  6 values cannot be stored as they are and will be fitted');
    expect(run.stdout).toContain(`text_chunks "${nulChunk}" content: 2 NUL removed at offsets 5, 11`);
    expect(run.stdout).toContain(
      "⚠️  1 value will be stored whole but is longer than LightRAG's own column (lightrag_vdb_entity.entity_name holds 512",
    );
  });

  it('every record, some values fitted: exit 0, the success banner and a ⚠️ line naming the report', async () => {
    const { dir } = hostileCopy(realDir(FIXTURE));
    const run = await migrate('fitted', dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('✅ MIGRATION COMPLETED SUCCESSFULLY');
    const line = /⚠️ {2}Every record is in PostgreSQL; 6 values were fitted in 5 records .*: listed in (.*\.json)/.exec(
      run.stdout,
    );
    expect(line).not.toBeNull();
    expect(existsSync(line![1]!)).toBe(true);
    const report = JSON.parse(readFileSync(line![1]!, 'utf8')) as { collections: { fitted: { values: number } }[] };
    expect(report.collections.reduce((n, c) => n + c.fitted.values, 0)).toBe(6);
    expect(await rowsIn('lightrag_doc_full', 'fitted')).toBe(2);
    expect(run.stdout).toContain(
      'note: 1 value of lightrag_vdb_entity.entity_name is longer than 512 characters: stored whole, but LightRAG started with an embedding model name',
    );
  });

  it('records left out: exit 3, a ⚠️ banner and the ids, in text and in --json', async () => {
    const { dir } = hostileCopy(realDir(FIXTURE));
    const nan = plantNaN(dir, 'vdb_relationships.json', 1);
    const run = await migrate('leftout', dir, '--json');
    expect(run.code).toBe(3);
    const out = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(out).toMatchObject({ outcome: 'promoted', exitCode: 3, leftOut: 1, fittedValues: 6 });
    expect(out.leftOutRecords).toEqual([
      { collection: 'vdb_relationships', id: nan, reason: expect.stringMatching(/NaN at dimension 0.*re-embed/) },
    ]);
    expect(typeof out.reportFile).toBe('string');

    const again = hostileCopy(realDir(FIXTURE));
    plantNaN(again.dir, 'vdb_relationships.json', 1);
    const text = await migrate('leftout2', again.dir);
    expect(text.code).toBe(3);
    expect(text.stdout).toContain('⚠️  MIGRATION COMPLETED WITH 1 RECORD LEFT OUT');
    expect(text.stdout).toContain(`vdb_relationships "${nan}": its vector has NaN`);
    expect(text.stdout).not.toContain('COMPLETED SUCCESSFULLY');
  });

  it('--strict refuses to promote when anything had to be fitted', async () => {
    const { dir } = hostileCopy(realDir(FIXTURE));
    const run = await migrate('strict', dir, '--strict');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: Verification failed \(.*--strict: 6 values fitted and 0 records left out/);
    expect(await rowsIn('lightrag_doc_full', 'strict')).toBe(0);
    const usage = await hybridrag(['backend', 'migrate', 'x', '--strict', '--skip-verify']);
    expect(usage.code).toBe(2);
  });
});
