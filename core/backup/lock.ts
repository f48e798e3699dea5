/**
 * One restore (or recovery) at a time per database folder: `<db>/.backups/restore.lock`, created
 * with O_EXCL. A lock left by a process that died on this host is taken over.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RestoreLockedError } from './errors';
import { backupsDir } from './naming';
import { isProcessAlive } from '../processes';

export const LOCK_FILE = 'restore.lock';

interface LockOwner {
  pid: number;
  host: string;
  started_at: string;
}


async function readOwner(file: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await fsp.readFile(file, 'utf8')) as Partial<LockOwner>;
    if (typeof owner.pid === 'number' && typeof owner.host === 'string') return { pid: owner.pid, host: owner.host, started_at: String(owner.started_at ?? '') };
  } catch {
    // unreadable: treated as held, the message says how to clear it
  }
  return undefined;
}

/** Takes the restore lock of `root`; resolves to its release function. */
export async function acquireRestoreLock(root: string): Promise<() => Promise<void>> {
  const dir = backupsDir(root);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, LOCK_FILE);
  for (let tries = 0; tries < 2; tries++) {
    try {
      const handle = await fsp.open(file, 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify({ pid: process.pid, host: os.hostname(), started_at: new Date().toISOString() } satisfies LockOwner));
      } finally {
        await handle.close();
      }
      return async () => {
        await fsp.rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await readOwner(file);
    if (owner && owner.host === os.hostname() && owner.pid !== process.pid && !isProcessAlive(owner.pid)) {
      await fsp.rm(file, { force: true });
      continue;
    }
    const who = owner ? `process ${owner.pid} on ${owner.host} since ${owner.started_at}` : 'another process';
    throw new RestoreLockedError(`A restore of ${root} is already running (${who}); wait for it to finish, or delete ${file} if that process is gone.`, file);
  }
  throw new RestoreLockedError(`Could not take the restore lock ${file}; delete it if no restore is running and try again.`, file);
}
