import { existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BackupNotFoundError,
  ChecksumMismatchError,
  CorruptBackupError,
  createBackup,
  InvalidBackupMetaError,
  restoreBackup,
  UnsafeArchiveEntryError,
  verifyBackup,
  type BackupCodec,
  type BackupResult,
} from '../../../core/backup';
import { copyFixture, craftTarGz, fixturesRoot, sha256, snapshot, tempDir, type RawEntry } from './helpers';

const FIXTURE = 'hr231__portOS__rag_storage';

const cleanup: string[] = [];
afterAll(() => cleanup.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A fresh copy of a real database with one backup, its folder changed after the backup. */
async function setup(codec: BackupCodec): Promise<{ db: string; parent: string; backup: BackupResult }> {
  const db = copyFixture(FIXTURE);
  cleanup.push(path.dirname(db));
  const backup = await createBackup(db, 'portos', { codec });
  writeFileSync(path.join(db, 'kv_store_full_docs.json'), '{"changed": "after the backup"}');
  return { db, parent: path.dirname(db), backup };
}

async function expectRefusedUntouched(
  db: string,
  id: string,
  errorClass: new (...args: never[]) => Error,
  message?: RegExp,
): Promise<Error> {
  const parent = path.dirname(db);
  const before = snapshot(parent);
  const error = (await restoreBackup(db, id).catch((e: unknown) => e)) as Error;
  expect(error).toBeInstanceOf(errorClass);
  if (message) expect(error.message).toMatch(message);
  expect(error.message.split('; ').length).toBeGreaterThanOrEqual(2); // what is wrong; what to do
  expect(snapshot(parent)).toEqual(before);
  return error;
}

/** Replaces the archive by a crafted one and makes the meta's archive size/sha match it, so only the entries are wrong. */
function replaceArchive(backup: BackupResult, codec: BackupCodec, entries: RawEntry[]): void {
  const archive = craftTarGz(entries, codec === 'gzip');
  writeFileSync(backup.archivePath, archive);
  const meta = JSON.parse(readFileSync(backup.metaPath, 'utf8')) as { archive: { size: number; sha256: string } };
  meta.archive = { ...meta.archive, size: archive.length, sha256: sha256(archive) };
  writeFileSync(backup.metaPath, JSON.stringify(meta));
}

for (const codec of ['none', 'gzip'] as const) {
  describe(`restoreBackup refuses a damaged backup before touching anything (${codec})`, () => {
    let env: Awaited<ReturnType<typeof setup>>;
    beforeAll(async () => {
      env = await setup(codec);
    });

    it('a truncated archive', async () => {
      const { db, backup } = await setup(codec);
      truncateSync(backup.archivePath, Math.floor(readFileSync(backup.archivePath).length / 2));
      await expectRefusedUntouched(
        db,
        backup.id,
        CorruptBackupError,
        codec === 'gzip' ? /is truncated or not a gzip file/ : /is not a valid tar archive|lacks "/,
      );
      await expect(verifyBackup(db, backup.id)).rejects.toBeInstanceOf(CorruptBackupError);
    });

    it('an archive with one byte flipped inside a file', async () => {
      const { db, backup } = await setup(codec);
      const stored = readFileSync(backup.archivePath);
      const tar = codec === 'gzip' ? zlib.gunzipSync(stored) : stored;
      const original = readFileSync(path.join(fixturesRoot, FIXTURE, 'kv_store_text_chunks.json'));
      const at = tar.indexOf(original.subarray(0, 64));
      expect(at).toBeGreaterThan(0);
      tar[at + 100] = tar[at + 100]! ^ 0x01;
      writeFileSync(backup.archivePath, codec === 'gzip' ? zlib.gzipSync(tar) : tar);
      await expectRefusedUntouched(
        db,
        backup.id,
        ChecksumMismatchError,
        /kv_store_text_chunks\.json in backup portos_\d{8}_\d{6} does not match the sha256 its meta file records/,
      );
    });

    it('a meta file whose checksum was changed', async () => {
      const { db, backup } = await setup(codec);
      const meta = JSON.parse(readFileSync(backup.metaPath, 'utf8')) as { files: { path: string; sha256: string }[] };
      meta.files[2]!.sha256 = sha256('something else');
      writeFileSync(backup.metaPath, JSON.stringify(meta));
      await expectRefusedUntouched(
        db,
        backup.id,
        ChecksumMismatchError,
        new RegExp(`${meta.files[2]!.path.replace('.', '\\.')} in backup`),
      );
    });

    it('a meta file that is not JSON, inconsistent, lists an unsafe path, or is missing', async () => {
      const { db, backup } = env;
      const good = readFileSync(backup.metaPath, 'utf8');
      const meta = JSON.parse(good) as { file_count: number; files: { path: string }[] };
      try {
        writeFileSync(backup.metaPath, good.slice(0, 100));
        await expectRefusedUntouched(
          db,
          backup.id,
          InvalidBackupMetaError,
          /is not valid JSON; the backup cannot be verified, so restore another backup\.$/,
        );
        writeFileSync(backup.metaPath, JSON.stringify({ ...meta, file_count: meta.file_count + 1 }));
        await expectRefusedUntouched(db, backup.id, InvalidBackupMetaError, /file_count/);
        writeFileSync(
          backup.metaPath,
          JSON.stringify({
            ...meta,
            files: meta.files.map((f, i) => (i === 0 ? { ...f, path: '../kv_store_x.json' } : f)),
          }),
        );
        await expectRefusedUntouched(db, backup.id, InvalidBackupMetaError, /files\.0\.path/);
        rmSync(backup.metaPath);
        await expectRefusedUntouched(db, backup.id, BackupNotFoundError, /its meta file is missing/);
      } finally {
        writeFileSync(backup.metaPath, good);
      }
      await verifyBackup(db, backup.id);
    });

    it('an archive holding a file its meta file does not list, or lacking one it lists', async () => {
      const { db, backup } = env;
      const goodArchive = readFileSync(backup.archivePath);
      const goodMeta = readFileSync(backup.metaPath, 'utf8');
      const meta = JSON.parse(goodMeta) as { files: { path: string }[] };
      const files = meta.files.map((f) => ({
        path: f.path,
        data: readFileSync(path.join(fixturesRoot, FIXTURE, f.path)),
      }));
      try {
        replaceArchive(backup, codec, [...files, { path: 'kv_store_extra.json', data: Buffer.from('{}') }]);
        await expectRefusedUntouched(
          db,
          backup.id,
          CorruptBackupError,
          /holds "kv_store_extra\.json", which its meta file does not list/,
        );
        replaceArchive(backup, codec, files.slice(1));
        await expectRefusedUntouched(
          db,
          backup.id,
          CorruptBackupError,
          new RegExp(`lacks "${files[0]!.path.replace('.', '\\.')}"`),
        );
      } finally {
        writeFileSync(backup.archivePath, goodArchive);
        writeFileSync(backup.metaPath, goodMeta);
      }
      await verifyBackup(db, backup.id);
    });
  });

  describe(`restoreBackup refuses archive entries that escape the folder (${codec})`, () => {
    const outside = tempDir('backup-outside-');
    cleanup.push(outside);
    const cases: [string, RawEntry][] = [
      ['a ../ path', { path: '../kv_store_evil.json', data: Buffer.from('{"evil": 1}') }],
      ['a ../ path inside a workspace', { path: 'ws/../../kv_store_evil.json', data: Buffer.from('{"evil": 1}') }],
      ['an absolute path', { path: path.join(outside, 'kv_store_evil.json'), data: Buffer.from('{"evil": 1}') }],
      ['a symlink', { path: 'kv_store_full_docs.json', type: 'SymbolicLink', linkpath: '/etc/passwd' }],
      ['a hard link', { path: 'kv_store_full_docs.json', type: 'Link', linkpath: '../../etc/passwd' }],
      ['a device', { path: 'kv_store_full_docs.json', type: 'CharacterDevice' }],
      ['a folder', { path: 'ws', type: 'Directory' }],
      ['an entry type tar would skip', { path: 'kv_store_volume.json', data: Buffer.from('{}'), typeflag: 'V' }],
    ];
    it.each(cases)('%s', async (_name, evil) => {
      const { db, backup } = await setup(codec);
      const meta = JSON.parse(readFileSync(backup.metaPath, 'utf8')) as { files: { path: string }[] };
      const files = meta.files.map((f) => ({
        path: f.path,
        data: readFileSync(path.join(fixturesRoot, FIXTURE, f.path)),
      }));
      replaceArchive(backup, codec, [files[0]!, evil, ...files.slice(1)]);
      const error = await expectRefusedUntouched(db, backup.id, UnsafeArchiveEntryError);
      expect(error.message).toContain(evil.path);
      expect(existsSync(path.join(outside, 'kv_store_evil.json'))).toBe(false);
    });
  });
}
