import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { generateStore } from '../../core/source/generate';
import { CLI, hybridrag } from '../helpers/cli';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';
import { copyFixture, manifestCounts, readManifest } from '../helpers/fixtures';

let db: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase('e2e_staged');
});
afterAll(async () => {
  await db?.drop();
});

/** A HOME with a HybridRAG registry holding one database. */
function registryHome(name: string, dbPath: string): string {
  const home = mkdtempSync(path.join(os.tmpdir(), 'home-'));
  mkdirSync(path.join(home, '.hybridrag'));
  writeFileSync(
    path.join(home, '.hybridrag/registry.yaml'),
    `version: 1\ndatabases:\n  ${name}:\n    name: ${name}\n    path: ${dbPath}\n    backend_type: json\n`,
  );
  return home;
}

const count = async (table: string, workspace: string) =>
  Number((await db.pool.query(`SELECT count(*) AS n FROM ${table} WHERE workspace = $1`, [workspace])).rows[0].n);

async function waitFor(check: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const state = (dir: string) =>
  existsSync(path.join(dir, '.migration_state.json'))
    ? (JSON.parse(readFileSync(path.join(dir, '.migration_state.json'), 'utf8')) as Record<string, unknown>)
    : {};

describe('staged migration through the registry, backups and rollback (real binary)', () => {
  it('migrates staged, switches the registry entry, lists the backup, and rolls back', async () => {
    const FIXTURE = 'ljxpython__langgraph_teach__rag_storage';
    const dir = copyFixture(FIXTURE);
    const home = registryHome('teach', dir);
    const env = { HOME: home };
    const run = await hybridrag(
      // a gzip backup (the default is a plain tar): the rollback below restores from it
      [
        'backend',
        'migrate',
        'teach',
        '--staged',
        '-y',
        '--connection-string',
        db.url,
        '--workspace',
        'teach',
        '--backup-compression',
        'gzip',
      ],
      env,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("STAGED MIGRATION for 'teach'");
    expect(run.stdout).toContain('Workflow: Backup → Staging → Verify → Promote');
    const backup = /Phase 1\/4: Creating backup\.\.\.\n(?:.*\n)*? {3}✓ Backup created: (\d{8}_\d{6})/.exec(
      run.stdout,
    )?.[1];
    expect(backup).toBeDefined();
    expect(existsSync(path.join(dir, '.backups', `teach_${backup}.tar.gz`))).toBe(true);
    expect(run.stdout).toMatch(/Phase 2\/4: Migrating to staging\.\.\.\n(.*\n)*? {3}✓ Data migrated to staging tables/);
    expect(run.stdout).toMatch(/Phase 3\/4: Verifying staged data\.\.\.\n(.*\n)*? {3}✓ Verification passed/);
    expect(run.stdout).toMatch(
      /Phase 4\/4: Promoting staging to production\.\.\.\n(.*\n)*? {3}✓ Staging tables promoted to production/,
    );
    expect(run.stdout).toContain('✅ STAGED MIGRATION COMPLETED SUCCESSFULLY');
    expect(run.stdout).toContain(
      `Backup retained: ${backup}\nTo rollback if needed: hybridrag backend migrate teach --rollback ${backup}`,
    );
    const expected = manifestCounts(readManifest().find((r) => r.local_folder === FIXTURE)!);
    expect(await count('lightrag_vdb_relation', 'teach')).toBe(expected.vdb_relationships);
    expect(await count('lightrag_llm_cache', 'teach')).toBe(expected.llm_response_cache);

    const registry = readFileSync(path.join(home, '.hybridrag/registry.yaml'), 'utf8');
    expect(registry).toMatch(
      /backend_type: postgres\n\s+backend_config:\n\s+backend_type: postgres\n\s+postgres_host: 127\.0\.0\.1/,
    );
    expect(registry).toContain('postgres_workspace: teach');
    expect(registry).not.toContain(new URL(db.url).password);

    const list = await hybridrag(['backend', 'migrate', 'teach', '--list-backups'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(
        `^Backups for 'teach'\\n=+\\n {3}${backup} +\\| +\\d+ files \\| [\\d,.]+ KB \\| \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\n=+\\n$`,
      ),
    );

    const refused = await hybridrag(['backend', 'migrate', 'teach', '--rollback', '../../etc/passwd', '-y'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/is not a backup id/);
    const unknown = await hybridrag(['backend', 'migrate', 'teach', '--rollback', '20000101_000000', '-y'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/There is no backup 20000101_000000 of 'teach'/);

    const rollback = await hybridrag(
      ['backend', 'migrate', 'teach', '--rollback', backup!, '-y', '--connection-string', db.url],
      env,
    );
    expect(rollback.stderr).toBe('');
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toContain('✓ PostgreSQL: previous generation restored');
    expect(rollback.stdout).toContain('✅ ROLLBACK COMPLETED');
    expect(await count('lightrag_vdb_relation', 'teach').catch(() => 0)).toBe(0);
    expect(readFileSync(path.join(home, '.hybridrag/registry.yaml'), 'utf8')).toMatch(
      /teach:\n(.*\n)*?\s+backend_type: json\n?/,
    );
    expect(state(dir).phase).toBe('rolled_back');
  });

  it('--backup-only makes a backup and nothing else', async () => {
    const dir = copyFixture('hr231__portOS__rag_storage');
    const home = registryHome('portos', dir);
    const run = await hybridrag(['backend', 'migrate', 'portos', '--backup-only', '-y'], { HOME: home });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^Creating backup of 'portos'\.\.\.\n {3}✓ Backup created: \d{8}_\d{6} \(\d+ files, [\d,.]+ KB\)\n$/,
    );
    expect(existsSync(path.join(dir, '.migration_state.json'))).toBe(false);
    // a plain tar by default; --backup-compression gzip writes a .tar.gz, and the meta says which
    const gz = await hybridrag(
      ['backend', 'migrate', 'portos', '--backup-only', '-y', '--backup-compression', 'gzip'],
      {
        HOME: home,
      },
    );
    expect(gz.code, gz.stderr).toBe(0);
    const archives = readdirSync(path.join(dir, '.backups')).filter((f) => /\.tar(\.gz)?$/.test(f));
    expect(archives.map((f) => f.replace(/^portos_\d{8}_\d{6}(_\d+)?/, '')).sort()).toEqual(['.tar', '.tar.gz']);
    const gzArchive = archives.find((f) => f.endsWith('.tar.gz'))!;
    expect(readFileSync(path.join(dir, '.backups', gzArchive)).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const meta = JSON.parse(
      readFileSync(path.join(dir, '.backups', gzArchive.replace(/\.tar\.gz$/, '.meta.json')), 'utf8'),
    ) as { archive: { codec: string } };
    expect(meta.archive.codec).toBe('gzip');
    const list = await hybridrag(['backend', 'migrate', 'portos', '--list-backups'], { HOME: home });
    expect(list.stdout.match(/\d{8}_\d{6}/g)?.length, list.stdout).toBe(2);
  });

  it('resumes after the CLI is killed mid-migration and ends with exact counts', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gen-'));
    generateStore({ out: dir, records: 800, dim: 64, era: 'newest', seed: 7, chunkChars: 400 });
    const args = [
      'backend',
      'migrate',
      'gen',
      '--path',
      dir,
      '--staged',
      '-y',
      '--connection-string',
      db.url,
      '--workspace',
      'killed',
      '--batch-size',
      '40',
      '--parallelism',
      '1',
      '--worker',
      'embedded',
    ];
    const first = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TEMPORAL_ADDRESS: inject('temporalAddress') },
      stdio: 'ignore',
    });
    await waitFor(
      async () =>
        (await db.pool.query(`SELECT count(*) AS n FROM pg_namespace WHERE nspname LIKE 'hybridrag_stage_%'`)).rows[0]
          .n > 0 && state(dir).phase === 'prepared',
    );
    await new Promise((r) => setTimeout(r, 1500));
    first.kill('SIGKILL');
    const jobId = state(dir).job_id;
    const again = await hybridrag(args);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      /A migration of 'gen' into this target is already running; attaching to it\.|Previous staged migration detected at phase: prepared\n {3}Resuming from last checkpoint\.\.\./,
    );
    expect(again.stdout).toContain('✅ STAGED MIGRATION COMPLETED SUCCESSFULLY');
    expect(state(dir)).toMatchObject({ phase: 'promoted', job_id: jobId });
    expect(await count('lightrag_vdb_chunks', 'killed')).toBe(800);
    expect(await count('lightrag_doc_chunks', 'killed')).toBe(800);
    const dupes = await db.pool.query(
      `SELECT id FROM lightrag_vdb_chunks WHERE workspace = 'killed' GROUP BY id HAVING count(*) > 1`,
    );
    expect(dupes.rowCount).toBe(0);
  });

  it('pause stops new batches, status shows it, resume finishes; the live progress line updates in a terminal', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gen-'));
    generateStore({ out: dir, records: 600, dim: 64, era: 'newest', seed: 9, chunkChars: 400 });
    const args = [
      'backend',
      'migrate',
      'gen',
      '--path',
      dir,
      '-y',
      '--connection-string',
      db.url,
      '--workspace',
      'paused',
      '--batch-size',
      '30',
      '--parallelism',
      '1',
      '--batches-per-activity',
      '1',
      '--worker',
      'embedded',
    ];
    // `script` gives the CLI a pseudo-terminal, so it draws its live progress line.
    const command = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TERM: 'xterm',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let screen = '';
    child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    await waitFor(() => /\d+% · [\d,]+\/[\d,]+ rows/.test(screen));
    const pause = await hybridrag(['backend', 'pause', '--path', dir]);
    expect(pause.code).toBe(0);
    // `pause` returns once no load activity runs: queued ones are cancelled, started ones finished.
    expect(pause.stdout).toMatch(/Migration of 'gen-\w+' \(job job-[\w-]+\): paused\./);
    const status = await hybridrag(['backend', 'status', '--path', dir]);
    expect(status.stdout).toMatch(/Progress:\n {3}\d+% · .* · PAUSED\n/);
    const rows = async () => {
      const tables = await db.pool.query<{ t: string }>(
        `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname LIKE 'hybridrag_stage_%'`,
      );
      let n = 0;
      for (const { t } of tables.rows) n += Number((await db.pool.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
      return n;
    };
    const markers = async () =>
      Number(
        (
          await db.pool.query(
            `SELECT count(*) AS n FROM (SELECT 1 FROM pg_tables WHERE schemaname LIKE 'hybridrag_stage_%' AND tablename = '_batches') t`,
          )
        ).rows[0].n,
      );
    expect(await markers()).toBeGreaterThan(0);
    const before = await rows();
    expect(before).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 2500));
    expect(await rows()).toBe(before);
    // a rollback under the paused (still running) migration is refused: it would be overwritten
    const rollback = await hybridrag(['backend', 'migrate', '--path', dir, '--rollback', '20000101_000000', '-y']);
    expect(rollback.code).toBe(1);
    expect(rollback.stderr).toMatch(
      /^error: A migration of 'gen-\w+' \(job job-[\w-]+\) is still running; cancel it first \(hybridrag backend cancel --path \S+\) and roll back once it has stopped\.\n$/,
    );
    const resume = await hybridrag(['backend', 'resume', '--path', dir, '--json']);
    expect(resume.code).toBe(0);
    expect(JSON.parse(resume.stdout)).toMatchObject({
      action: 'resume',
      state: 'resumed',
      jobId: expect.stringMatching(/^job-/),
    });
    expect(await done).toBe(0);
    // cli-progress redraws the phase's line in place: cursor to column 1, the line with its bar, erase to the end
    const updates = screen
      .split('\x1b[1G')
      .map((part) => part.split('\x1b[0K')[0]!)
      .filter((part) => /^Phase 1\/3: Migrating to staging\.\.\. [=-]+ \d+% · [\d,]+\/[\d,]+ rows/.test(part));
    expect(new Set(updates).size).toBeGreaterThan(2);
    expect(screen).toMatch(/Phase 1\/3: Migrating to staging {2}✓ Data migrated to staging tables/);
    expect(screen).toContain('✅ MIGRATION COMPLETED SUCCESSFULLY');
    expect(await count('lightrag_vdb_chunks', 'paused')).toBe(600);
    const notRunning = await hybridrag(['backend', 'pause', '--path', dir]);
    expect(notRunning.code).toBe(1);
    expect(notRunning.stderr).toMatch(/is not running \(completed\); nothing to pause\./);
    expect(spawnSync('true').status).toBe(0);
  });
});
