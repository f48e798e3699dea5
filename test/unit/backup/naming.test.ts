import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  assertBackupId,
  createBackup,
  formatBackupTable,
  isBackupOf,
  listBackups,
  makeBackupId,
  parseBackupId,
  restoreBackup,
  verifyBackup,
} from '../../../core/backup';
import { isSafeDataPath, listDataFiles } from '../../../core/backup/files';
import { dataSnapshot, tempDir } from './helpers';

const cleanup: string[] = [];
afterAll(() => cleanup.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('backup ids', () => {
  it('are {database}_{YYYYmmdd_HHMMSS}[_N] in local time', () => {
    expect(makeBackupId('mydb', new Date(2025, 11, 19, 21, 38, 14))).toBe('mydb_20251219_213814');
    expect(makeBackupId('mydb', new Date(2025, 0, 2, 3, 4, 5), 2)).toBe('mydb_20250102_030405_2');
    expect(parseBackupId('my_db.v2_20251219_213814_12')).toEqual({
      id: 'my_db.v2_20251219_213814_12',
      database: 'my_db.v2',
      timestamp: '20251219_213814',
      seq: 12,
    });
    expect(parseBackupId('mydb_20251219_213814_1')).toBeUndefined();
    expect(parseBackupId('mydb_20251219_253814')).toBeUndefined();
  });

  it('match a database exactly, not one whose name starts the same', () => {
    expect(isBackupOf('alpha_20251219_213814', 'alpha')).toBe(true);
    expect(isBackupOf('alpha_x_20251219_213814', 'alpha')).toBe(false);
    expect(isBackupOf('alpha_x_20251219_213814', 'alpha_x')).toBe(true);
    expect(isBackupOf('alpha_20251219_213814_2', 'alpha')).toBe(true);
    expect(isBackupOf('alph_20251219_213814', 'alpha')).toBe(false);
  });

  it('from a user are refused when they could name a path', () => {
    for (const bad of [
      '../mydb_20251219_213814',
      'x/mydb_20251219_213814',
      'x\\mydb_20251219_213814',
      '.._20251219_213814',
      '.hidden_20251219_213814',
      '',
    ]) {
      expect(() => assertBackupId(bad)).toThrow(/path separator|is not a backup id/);
    }
  });
});

describe('which files are backed up', () => {
  it('data files and the state file, in the folder and one level of workspaces, never hidden folders', async () => {
    const db = path.join(tempDir(), 'db');
    cleanup.push(path.dirname(db));
    for (const dir of ['ws', 'ws/deeper', '.backups', '.migration_reports', '.restore-x'])
      mkdirSync(path.join(db, dir), { recursive: true });
    for (const f of [
      'kv_store_a.json',
      'vdb_b.json',
      'graph_chunk_entity_relation.graphml',
      '.migration_state.json',
      'lightrag.log',
      'kv_store_a.json.tmp',
      'ws/kv_store_c.json',
      'ws/deeper/kv_store_d.json',
      '.backups/kv_store_e.json',
      '.migration_reports/vdb_f.json',
      '.restore-x/kv_store_g.json',
    ]) {
      writeFileSync(path.join(db, f), '{}');
    }
    expect((await listDataFiles(db)).map((f) => f.rel)).toEqual([
      '.migration_state.json',
      'graph_chunk_entity_relation.graphml',
      'kv_store_a.json',
      'vdb_b.json',
      'ws/kv_store_c.json',
    ]);
    expect(['ws/kv_store_c.json', 'kv_store_a.json'].every(isSafeDataPath)).toBe(true);
    expect(
      [
        'ws/deeper/kv_store_d.json',
        '../kv_store_a.json',
        '/kv_store_a.json',
        '.backups/kv_store_a.json',
        'notes.txt',
        'ws/..',
        '..\\kv_store_a.json',
      ].some(isSafeDataPath),
    ).toBe(false);
  });

  it('empty files round-trip, and a damaged meta file is listed as damaged', async () => {
    const db = path.join(tempDir(), 'db');
    cleanup.push(path.dirname(db));
    mkdirSync(db);
    writeFileSync(path.join(db, 'kv_store_empty.json'), '');
    writeFileSync(path.join(db, 'vdb_chunks.json'), '{"embedding_dim": 4, "data": [], "matrix": ""}');
    const original = dataSnapshot(db);
    const good = await createBackup(db, 'tiny', { now: () => new Date(2025, 0, 1, 0, 0, 1) });
    const bad = await createBackup(db, 'tiny', { now: () => new Date(2025, 0, 1, 0, 0, 2) });
    writeFileSync(bad.metaPath, 'not json');
    writeFileSync(path.join(db, 'kv_store_empty.json'), 'x');
    const list = await listBackups(db, 'tiny');
    expect(list.map((b) => [b.id, b.fileCount, b.problem === undefined])).toEqual([
      [bad.id, 0, false],
      [good.id, 2, true],
    ]);
    expect(formatBackupTable(list).split('\n')).toHaveLength(3);
    expect(formatBackupTable(list)).toContain('damaged');
    expect(formatBackupTable([])).toBe('No backups.');
    await verifyBackup(db, good.id);
    await restoreBackup(db, good.id);
    expect(dataSnapshot(db)).toEqual(original);
  });
});
