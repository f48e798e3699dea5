/**
 * restoreBackup: verify the whole archive first (nothing is written if anything is wrong), then
 * extract into `<db>/.restore-<id>-<random>/`, commit a journal, move aside data files the backup
 * does not have, and rename each restored file into place. See journal.ts for what a crash at
 * each step leaves and how recoverInterruptedRestore (or the next restore) finishes it.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { readArchive, type FileSink } from './archive';
import { asBackupError, BackupError, BackupIoError, errnoOf } from './errors';
import { listDataFiles, resolveInside } from './files';
import { checkFreeSpace, fsyncDir, pathExists, throwIfAborted, type DiskFree } from './fsutil';
import {
  applyJournal,
  EXTRACT_SUBDIR,
  recoverRestoreFolders,
  writeJournal,
  type ApplyHooks,
  type RecoveryResult,
  type RestoreJournal,
} from './journal';
import { acquireRestoreLock } from './lock';
import type { BackupFile, BackupMeta } from './meta';
import { BACKUPS_DIR, DISPLACED_DIR_PREFIX, formatBackupTimestamp, RESTORE_DIR_PREFIX } from './naming';
import { verifyBackup } from './verify';

export interface RestoreProgress {
  phase: 'verify' | 'extract';
  /** compressed bytes of the archive read in this phase */
  bytesDone: number;
  bytesTotal: number;
}

export interface RestoreBackupOptions {
  /** honoured until the commit point; the swap after it is quick (renames) and always finishes */
  signal?: AbortSignal;
  onProgress?: (progress: RestoreProgress) => void;
  /** free space required beyond the restored bytes (default 64 MiB + 1 %) */
  marginBytes?: number;
  diskFree?: DiskFree;
  now?: () => Date;
  hooks?: ApplyHooks;
}

export interface RestoreResult {
  backupId: string;
  /** relative paths now holding the backup's version */
  restored: string[];
  /** data files that were not in the backup, moved into displacedDir */
  displaced: string[];
  /** absolute path of `.backups/displaced-<id>-<time>` (only when something was displaced) */
  displacedDir?: string;
  /** interrupted restores finished (or discarded) before this one started */
  recovered: RecoveryResult[];
}

export async function restoreBackup(
  dbPath: string,
  backupId: string,
  options: RestoreBackupOptions = {},
): Promise<RestoreResult> {
  const root = path.resolve(dbPath);
  const { meta } = await verifyBackup(root, backupId, {
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (p) => options.onProgress?.({ phase: 'verify', ...p }),
  });
  throwIfAborted(options.signal, `Restoring backup ${backupId}`);
  const release = await acquireRestoreLock(root).catch((error: unknown) => {
    throw asBackupError(error, `Taking the restore lock of ${root}`, root);
  });
  try {
    const recovered = await recoverRestoreFolders(root).catch((error: unknown) => {
      throw asBackupError(error, `Finishing an interrupted restore of ${root}`, root);
    });
    await checkFreeSpace({
      dir: root,
      neededBytes: meta.total_size,
      marginBytes: options.marginBytes,
      diskFree: options.diskFree,
      what: `restoring backup ${backupId}`,
    });
    const tmp = path.join(root, `${RESTORE_DIR_PREFIX}${backupId}-${randomBytes(4).toString('hex')}`);
    await fsp.mkdir(tmp, { mode: 0o700 }).catch((error: unknown) => {
      throw asBackupError(error, `Creating the restore folder ${tmp}`, root);
    });
    let committed = false;
    try {
      await readArchive(root, meta, {
        sink: (file) => openSink(path.join(tmp, EXTRACT_SUBDIR), file),
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (p) => options.onProgress?.({ phase: 'extract', ...p }),
      });
      const journal = await planSwap(root, meta, (options.now ?? (() => new Date()))());
      throwIfAborted(options.signal, `Restoring backup ${backupId}`);
      await writeJournal(tmp, journal);
      committed = true;
      await applyJournal(root, tmp, journal, options.hooks);
      await fsp.rm(tmp, { recursive: true, force: true });
      await fsyncDir(root);
      return {
        backupId,
        restored: journal.files,
        displaced: journal.displaced,
        ...(journal.displaced.length ? { displacedDir: path.join(root, ...journal.displaced_dir.split('/')) } : {}),
        recovered,
      };
    } catch (error) {
      if (!committed) {
        await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
        if (error instanceof BackupError) throw error;
        throw new BackupIoError(
          `Restoring backup ${backupId} into ${root} failed before any file was replaced (${errnoOf(error)}); fix the cause and run the restore again.`,
          root,
          error,
        );
      }
      throw new BackupIoError(
        `Restoring backup ${backupId} into ${root} stopped half-way (${errnoOf(error)}); every file is either its old or its restored version — fix the cause and run the restore again (or recoverInterruptedRestore) to finish it.`,
        tmp,
        error,
      );
    }
  } finally {
    await release();
  }
}

/** Finishes (or discards, when it never reached its commit point) every interrupted restore of `dbPath`. */
export async function recoverInterruptedRestore(dbPath: string): Promise<RecoveryResult[]> {
  const root = path.resolve(dbPath);
  if (!(await pathExists(path.join(root, BACKUPS_DIR)))) return [];
  try {
    const release = await acquireRestoreLock(root);
    try {
      return await recoverRestoreFolders(root);
    } finally {
      await release();
    }
  } catch (error) {
    throw asBackupError(error, `Finishing an interrupted restore of ${root}`, root);
  }
}

async function planSwap(root: string, meta: BackupMeta, now: Date): Promise<RestoreJournal> {
  const inBackup = new Set(meta.files.map((f) => f.path));
  const displaced = (await listDataFiles(root)).filter((f) => !inBackup.has(f.rel)).map((f) => f.rel);
  let displacedDir = `${BACKUPS_DIR}/${DISPLACED_DIR_PREFIX}${meta.id}-${formatBackupTimestamp(now)}`;
  if (await pathExists(path.join(root, ...displacedDir.split('/'))))
    displacedDir += `-${randomBytes(3).toString('hex')}`;
  return {
    format: 'hybridrag-restore-journal/1',
    backup_id: meta.id,
    started_at: now.toISOString(),
    files: meta.files.map((f) => f.path),
    displaced,
    displaced_dir: displacedDir,
  };
}

async function openSink(extractRoot: string, file: BackupFile): Promise<FileSink> {
  const target = resolveInside(extractRoot, file.path);
  await fsp.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  const handle = await fsp.open(target, 'wx', 0o600);
  let closed = false;
  return {
    async write(chunk) {
      for (let offset = 0; offset < chunk.length;) {
        const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
        offset += bytesWritten;
      }
    },
    async close() {
      await handle.chmod(file.mode & 0o777);
      const mtime = new Date(file.mtime);
      await handle.utimes(mtime, mtime);
      await handle.sync();
      closed = true;
      await handle.close();
    },
    async abort() {
      if (!closed) await handle.close().catch(() => undefined);
      await fsp.rm(target, { force: true });
    },
  };
}
