/** Retention: keep the newest N backups of one database, never touching another database's. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { BackupIoError, errnoOf } from './errors';
import { listBackupIds } from './list';
import { archivePaths, assertDatabaseName, backupsDir, metaPath } from './naming';
import { fsyncDir } from './fsutil';

export const DEFAULT_KEEP = 3;

/** Deletes `database`'s backups beyond the newest `keep`; returns the deleted ids, oldest last. */
export async function pruneBackups(
  dbPath: string,
  database: string,
  options: { keep?: number } = {},
): Promise<string[]> {
  assertDatabaseName(database);
  const keep = options.keep ?? DEFAULT_KEEP;
  if (!Number.isInteger(keep) || keep < 1)
    throw new RangeError(`keep must be a whole number of at least 1 (got ${keep}).`);
  const root = path.resolve(dbPath);
  const doomed = (await listBackupIds(root, database)).slice(keep);
  for (const { id } of doomed) {
    // The meta file goes first: without it the backup is no longer listed, so a crash between
    // the two deletions never leaves a listed backup without its archive.
    for (const file of [metaPath(root, id), ...archivePaths(root, id)]) {
      try {
        await fsp.rm(file, { force: true });
      } catch (error) {
        throw new BackupIoError(
          `Could not delete the old backup file ${file} (${errnoOf(error)}); check the permissions of ${backupsDir(root)}.`,
          file,
          error,
        );
      }
    }
  }
  if (doomed.length) await fsyncDir(backupsDir(root));
  return doomed.map((d) => d.id);
}
