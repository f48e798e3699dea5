/**
 * Typed errors of core/backup. Every message is one sentence that names the file or backup and
 * says what to do. `retryable` tells an activity whether running the same call again later can
 * succeed (a file that was being written, a restore that holds the lock); everything else is a
 * permanent failure.
 */

export type BackupErrorCode =
  | 'INVALID_DATABASE_NAME'
  | 'INVALID_BACKUP_ID'
  | 'DATABASE_FOLDER'
  | 'NO_DATA_FILES'
  | 'NOT_FOUND'
  | 'INSUFFICIENT_SPACE'
  | 'SOURCE_CHANGED'
  | 'INVALID_META'
  | 'CORRUPT_ARCHIVE'
  | 'CHECKSUM_MISMATCH'
  | 'UNSAFE_ENTRY'
  | 'RESTORE_LOCKED'
  | 'RESTORE_INTERRUPTED'
  | 'ABORTED'
  | 'IO_ERROR';

export interface BackupErrorDetails {
  file?: string;
  backupId?: string;
  retryable?: boolean;
  cause?: unknown;
}

export class BackupError extends Error {
  override name = 'BackupError';
  readonly retryable: boolean;
  readonly file?: string;
  readonly backupId?: string;
  constructor(
    readonly code: BackupErrorCode,
    message: string,
    details: BackupErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.retryable = details.retryable ?? false;
    if (details.file !== undefined) this.file = details.file;
    if (details.backupId !== undefined) this.backupId = details.backupId;
  }

  /** Plain, JSON-serialisable form (e.g. for an ApplicationFailure's details). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      file: this.file,
      backupId: this.backupId,
      retryable: this.retryable,
    };
  }
}

/** The database name cannot be used in a backup file name. */
export class InvalidDatabaseNameError extends BackupError {
  override name = 'InvalidDatabaseNameError';
  constructor(message: string) {
    super('INVALID_DATABASE_NAME', message);
  }
}

/** A backup id that is not `{database}_{YYYYmmdd_HHMMSS}[_N]` or that could reach outside `.backups`. */
export class InvalidBackupIdError extends BackupError {
  override name = 'InvalidBackupIdError';
  constructor(message: string, backupId: string) {
    super('INVALID_BACKUP_ID', message, { backupId });
  }
}

/** The database folder is missing or not a folder. */
export class DatabaseFolderError extends BackupError {
  override name = 'DatabaseFolderError';
  constructor(message: string, file: string) {
    super('DATABASE_FOLDER', message, { file });
  }
}

/** The database folder holds no LightRAG data file, so there is nothing to back up. */
export class NoDataFilesError extends BackupError {
  override name = 'NoDataFilesError';
  constructor(message: string, file: string) {
    super('NO_DATA_FILES', message, { file });
  }
}

/** The backup (its archive or its meta file) does not exist. */
export class BackupNotFoundError extends BackupError {
  override name = 'BackupNotFoundError';
  constructor(message: string, backupId: string, file?: string) {
    super('NOT_FOUND', message, { backupId, ...(file === undefined ? {} : { file }) });
  }
}

/** Not enough free disk space for the backup or the restore. */
export class InsufficientSpaceError extends BackupError {
  override name = 'InsufficientSpaceError';
  constructor(
    message: string,
    file: string,
    readonly neededBytes: number,
    readonly freeBytes: number,
  ) {
    super('INSUFFICIENT_SPACE', message, { file });
  }
}

/** A source file kept changing while it was being backed up (LightRAG is probably still writing). */
export class SourceChangedError extends BackupError {
  override name = 'SourceChangedError';
  constructor(message: string, file: string) {
    super('SOURCE_CHANGED', message, { file, retryable: true });
  }
}

/** The `.meta.json` of a backup is missing fields, inconsistent, or not JSON. */
export class InvalidBackupMetaError extends BackupError {
  override name = 'InvalidBackupMetaError';
  constructor(message: string, backupId: string, file: string) {
    super('INVALID_META', message, { backupId, file });
  }
}

/** The archive is truncated, not a gzip/tar file, or does not hold what its meta file lists. */
export class CorruptBackupError extends BackupError {
  override name = 'CorruptBackupError';
  constructor(message: string, backupId: string, file?: string, code: BackupErrorCode = 'CORRUPT_ARCHIVE') {
    super(code, message, { backupId, ...(file === undefined ? {} : { file }) });
  }
}

/** A file's bytes in the archive do not have the sha256 (or size) the meta file recorded. */
export class ChecksumMismatchError extends CorruptBackupError {
  override name = 'ChecksumMismatchError';
  constructor(message: string, backupId: string, file: string) {
    super(message, backupId, file, 'CHECKSUM_MISMATCH');
  }
}

/** An archive entry that would escape the database folder, or is a link or a device. */
export class UnsafeArchiveEntryError extends CorruptBackupError {
  override name = 'UnsafeArchiveEntryError';
  constructor(message: string, backupId: string, entryPath: string) {
    super(message, backupId, entryPath, 'UNSAFE_ENTRY');
  }
}

/** Another restore of this database folder is running (its lock file is held). */
export class RestoreLockedError extends BackupError {
  override name = 'RestoreLockedError';
  constructor(message: string, file: string) {
    super('RESTORE_LOCKED', message, { file, retryable: true });
  }
}

/** A restore was interrupted and must be finished before a new backup is taken. */
export class InterruptedRestoreError extends BackupError {
  override name = 'InterruptedRestoreError';
  constructor(message: string, file: string) {
    super('RESTORE_INTERRUPTED', message, { file });
  }
}

/** The caller's AbortSignal fired; nothing half-written is left behind. */
export class BackupAbortedError extends BackupError {
  override name = 'BackupAbortedError';
  constructor(message: string) {
    super('ABORTED', message);
  }
}

/** A file system operation failed (permissions, I/O error, disk full while writing). */
export class BackupIoError extends BackupError {
  override name = 'BackupIoError';
  constructor(message: string, file: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    super('IO_ERROR', message, {
      file,
      cause,
      retryable: code === 'EBUSY' || code === 'EAGAIN' || code === 'EMFILE' || code === 'ENFILE',
    });
  }
}

/** "ENOSPC: no space left on device" → "ENOSPC"; for messages that name the cause briefly. */
export function errnoOf(error: unknown): string {
  const e = error as NodeJS.ErrnoException | undefined;
  return e?.code ?? (e instanceof Error ? e.message : String(error));
}

/** Passes BackupErrors through; turns anything else (fs errors) into a BackupIoError sentence. */
export function asBackupError(error: unknown, doing: string, file: string): unknown {
  if (error instanceof BackupError || error instanceof RangeError) return error;
  const code = errnoOf(error);
  const hint =
    code === 'ENOSPC'
      ? 'the disk is full; free some space and run again'
      : code === 'EACCES' || code === 'EPERM'
        ? `permission denied; check the permissions of ${file} and run again`
        : `check ${file} (permissions, free space) and run again`;
  return new BackupIoError(`${doing} failed (${code}); ${hint}.`, file, error);
}
