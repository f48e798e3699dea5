import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createBackup,
  InterruptedRestoreError,
  recoverInterruptedRestore,
  restoreBackup,
  RestoreLockedError,
} from '../../../core/backup';
import { buildChild, copyFixture, dataSnapshot, runChild, sha256 } from './helpers';

const cleanup: string[] = [];
afterAll(async () => {
  cleanup.push(path.dirname(await buildChild()));
  cleanup.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

/** A database with one backup, then changed everywhere: every file edited, one removed, one added. */
async function prepare() {
  const db = copyFixture('ljxpython__langgraph_teach__rag_storage');
  cleanup.push(path.dirname(db));
  const backup = await createBackup(db, 'teach');
  const restored = dataSnapshot(db);
  for (const rel of Object.keys(restored)) appendFileSync(path.join(db, rel), '\n');
  rmSync(path.join(db, 'knowledge_base', 'kv_store_doc_status.json'));
  writeFileSync(path.join(db, 'kv_store_added_later.json'), '{}');
  const old = dataSnapshot(db);
  return { db, backup, restored, old };
}

/** Kills a restore right after its first file was swapped into place. */
async function crashRestore(db: string, id: string): Promise<void> {
  const result = await runChild(await buildChild(), ['restore-crash', db, id]);
  expect(result.stderr).toBe('');
  expect(result.signal).toBe('SIGKILL');
}

/** Every data file is its old version (absent if it did not exist) or its restored one; a moved-aside file sits in displaced-*. */
function expectEachOldOrRestored(db: string, old: Record<string, string>, restored: Record<string, string>): void {
  const now = dataSnapshot(db);
  let swapped = 0;
  for (const rel of new Set([...Object.keys(old), ...Object.keys(restored)])) {
    expect([old[rel], restored[rel]]).toContain(now[rel]);
    if (now[rel] === undefined && old[rel] !== undefined) {
      const [displaced] = readdirSync(path.join(db, '.backups')).filter((n) => n.startsWith('displaced-'));
      expect(sha256(readFileSync(path.join(db, '.backups', displaced!, rel)))).toBe(old[rel]);
    }
    if (now[rel] !== undefined && now[rel] === restored[rel] && now[rel] !== old[rel]) swapped++;
  }
  expect(swapped).toBeGreaterThanOrEqual(1);
  expect(swapped).toBeLessThan(Object.keys(restored).length);
}

describe('a restore killed half-way through its swap', () => {
  it('leaves every file old or restored, blocks new backups, and recoverInterruptedRestore finishes it', async () => {
    const { db, backup, restored, old } = await prepare();
    await crashRestore(db, backup.id);

    expectEachOldOrRestored(db, old, restored);
    const leftovers = readdirSync(db).filter((n) => n.startsWith('.restore-'));
    expect(leftovers).toHaveLength(1);
    expect(existsSync(path.join(db, leftovers[0]!, 'journal.json'))).toBe(true);
    expect(existsSync(path.join(db, '.backups', 'restore.lock'))).toBe(true); // left by the killed process
    await expect(createBackup(db, 'teach')).rejects.toBeInstanceOf(InterruptedRestoreError);

    const recovered = await recoverInterruptedRestore(db);
    expect(recovered).toEqual([expect.objectContaining({ backupId: backup.id, action: 'completed' })]);
    expect(dataSnapshot(db)).toEqual(restored);
    const displaced = readdirSync(path.join(db, '.backups')).filter((n) => n.startsWith('displaced-'));
    expect(displaced).toHaveLength(1);
    expect(readFileSync(path.join(db, '.backups', displaced[0]!, 'kv_store_added_later.json'), 'utf8')).toBe('{}');
    expect(readdirSync(db).filter((n) => n.startsWith('.restore-'))).toEqual([]);
    expect(existsSync(path.join(db, '.backups', 'restore.lock'))).toBe(false);
    expect(await recoverInterruptedRestore(db)).toEqual([]);
    await createBackup(db, 'teach');
  });

  it('is finished by running the same restore again', async () => {
    const { db, backup, restored, old } = await prepare();
    await crashRestore(db, backup.id);
    expectEachOldOrRestored(db, old, restored);

    const result = await restoreBackup(db, backup.id);
    expect(result.recovered).toEqual([expect.objectContaining({ backupId: backup.id, action: 'completed' })]);
    expect(result.displaced).toEqual([]); // already moved aside by the interrupted run
    expect(dataSnapshot(db)).toEqual(restored);
    expect(readdirSync(db).filter((n) => n.startsWith('.restore-'))).toEqual([]);
  });

  it('discards a restore that died before its commit point, without touching the database', async () => {
    const { db, old } = await prepare();
    const partial = path.join(db, '.restore-teach_20251219_213814-abcd1234', 'files');
    mkdirSync(partial, { recursive: true });
    writeFileSync(path.join(partial, 'kv_store_full_docs.json'), '{"half": ');
    expect(await recoverInterruptedRestore(db)).toEqual([expect.objectContaining({ action: 'discarded' })]);
    expect(dataSnapshot(db)).toEqual(old);
    expect(readdirSync(db).filter((n) => n.startsWith('.restore-'))).toEqual([]);
  });

  it('refuses a second restore while one holds the lock', async () => {
    const { db, backup } = await prepare();
    writeFileSync(
      path.join(db, '.backups', 'restore.lock'),
      JSON.stringify({ pid: process.pid === 1 ? 2 : 1, host: 'elsewhere', started_at: 'now' }),
    );
    await expect(restoreBackup(db, backup.id)).rejects.toBeInstanceOf(RestoreLockedError);
    rmSync(path.join(db, '.backups', 'restore.lock'));
  });
});
