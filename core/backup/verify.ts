/** verifyBackup: proves a backup is intact (meta valid, every file's sha256 right) without writing anything. */
import path from 'node:path';
import { readArchive, type ArchiveProgress } from './archive';
import { asBackupError, BackupNotFoundError } from './errors';
import { codecOf, readMeta, type BackupMeta } from './meta';
import { archivePath, assertBackupId, metaPath } from './naming';

export interface VerifyBackupOptions {
  signal?: AbortSignal;
  onProgress?: (progress: ArchiveProgress) => void;
}

export interface VerifiedBackup {
  meta: BackupMeta;
  archivePath: string;
  metaPath: string;
}

/** Reads the meta file and streams the archive once; throws a BackupError naming what is wrong. */
export async function verifyBackup(
  dbPath: string,
  backupId: string,
  options: VerifyBackupOptions = {},
): Promise<VerifiedBackup> {
  assertBackupId(backupId);
  const root = path.resolve(dbPath);
  const meta = await readMeta(root, backupId).catch((error: unknown) => {
    throw asBackupError(error, `Reading the meta file of backup ${backupId}`, metaPath(root, backupId));
  });
  if (!meta) {
    throw new BackupNotFoundError(
      `There is no backup ${backupId} in ${path.join(root, '.backups')} (its meta file is missing); pick an id from --list-backups.`,
      backupId,
      metaPath(root, backupId),
    );
  }
  await readArchive(root, meta, options);
  return { meta, archivePath: archivePath(root, backupId, codecOf(meta)), metaPath: metaPath(root, backupId) };
}
