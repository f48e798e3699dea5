/**
 * One restore (or recovery) at a time per database folder: `<db>/.backups/restore.lock`, created
 * with O_EXCL. A lock left by a process that died on this host is taken over.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { RestoreLockedError } from './errors';
import { backupsDir } from './naming';
import { ownerIsGone, ownerRecord, readOwner } from './owner';

export const LOCK_FILE = 'restore.lock';

/** Takes the restore lock of `root`; resolves to its release function. */
export async function acquireRestoreLock(root: string): Promise<() => Promise<void>> {
  const dir = backupsDir(root);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, LOCK_FILE);
  for (let tries = 0; tries < 2; tries++) {
    try {
      const handle = await fsp.open(file, 'wx', 0o600);
      try {
        await handle.writeFile(ownerRecord());
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
    if (owner && ownerIsGone(owner)) {
      await fsp.rm(file, { force: true });
      continue;
    }
    const who = owner ? `process ${owner.pid} on ${owner.host} since ${owner.started_at}` : 'another process';
    throw new RestoreLockedError(
      `A restore of ${root} is already running (${who}); wait for it to finish, or delete ${file} if that process is gone.`,
      file,
    );
  }
  throw new RestoreLockedError(
    `Could not take the restore lock ${file}; delete it if no restore is running and try again.`,
    file,
  );
}
