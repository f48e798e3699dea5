import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBackup, listBackups } from '../../../core/backup';
import { buildChild, copyFixture, runChild } from './helpers';

const cleanup: string[] = [];
afterAll(async () => {
  cleanup.push(path.dirname(await buildChild()));
  cleanup.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function fixture(): string {
  const db = copyFixture('hr231__portOS__rag_storage');
  cleanup.push(path.dirname(db));
  return db;
}

const backupsOf = (db: string) => readdirSync(path.join(db, '.backups')).sort();

describe('a backup killed half-way', () => {
  it('leaves a partial the next backup removes (its writer is gone), so crashes do not pile up archives', async () => {
    const db = fixture();
    const partials = () => backupsOf(db).filter((n) => n.endsWith('.partial'));
    const crash = async () => {
      const crashed = await runChild(await buildChild(), ['backup-crash', db]);
      expect(crashed.stderr).toBe('');
      expect(crashed.signal).toBe('SIGKILL');
    };
    await crash();
    const [first] = partials();
    expect(first).toBeDefined();
    const writer = (name: string) =>
      (JSON.parse(readFileSync(path.join(db, '.backups', `${name}.owner`), 'utf8')) as { pid: number }).pid;
    const firstWriter = writer(first!);
    // the next attempt removes the first one's partial before it writes its own (and is killed too)
    await crash();
    const left = partials();
    expect(left.length).toBe(1);
    expect(writer(left[0]!)).not.toBe(firstWriter);
    expect(await listBackups(db, 'crash')).toEqual([]);

    const result = await createBackup(db, 'crash');
    expect(result.removedPartials.map((p) => path.basename(p)).sort()).toEqual(left);
    expect(backupsOf(db)).toEqual([`${result.id}.meta.json`, `${result.id}.tar`]);
    expect((await listBackups(db, 'crash')).map((b) => b.id)).toEqual([result.id]);
  });

  it('keeps a partial whose writer still runs, and one of another host until it has been untouched for an hour', async () => {
    const db = fixture();
    await createBackup(db, 'live');
    const dir = path.join(db, '.backups');
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const owner = (pid: number, host = os.hostname()) =>
        JSON.stringify({ pid, host, started_at: new Date().toISOString() });
      writeFileSync(path.join(dir, 'live_20250101_000001.tar.gz.partial'), 'x');
      writeFileSync(path.join(dir, 'live_20250101_000001.tar.gz.partial.owner'), owner(sleeper.pid!));
      writeFileSync(path.join(dir, 'live_20250101_000002.tar.gz.partial'), 'x');
      writeFileSync(path.join(dir, 'live_20250101_000002.tar.gz.partial.owner'), owner(1, 'another-host'));
      writeFileSync(path.join(dir, 'live_20250101_000003.tar.gz.partial'), 'x');
      const hourAgo = new Date(Date.now() - 61 * 60_000);
      writeFileSync(path.join(dir, 'live_20250101_000004.tar.gz.partial'), 'x');
      utimesSync(path.join(dir, 'live_20250101_000004.tar.gz.partial'), hourAgo, hourAgo);
      writeFileSync(path.join(dir, 'live_20250101_000005.tar.gz.partial'), 'x');
      writeFileSync(path.join(dir, 'live_20250101_000005.tar.gz.partial.owner'), owner(1, 'another-host'));
      utimesSync(path.join(dir, 'live_20250101_000005.tar.gz.partial'), hourAgo, hourAgo);

      // this process's pid: written by this process (kept), or by an earlier one that had the same
      // pid, as a restarted container's pid 1 (removed)
      writeFileSync(path.join(dir, 'live_20250101_000006.tar.gz.partial'), 'x');
      writeFileSync(
        path.join(dir, 'live_20250101_000006.tar.gz.partial.owner'),
        JSON.stringify({ pid: process.pid, host: os.hostname(), started_at: '2000-01-01T00:00:00.000Z' }),
      );
      writeFileSync(path.join(dir, 'live_20250101_000007.tar.gz.partial'), 'x');
      writeFileSync(path.join(dir, 'live_20250101_000007.tar.gz.partial.owner'), owner(process.pid));

      const result = await createBackup(db, 'live');
      expect(result.removedPartials.map((p) => path.basename(p)).sort()).toEqual([
        'live_20250101_000004.tar.gz.partial',
        'live_20250101_000005.tar.gz.partial',
        'live_20250101_000006.tar.gz.partial',
      ]);
      const partials = backupsOf(db).filter((n) => n.includes('.partial'));
      expect(partials).toEqual([
        'live_20250101_000001.tar.gz.partial',
        'live_20250101_000001.tar.gz.partial.owner',
        'live_20250101_000002.tar.gz.partial',
        'live_20250101_000002.tar.gz.partial.owner',
        'live_20250101_000003.tar.gz.partial',
        'live_20250101_000007.tar.gz.partial',
        'live_20250101_000007.tar.gz.partial.owner',
      ]);
    } finally {
      sleeper.kill();
    }
  });
});
