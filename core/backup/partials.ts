/**
 * Half-written backups: `{id}.tar.gz.partial`, its writer named in `{id}.tar.gz.partial.owner`.
 * A process killed while writing leaves both behind, as large as the archive would have been, and
 * every retry of the backup starts another; so a new backup first removes the partials whose
 * writer is gone (and those nobody has written to for an hour whose writer it cannot check: no
 * owner file, or another host) before it checks the free space it needs.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backupsDir, PARTIAL_SUFFIX } from './naming';
import { ownerIsGone, ownerRecord, readOwner } from './owner';

const OWNER_SUFFIX = '.owner';
/** How long a partial whose writer cannot be checked must have been left untouched before it is removed. */
const UNCHECKED_PARTIAL_AGE_MS = 60 * 60_000;

/** Creates `partial` if no one has (O_EXCL) and names this process its writer; false when it exists. */
export async function claimPartial(partial: string): Promise<boolean> {
  try {
    await (await fsp.open(partial, 'wx', 0o600)).close();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  await fsp.writeFile(`${partial}${OWNER_SUFFIX}`, ownerRecord(), { mode: 0o600 });
  return true;
}

/** Removes the partial (when still there) and its owner file. */
export async function removePartial(partial: string): Promise<void> {
  await fsp.rm(partial, { force: true });
  await fsp.rm(`${partial}${OWNER_SUFFIX}`, { force: true });
}

/** Removes the partials of `root`'s `.backups` left by writers that are gone; returns their paths. */
export async function removeAbandonedPartials(root: string): Promise<string[]> {
  const now = Date.now();
  const dir = backupsDir(root);
  const names = await fsp.readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const removed: string[] = [];
  for (const name of names) {
    if (!name.endsWith(PARTIAL_SUFFIX)) continue;
    const partial = path.join(dir, name);
    const stat = await fsp.stat(partial).catch(() => undefined);
    if (!stat?.isFile()) continue;
    const owner = await readOwner(`${partial}${OWNER_SUFFIX}`);
    const checkable = owner !== undefined && owner.host === os.hostname();
    const abandoned = checkable ? ownerIsGone(owner) : now - stat.mtimeMs > UNCHECKED_PARTIAL_AGE_MS;
    if (!abandoned) continue;
    await removePartial(partial);
    removed.push(partial);
  }
  return removed;
}
