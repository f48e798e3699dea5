import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  readState,
  StateFileError,
  stateFilePath,
  stateTimestamp,
  writeState,
  type MigrationState,
} from '../../../core/state/stateFile';

const sample = (over: Partial<MigrationState> = {}): MigrationState => ({
  phase: 'prepared',
  backup_id: '20251219_213814',
  staging_complete: false,
  verification_passed: false,
  promoted: false,
  errors: [],
  updated_at: '2025-12-19T21:45:00',
  job_id: 'job-1',
  ...over,
});

describe('.migration_state.json', () => {
  it('is absent before a first migration', async () => {
    expect(await readState(mkdtempSync(path.join(os.tmpdir(), 'state-')))).toBeUndefined();
  });

  it('round-trips with the guide fields, owner-readable only, no temp file left', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'state-'));
    await writeState(dir, sample());
    await writeState(dir, sample({ phase: 'staged', staging_complete: true }));
    const read = await readState(dir);
    expect(read).toEqual(sample({ phase: 'staged', staging_complete: true }));
    expect(Object.keys(JSON.parse(readFileSync(stateFilePath(dir), 'utf8')))).toEqual(
      expect.arrayContaining([
        'phase',
        'backup_id',
        'staging_complete',
        'verification_passed',
        'promoted',
        'errors',
        'updated_at',
        'job_id',
      ]),
    );
    expect(statSync(stateFilePath(dir)).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['.migration_state.json']);
  });

  it('refuses an unknown phase before writing anything', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'state-'));
    await expect(writeState(dir, { ...sample(), phase: 'halfway' as never })).rejects.toThrow();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('names a corrupt state file and says how to start fresh', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'state-'));
    writeFileSync(stateFilePath(dir), '{"phase": ');
    await expect(readState(dir)).rejects.toThrow(StateFileError);
    await expect(readState(dir)).rejects.toThrow(
      /\.migration_state\.json is not valid JSON; delete it to start a fresh migration/,
    );
    writeFileSync(stateFilePath(dir), '{"phase": "staged"}');
    await expect(readState(dir)).rejects.toThrow(/is not a migration state file/);
  });

  it('formats timestamps as the guide does', () => {
    expect(stateTimestamp(new Date(2025, 11, 19, 21, 45, 0))).toBe('2025-12-19T21:45:00');
  });
});
