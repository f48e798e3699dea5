import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, truncateSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hybridrag } from '../helpers/cli';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';
import { copyFixture } from '../helpers/fixtures';

let db: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase('e2e_watcher');
});
afterAll(async () => {
  await db?.drop();
});

/**
 * A stand-in HybridRAG watcher speaking HybridRAG's file protocol: it registers its pid, answers
 * a `.pause` file with `.pause_ack`, and logs when it is paused and resumed.
 */
function startFakeWatcher(home: string, name: string): { child: ChildProcess; log: string } {
  const control = path.join(home, '.hybridrag', 'watcher_control');
  mkdirSync(control, { recursive: true });
  const log = path.join(home, 'watcher.log');
  const script = `
    const fs = require('fs'), p = require('path');
    const dir = ${JSON.stringify(control)}, name = ${JSON.stringify(name)}, log = ${JSON.stringify(log)};
    fs.writeFileSync(p.join(dir, name + '.pid'), String(process.pid));
    let paused = false;
    setInterval(() => {
      const pause = fs.existsSync(p.join(dir, name + '.pause'));
      if (pause && !paused) { paused = true; fs.writeFileSync(p.join(dir, name + '.pause_ack'), 'paused'); fs.appendFileSync(log, 'paused\\n'); }
      if (!pause && paused) { paused = false; fs.appendFileSync(log, 'resumed\\n'); }
    }, 50);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  return { child, log };
}

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

describe('watcher pause during a migration', () => {
  it('pauses a running watcher and resumes it after success', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'home-'));
    const { child, log } = startFakeWatcher(home, 'hackrx');
    try {
      await waitFor(() => existsSync(path.join(home, '.hybridrag/watcher_control/hackrx.pid')));
      const run = await hybridrag(
        [
          'backend',
          'migrate',
          'hackrx',
          '--path',
          copyFixture('kunj-10__HackRx-6.0__data'),
          '-y',
          '--connection-string',
          db.url,
        ],
        { HOME: home },
      );
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/Watcher for 'hackrx' \(pid \d+\) paused\./);
      expect(run.stdout).toContain("Watcher for 'hackrx' resumed.");
      await waitFor(() => readFileSync(log, 'utf8').includes('resumed'));
      expect(readFileSync(log, 'utf8')).toBe('paused\nresumed\n');
      expect(existsSync(path.join(home, '.hybridrag/watcher_control/hackrx.pause'))).toBe(false);
    } finally {
      child.kill();
    }
  });

  it('resumes the watcher when the migration fails', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'home-'));
    const { child, log } = startFakeWatcher(home, 'hackrx');
    try {
      await waitFor(() => existsSync(path.join(home, '.hybridrag/watcher_control/hackrx.pid')));
      // A source file damaged on disk: the target checks pass, the migration fails while reading.
      const dir = copyFixture('kunj-10__HackRx-6.0__data');
      const file = path.join(dir, 'vdb_chunks.json');
      truncateSync(file, Math.floor(statSync(file).size / 2));
      const run = await hybridrag(
        [
          'backend',
          'migrate',
          'hackrx',
          '--path',
          dir,
          '-y',
          '--connection-string',
          db.url,
          '--workspace',
          'broken',
          '--worker',
          'embedded',
        ],
        { HOME: home },
      );
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^error: .*vdb_chunks\.json/);
      await waitFor(() => readFileSync(log, 'utf8').includes('resumed'));
      expect(readFileSync(log, 'utf8')).toBe('paused\nresumed\n');
    } finally {
      child.kill();
    }
  });

  it('leaves the watcher alone with --no-pause-watcher', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'home-'));
    const { child, log } = startFakeWatcher(home, 'hackrx');
    try {
      await waitFor(() => existsSync(path.join(home, '.hybridrag/watcher_control/hackrx.pid')));
      const run = await hybridrag(
        [
          'backend',
          'migrate',
          'hackrx',
          '--path',
          copyFixture('kunj-10__HackRx-6.0__data'),
          '-y',
          '--no-pause-watcher',
          '--connection-string',
          db.url,
          '--workspace',
          'other',
        ],
        { HOME: home },
      );
      expect(run.code).toBe(0);
      expect(existsSync(log)).toBe(false);
    } finally {
      child.kill();
    }
  });
});
