/**
 * core/backup: backups of a LightRAG database folder (`<db>/.backups/{database}_{YYYYmmdd_HHMMSS}.tar[.gz]`
 * + `.meta.json`), their listing and retention, verification, and crash-safe restore.
 * Temporal-free: activities wrap these calls (progress callbacks → heartbeats, AbortSignal → cancellation).
 */
export {
  createBackup,
  DEFAULT_BACKUP_CODEC,
  type BackupProgress,
  type BackupResult,
  type CreateBackupHooks,
  type CreateBackupOptions,
} from './create';
export { formatBackupTable, listBackups, type BackupInfo } from './list';
export { DEFAULT_KEEP, pruneBackups } from './retention';
export { verifyBackup, type VerifiedBackup, type VerifyBackupOptions } from './verify';
export {
  recoverInterruptedRestore,
  restoreBackup,
  type RestoreBackupOptions,
  type RestoreProgress,
  type RestoreResult,
} from './restore';
export type { RecoveryAction, RecoveryResult, ApplyHooks } from './journal';
export type { ArchiveProgress } from './archive';
export type { DiskFree } from './fsutil';
export { BackupMetaSchema, codecOf, type BackupFile, type BackupMeta } from './meta';
export {
  assertBackupId,
  isBackupOf,
  makeBackupId,
  parseBackupId,
  type BackupCodec,
  type ParsedBackupId,
} from './naming';
export * from './errors';
