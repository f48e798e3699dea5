import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hybridrag } from '../helpers/cli';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';
import { copyFixture, manifestCounts, readManifest } from '../helpers/fixtures';

let db: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase('e2e_migrate');
});
afterAll(async () => {
  await db?.drop();
});

const FIXTURE = 'kunj-10__HackRx-6.0__data';

/** Every file below a folder with its size and mtime: proof that nothing was written. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const file = path.join(e.parentPath, e.name);
      const s = statSync(file);
      return `${path.relative(dir, file)} ${s.size} ${s.mtimeMs}`;
    })
    .sort();
}

async function userTables(): Promise<string[]> {
  const { rows } = await db.pool.query<{ t: string }>(
    `SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  );
  return rows.map((r) => r.t);
}

describe('hybridrag backend migrate (real binary, real services)', () => {
  it('--dry-run lists every collection with counts, dimension, size, batches and target tables, and writes nothing anywhere', async () => {
    const dir = copyFixture(FIXTURE);
    const before = snapshot(dir);
    const run = await hybridrag([
      'backend',
      'migrate',
      'hackrx',
      '--path',
      dir,
      '--dry-run',
      '--connection-string',
      db.url,
      '--batch-size',
      '2',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const expected = manifestCounts(readManifest().find((r) => r.local_folder === FIXTURE)!);
    expect(run.stdout).toContain("DRY RUN: migration preview for 'hackrx'");
    expect(run.stdout).toMatch(/Dimension: {2}3072 \(from embedding_dim\)/);
    expect(run.stdout).toMatch(
      new RegExp(
        `vdb_entities +${expected.vdb_entities} +3072 \\(embedding_dim\\) +[\\d.,]+ KB +${Math.ceil(expected.vdb_entities! / 2)} +LIGHTRAG_VDB_ENTITY`,
        'i',
      ),
    );
    expect(run.stdout).toMatch(new RegExp(`text_chunks +${expected.text_chunks} +- `));
    expect(run.stdout).toContain(
      'Absent (nothing to migrate): full_entities, full_relations, entity_chunks, relation_chunks',
    );
    // an empty target: every table created partitioned and attached, or swapped in (graph tables)
    expect(run.stdout).toContain(
      "Promote: 11 attached as this workspace's partition, 2 swapped in whole; about 1s in one transaction",
    );
    expect(run.stdout).toContain('No changes made (dry run).');
    expect(snapshot(dir)).toEqual(before);
    expect(await userTables()).toEqual([]);
    expect(run.stdout).not.toContain(new URL(db.url).password);
  });

  it('--dry-run --json prints one machine-readable result', async () => {
    const dir = copyFixture(FIXTURE);
    const run = await hybridrag([
      'backend',
      'migrate',
      '--path',
      dir,
      '--dry-run',
      '--json',
      '--connection-string',
      db.url,
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as {
      dimension: number;
      collections: { collection: string; records: number }[];
    };
    expect(report.dimension).toBe(3072);
    expect(report.collections.find((c) => c.collection === 'vdb_chunks')?.records).toBe(4);
  });

  it('names workspaces in sub-folders instead of mixing them in, and refuses a folder that only holds sub-folder workspaces', async () => {
    const dir = copyFixture('ljxpython__langgraph_teach__rag_storage');
    const run = await hybridrag(['backend', 'migrate', '--path', dir, '--dry-run', '--connection-string', db.url]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `Workspaces in sub-folders (knowledge_base, llm_collection) are separate LightRAG workspaces, not part of this migration: migrate each with --path ${dir}/knowledge_base --workspace knowledge_base`,
    );
    const parent = path.dirname(copyFixture('hr231__portOS__rag_storage'));
    const nested = path.join(parent, `only-subfolders-${Date.now()}`);
    const { mkdirSync, cpSync } = await import('node:fs');
    mkdirSync(nested);
    cpSync(path.join(dir, 'knowledge_base'), path.join(nested, 'ws1'), { recursive: true });
    const refused = await hybridrag([
      'backend',
      'migrate',
      '--path',
      nested,
      '--dry-run',
      '--connection-string',
      db.url,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `error: ${nested} holds LightRAG workspaces in sub-folders (ws1) but no data files itself; migrate each with --path ${nested}/ws1 --workspace ws1.\n`,
    );
    const notLightrag = await hybridrag([
      'backend',
      'migrate',
      '--path',
      parent,
      '--dry-run',
      '--connection-string',
      db.url,
    ]);
    expect(notLightrag.code).toBe(1);
    expect(notLightrag.stderr.split('\n')).toHaveLength(2);
  });

  it('refuses to write without -y in a non-interactive shell, and writes nothing', async () => {
    const dir = copyFixture(FIXTURE);
    const before = snapshot(dir);
    const run = await hybridrag(['backend', 'migrate', '--path', dir, '--connection-string', db.url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /refusing without confirmation in a non-interactive shell; pass --yes \(-y\) to proceed\.\n$/,
    );
    expect(snapshot(dir)).toEqual(before);
    expect(await userTables()).toEqual([]);
  });

  it('rejects conflicting flags with a one-line reason', async () => {
    const run = await hybridrag(['backend', 'migrate', 'x', '--dry-run', '--rollback', '20251219_213814']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('error: --rollback: cannot be combined with --dry-run; choose one\n');
    const staged = await hybridrag(['backend', 'migrate', 'x', '--backup-only', '--staged']);
    expect(staged.code).toBe(2);
    expect(staged.stderr).toBe('error: --staged: cannot be combined with --backup-only; choose one\n');
    const batch = await hybridrag(['backend', 'migrate', 'x', '--batch-size', 'lots']);
    expect(batch.stderr).toBe('error: --batch-size: must be a whole number\n');
  });

  it('says clearly when --path is a file or the database is not registered', async () => {
    const file = path.join(copyFixture(FIXTURE), 'vdb_chunks.json');
    const run = await hybridrag(['backend', 'migrate', '--path', file, '--dry-run']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^error: --path .*vdb_chunks\.json is a file, not a folder; point it to the LightRAG working directory/,
    );
    const home = copyFixture(FIXTURE); // any empty-of-registry HOME
    const missing = await hybridrag(['backend', 'migrate', 'nosuchdb', '--dry-run'], { HOME: home });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /^error: There is no HybridRAG registry at .*registry\.yaml; register the database with HybridRAG first, or pass --path DIR\.\n$/,
    );
  });

  it('migrates directly with -y, prints the phases, and status reports the finished job', async () => {
    const dir = copyFixture(FIXTURE);
    const run = await hybridrag([
      'backend',
      'migrate',
      'hackrx',
      '--path',
      dir,
      '-y',
      '--connection-string',
      db.url,
      '--batch-size',
      '3',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("MIGRATION for 'hackrx'");
    expect(run.stdout).toMatch(/Phase 1\/3: Migrating to staging\.\.\.\n(.*\n)*? {3}✓ Data migrated to staging tables/);
    expect(run.stdout).toMatch(/Phase 2\/3: Verifying staged data\.\.\.\n(.*\n)*? {3}✓ Verification passed/);
    expect(run.stdout).toMatch(
      /Phase 3\/3: Promoting staging to production\.\.\.\n(.*\n)*? {3}✓ Staging tables promoted to production/,
    );
    expect(run.stdout).toContain('✅ MIGRATION COMPLETED SUCCESSFULLY');
    const expected = manifestCounts(readManifest().find((r) => r.local_folder === FIXTURE)!);
    const { rows } = await db.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM lightrag_vdb_entity WHERE workspace = 'default'`,
    );
    expect(Number(rows[0]!.n)).toBe(expected.vdb_entities);
    const state = JSON.parse(readFileSync(path.join(dir, '.migration_state.json'), 'utf8')) as {
      phase: string;
      job_id: string;
    };
    expect(state.phase).toBe('promoted');

    const status = await hybridrag(['backend', 'status', '--path', dir]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`Job:       ${state.job_id} (direct)`);
    expect(status.stdout).toContain('Phase:     promoted');
    expect(status.stdout).toMatch(/Workflow: {2}COMPLETED · http:\/\/.*\/workflows\/migrate%2Fhackrx%2F/);
  });
});
