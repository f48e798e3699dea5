import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { list as tarList } from 'tar';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BackupAbortedError,
  BackupMetaSchema,
  createBackup,
  DEFAULT_BACKUP_CODEC,
  formatBackupTable,
  InsufficientSpaceError,
  InvalidBackupIdError,
  InvalidDatabaseNameError,
  listBackups,
  NoDataFilesError,
  pruneBackups,
  restoreBackup,
  SourceChangedError,
  verifyBackup,
} from '../../../core/backup';
import { copyFixture, dataSnapshot, modeOf, repoRoot, sha256, snapshot, tempDir } from './helpers';

const WORKSPACES = 'ljxpython__langgraph_teach__rag_storage';
const SMALL = 'hr231__portOS__rag_storage';
const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const cleanup: string[] = [];
afterAll(() => cleanup.forEach((d) => rmSync(path.dirname(d), { recursive: true, force: true })));
function fixture(name: string): string {
  const dir = copyFixture(name);
  cleanup.push(dir);
  return dir;
}
const at =
  (second: number, minute = 0) =>
  () =>
    new Date(2025, 11, 19, 21, minute, second);

describe('createBackup → listBackups → restoreBackup', () => {
  it('round-trips a database with workspaces byte for byte, with owner-only modes and right checksums', async () => {
    const db = fixture(WORKSPACES);
    writeFileSync(path.join(db, '.migration_state.json'), '{"phase":"prepared"}\n');
    writeFileSync(path.join(db, 'lightrag.log'), 'not a data file\n');
    mkdirSync(path.join(db, '.migration_reports'));
    writeFileSync(path.join(db, '.migration_reports', 'kv_store_report.json'), '{}');
    const original = dataSnapshot(db);

    const progress: number[] = [];
    const result = await createBackup(db, 'teach', { now: at(14, 38), onProgress: (p) => progress.push(p.bytesDone) });
    expect(result.id).toBe('teach_20251219_213814');
    expect(result.attempts).toBe(1);
    const backups = path.join(db, '.backups');
    expect(readdirSync(backups).sort()).toEqual(['teach_20251219_213814.meta.json', 'teach_20251219_213814.tar']);
    expect(modeOf(backups)).toBe(0o700);
    expect(modeOf(result.archivePath)).toBe(0o600);
    expect(modeOf(result.metaPath)).toBe(0o600);

    const meta = BackupMetaSchema.parse(JSON.parse(readFileSync(result.metaPath, 'utf8')));
    const expectedFiles = Object.keys(original)
      .filter((f) => f !== 'lightrag.log' && !f.startsWith('.migration_reports'))
      .sort();
    expect(meta.files.map((f) => f.path)).toEqual(expectedFiles);
    expect(expectedFiles).toEqual(
      expect.arrayContaining([
        '.migration_state.json',
        'knowledge_base/kv_store_full_docs.json',
        'llm_collection/graph_chunk_entity_relation.graphml',
        'vdb_entities.json',
      ]),
    );
    for (const f of meta.files) expect(f.sha256).toBe(original[f.path]);
    expect(meta).toMatchObject({
      id: result.id,
      database: 'teach',
      source_path: db,
      file_count: expectedFiles.length,
      tool_version: version,
      created_at: new Date(2025, 11, 19, 21, 38, 14).toISOString(),
    });
    expect(meta.total_size).toBe(meta.files.reduce((s, f) => s + f.size, 0));
    expect(meta.archive.sha256).toBe(sha256(readFileSync(result.archivePath)));
    expect(progress.at(-1)).toBe(meta.total_size);
    expect(JSON.stringify(meta)).not.toMatch(/postgres|password/i);

    // a standard tar reader sees exactly the data files
    const entries: string[] = [];
    await tarList({ file: result.archivePath, onReadEntry: (e) => entries.push(e.path) });
    expect(entries.sort()).toEqual(expectedFiles);

    const listed = await listBackups(db, 'teach');
    expect(listed).toEqual([
      expect.objectContaining({
        id: result.id,
        fileCount: expectedFiles.length,
        totalSize: meta.total_size,
        path: result.archivePath,
        createdAt: meta.created_at,
      }),
    ]);
    expect(formatBackupTable(listed)).toMatch(
      new RegExp(`^ID .*\\nteach_20251219_213814 \\| +${expectedFiles.length} files \\| +[\\d,.]+ KB \\| 2025-12-19T`),
    );
    expect((await verifyBackup(db, result.id)).meta).toEqual(meta);

    // change the folder after the backup: edit, delete, add files
    appendFileSync(path.join(db, 'vdb_entities.json'), 'garbage');
    rmSync(path.join(db, 'knowledge_base', 'kv_store_full_docs.json'));
    writeFileSync(path.join(db, 'kv_store_added_later.json'), '{"new": true}');
    writeFileSync(path.join(db, 'llm_collection', 'vdb_chunks.json'), '{"later": 1}');
    writeFileSync(path.join(db, '.migration_state.json'), '{"phase":"staged"}\n');

    const restored = await restoreBackup(db, result.id, { now: at(0, 50) });
    expect(restored.restored.sort()).toEqual(expectedFiles);
    expect(restored.displaced.sort()).toEqual(['kv_store_added_later.json', 'llm_collection/vdb_chunks.json']);
    expect(restored.displacedDir).toBe(path.join(backups, 'displaced-teach_20251219_213814-20251219_215000'));

    const after = dataSnapshot(db);
    expect(after).toEqual(original);
    expect(readFileSync(path.join(restored.displacedDir!, 'kv_store_added_later.json'), 'utf8')).toBe('{"new": true}');
    expect(readFileSync(path.join(restored.displacedDir!, 'llm_collection', 'vdb_chunks.json'), 'utf8')).toBe(
      '{"later": 1}',
    );
    expect(readdirSync(db).filter((n) => n.startsWith('.restore-'))).toEqual([]);
    expect(existsSync(path.join(backups, 'restore.lock'))).toBe(false);
  });

  it('writes plain .tar by default and .tar.gz on request; restores both, also a meta from before the codec was recorded', async () => {
    const db = fixture(SMALL);
    const original = dataSnapshot(db);
    const plain = await createBackup(db, 'codecs', { now: at(1) });
    const gz = await createBackup(db, 'codecs', { now: at(2), codec: 'gzip' });
    expect(DEFAULT_BACKUP_CODEC).toBe('none');
    expect(path.basename(plain.archivePath)).toBe(`${plain.id}.tar`);
    expect(plain.meta.archive).toMatchObject({ file: `${plain.id}.tar`, codec: 'none' });
    expect(path.basename(gz.archivePath)).toBe(`${gz.id}.tar.gz`);
    expect(gz.meta.archive).toMatchObject({ file: `${gz.id}.tar.gz`, codec: 'gzip' });
    expect(readFileSync(gz.archivePath).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    // the plain archive is a tar a standard reader opens, holding the files' exact bytes
    const entries: string[] = [];
    await tarList({ file: plain.archivePath, onReadEntry: (e) => entries.push(e.path) });
    expect(entries.sort()).toEqual(plain.meta.files.map((f) => f.path).sort());

    // a meta written before the codec field existed (gzip implied) still validates and restores
    const legacy = JSON.parse(readFileSync(gz.metaPath, 'utf8')) as { archive: Record<string, unknown> };
    delete legacy.archive.codec;
    writeFileSync(gz.metaPath, JSON.stringify(legacy));
    // a meta claiming the wrong codec for its file name is refused
    const wrong = JSON.parse(readFileSync(plain.metaPath, 'utf8')) as { archive: Record<string, unknown> };
    expect(BackupMetaSchema.safeParse({ ...wrong, archive: { ...wrong.archive, codec: 'gzip' } }).success).toBe(false);

    expect((await listBackups(db, 'codecs')).map((b) => [b.id, b.path])).toEqual([
      [gz.id, gz.archivePath],
      [plain.id, plain.archivePath],
    ]);
    for (const b of [gz, plain]) {
      await verifyBackup(db, b.id);
      writeFileSync(path.join(db, 'kv_store_full_docs.json'), '{"changed": true}');
      await restoreBackup(db, b.id);
      expect(dataSnapshot(db)).toEqual(original);
    }
    // retention removes either kind of archive
    await createBackup(db, 'codecs', { now: at(3), keep: 4 });
    await createBackup(db, 'codecs', { now: at(4), keep: 4 });
    expect((await pruneBackups(db, 'codecs', { keep: 2 })).sort()).toEqual([gz.id, plain.id].sort());
    expect(existsSync(gz.archivePath) || existsSync(plain.archivePath)).toBe(false);
  });

  it('names two backups taken in the same second apart, also when they run at once', async () => {
    const db = fixture(SMALL);
    const [a, b] = await Promise.all([
      createBackup(db, 'small', { now: at(1) }),
      createBackup(db, 'small', { now: at(1) }),
    ]);
    const c = await createBackup(db, 'small', { now: at(1) });
    expect([a.id, b.id, c.id].sort()).toEqual([
      'small_20251219_210001',
      'small_20251219_210001_2',
      'small_20251219_210001_3',
    ]);
    expect((await listBackups(db, 'small')).map((x) => x.id)).toEqual([
      'small_20251219_210001_3',
      'small_20251219_210001_2',
      'small_20251219_210001',
    ]);
    expect(readdirSync(path.join(db, '.backups')).filter((n) => n.endsWith('.partial'))).toEqual([]);
  });

  it('keeps the newest 3 backups of this database and never touches another database sharing the folder', async () => {
    const db = fixture(SMALL);
    const other = [
      await createBackup(db, 'alpha_x', { now: at(1) }),
      await createBackup(db, 'alpha_x', { now: at(2) }),
      await createBackup(db, 'alph', { now: at(3) }),
    ];
    const ids: string[] = [];
    for (let s = 10; s < 15; s++) ids.push((await createBackup(db, 'alpha', { now: at(s) })).id);
    expect((await listBackups(db, 'alpha')).map((b) => b.id)).toEqual(ids.slice(2).reverse());
    expect((await listBackups(db, 'alpha_x')).map((b) => b.id)).toEqual([other[1]!.id, other[0]!.id]);
    expect((await listBackups(db, 'alph')).map((b) => b.id)).toEqual([other[2]!.id]);
    for (const o of other) expect(existsSync(o.archivePath) && existsSync(o.metaPath)).toBe(true);

    expect(await pruneBackups(db, 'alpha', { keep: 1 })).toEqual([ids[3], ids[2]]);
    const keepTwo = await createBackup(db, 'alpha', { now: at(20), keep: 2 });
    expect(keepTwo.pruned).toEqual([]);
    expect((await listBackups(db, 'alpha')).map((b) => b.id)).toEqual([keepTwo.id, ids[4]]);
    expect((await listBackups(db, 'alpha_x')).length).toBe(2);
    await expect(pruneBackups(db, 'alpha', { keep: 0 })).rejects.toThrow(RangeError);
  });

  it('retries when a file changes during the backup, and records the settled content', async () => {
    const db = fixture(SMALL);
    const file = path.join(db, 'kv_store_full_docs.json');
    const result = await createBackup(db, 'small', {
      retryDelayMs: 0,
      hooks: {
        beforeFileRead: (rel, attempt) => {
          if (rel === 'kv_store_full_docs.json' && attempt === 1) appendFileSync(file, ' ');
        },
      },
    });
    expect(result.attempts).toBe(2);
    expect(result.meta.files.find((f) => f.path === 'kv_store_full_docs.json')?.sha256).toBe(
      sha256(readFileSync(file)),
    );
    await verifyBackup(db, result.id);
  });

  it('refuses a backup whose file never stops changing, leaving nothing behind', async () => {
    const db = fixture(SMALL);
    const file = path.join(db, 'vdb_chunks.json');
    let attempts = 0;
    const error = await createBackup(db, 'small', {
      retryDelayMs: 0,
      hooks: {
        beforeFileRead: (rel) => {
          if (rel !== 'vdb_chunks.json') return;
          attempts++;
          appendFileSync(file, ' ');
        },
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceChangedError);
    expect((error as Error).message).toMatch(
      /vdb_chunks\.json kept changing while it was being backed up \(3 attempts\); stop LightRAG/,
    );
    expect(attempts).toBe(3);
    expect(readdirSync(path.join(db, '.backups'))).toEqual([]);
  });

  it('detects a file that changes after it was read, before the backup finished', async () => {
    const db = fixture(SMALL);
    let changed = false;
    const result = await createBackup(db, 'small', {
      retryDelayMs: 0,
      hooks: {
        beforeFileRead: (rel) => {
          // the first file was read already; change it while the last one is being read
          if (rel === 'vdb_relationships.json' && !changed) {
            changed = true;
            appendFileSync(path.join(db, 'graph_chunk_entity_relation.graphml'), '\n');
          }
        },
      },
    });
    expect(result.attempts).toBe(2);
    await verifyBackup(db, result.id);
  });

  it('refuses when the disk has less free space than the files plus a margin, before writing anything', async () => {
    const db = fixture(SMALL);
    const before = snapshot(db);
    const error = await createBackup(db, 'small', { diskFree: async () => 10 * 1024 * 1024 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InsufficientSpaceError);
    expect((error as Error).message).toMatch(
      /^Not enough free disk space for a backup of small in .*: [\d.]+ MiB needed .* 10\.0 MiB free; free some space and run again\.$/,
    );
    expect(snapshot(db)).toEqual(before);
    // the same check guards a restore
    const ok = await createBackup(db, 'small');
    const withBackup = snapshot(db);
    await expect(restoreBackup(db, ok.id, { diskFree: async () => 1024 })).rejects.toBeInstanceOf(
      InsufficientSpaceError,
    );
    expect(snapshot(db)).toEqual(withBackup);
  });

  it('stops on an AbortSignal without leaving partial files', async () => {
    const db = fixture(SMALL);
    const controller = new AbortController();
    const error = await createBackup(db, 'small', {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupAbortedError);
    expect(readdirSync(path.join(db, '.backups'))).toEqual([]);
  });

  it('stops a restore on an AbortSignal before its commit point, leaving the folder as it was', async () => {
    const db = fixture(SMALL);
    const backup = await createBackup(db, 'small');
    appendFileSync(path.join(db, 'vdb_entities.json'), ' ');
    const before = snapshot(db);
    const controller = new AbortController();
    const phases = new Set<string>();
    const error = await restoreBackup(db, backup.id, {
      signal: controller.signal,
      onProgress: (p) => {
        phases.add(p.phase);
        if (p.phase === 'extract') controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupAbortedError);
    expect([...phases]).toEqual(['verify', 'extract']);
    expect(snapshot(db)).toEqual(before);
  });

  it('refuses bad names and empty folders with one clear sentence', async () => {
    const empty = tempDir();
    cleanup.push(path.join(empty, 'x'));
    await expect(createBackup(empty, 'db')).rejects.toThrow(NoDataFilesError);
    await expect(createBackup(empty, '../evil')).rejects.toThrow(InvalidDatabaseNameError);
    await expect(createBackup(path.join(empty, 'missing'), 'db')).rejects.toThrow(/does not exist or is not a folder/);
    for (const id of [
      '../db_20251219_213814',
      'a/b_20251219_213814',
      'db_20251219_2138',
      'db_20251319_213814',
      'db',
      '..',
    ]) {
      await expect(restoreBackup(empty, id)).rejects.toBeInstanceOf(InvalidBackupIdError);
    }
    expect(readdirSync(empty)).toEqual([]);
    expect(await listBackups(empty, 'db')).toEqual([]);
  });
});
