/**
 * Hardening: the backup folder. An immutable (chattr +i) `.backups` folder — root ignores chmod —
 * and a disk that fills up during the backup (a 2.5 MB tmpfs holding a 2 MB store): the CLI
 * refuses in one line, leaves no half-written archive that --list-backups would offer as good,
 * and does not touch the data files.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hybridrag } from '../helpers/cli';
import { copyFixture, FIXTURES } from '../helpers/fixtures';
import { expectOneLineError, snapshot } from './helpers';

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups.reverse()) c();
});

function sh(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

describe('backup folder faults', () => {
  it('an immutable .backups folder: --backup-only fails in one line, nothing written', async () => {
    const dir = copyFixture('hr231__portOS__rag_storage');
    const backups = path.join(dir, '.backups');
    mkdirSync(backups);
    if (!sh('chattr', ['+i', backups])) return void console.warn('chattr +i not supported here; case skipped');
    cleanups.push(() => sh('chattr', ['-i', backups]));
    const before = snapshot(dir, { includeBookkeeping: true });
    const run = await hybridrag(['backend', 'migrate', '--path', dir, '--backup-only', '-y']);
    expectOneLineError(run, /\.backups|backup/i);
    expect(snapshot(dir, { includeBookkeeping: true })).toEqual(before);
    sh('chattr', ['-i', backups]);
  });

  it('a disk that fills up during the backup: refused or cleaned up, never a half-written backup listed as good', async () => {
    const mnt = mkdtempSync(path.join(os.tmpdir(), 'hardening-tmpfs-'));
    if (!sh('mount', ['-t', 'tmpfs', '-o', 'size=2560k', 'tmpfs', mnt]))
      return void console.warn('cannot mount a tmpfs here; case skipped');
    cleanups.push(() => {
      sh('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    });
    const dir = path.join(mnt, 'store');
    cpSync(path.join(FIXTURES, 'Rajendk-AITech__LightRAG__rag_storage'), dir, { recursive: true });
    const before = snapshot(dir);
    const run = await hybridrag(['backend', 'migrate', '--path', dir, '--backup-only', '-y']);
    expectOneLineError(run, /space|disk|ENOSPC|full/i);
    expect(snapshot(dir)).toEqual(before);
    const left = existsSync(path.join(dir, '.backups')) ? readdirSync(path.join(dir, '.backups')) : [];
    expect(left.filter((n) => /\.tar(\.gz)?(\.partial)?$/.test(n) || n.endsWith('.meta.json'))).toEqual([]);
    const list = await hybridrag(['backend', 'migrate', '--path', dir, '--list-backups', '--json']);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { backups: unknown[] }).backups).toEqual([]);
  });
});
