import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { BackupError, createBackup, restoreBackup } from '../core/backup';
import { switchBackend } from '../core/registry/registry';
import { rollbackPromote } from '../core/target';
import type { TargetContext } from '../workflows/types';
import { classified } from './failures';
import { withHeartbeat } from './migration';
import { targetPlanOf } from './targetPlan';
import type { PoolRegistry } from './pools';

export interface BackupActivityDependencies {
  pools: PoolRegistry;
}

/**
 * Most backup errors are the user's to fix (disk full, damaged archive, unsafe entries): they fail
 * fast. The few core/backup marks retryable (a file still being written, a held restore lock,
 * EBUSY) are retried with the activity's backoff.
 */
function backupFailure(error: unknown): unknown {
  if (!(error instanceof BackupError)) return error;
  return error.retryable ? ApplicationFailure.retryable(error.message, error.name) : ApplicationFailure.nonRetryable(error.message, error.name, error.toJSON());
}

export function createBackupActivities({ pools }: BackupActivityDependencies) {
  return {
    /** Phase 1: a streaming tar.gz of the database's data files, with per-file sha256. */
    async backupDatabase(input: { databasePath: string; databaseName: string }): Promise<{ backupId: string; files: number; bytes: number }> {
      const ctx = Context.current();
      try {
        let progress: unknown = 'starting';
        const result = await withHeartbeat(
          () => progress,
          () =>
            createBackup(input.databasePath, input.databaseName, {
              signal: ctx.cancellationSignal,
              onProgress: (p) => ctx.heartbeat((progress = { file: p.file, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, attempt: p.attempt })),
            }),
        );
        return { backupId: result.id, files: result.meta.file_count, bytes: result.meta.total_size };
      } catch (error) {
        throw backupFailure(error);
      }
    },

    /** Rollback, files: verifies the backup's checksums, then swaps the files back into place. */
    async restoreFiles(input: { databasePath: string; backupId: string }): Promise<{ restored: number; displaced: string[] }> {
      const ctx = Context.current();
      try {
        let progress: unknown = 'starting';
        const result = await withHeartbeat(
          () => progress,
          () =>
            restoreBackup(input.databasePath, input.backupId, {
              signal: ctx.cancellationSignal,
              onProgress: (p) => ctx.heartbeat((progress = p)),
            }),
        );
        return { restored: result.restored.length, displaced: result.displaced };
      } catch (error) {
        throw backupFailure(error);
      }
    },

    /** Rollback, PostgreSQL: puts the generation the job replaced back in one transaction. */
    async rollbackTarget(ctx: TargetContext): Promise<{ rolledBack: boolean; tables: string[] }> {
      return classified(ctx.job.target, async () => {
        const result = await rollbackPromote(pools.get(ctx.job.target), targetPlanOf(ctx));
        return { rolledBack: result.rolledBack, tables: result.tables.map((t) => t.table) };
      });
    },

    /** Rollback, registry: the entry goes back to the JSON backend. */
    async restoreRegistry(input: { path: string; name: string; stamp: string }): Promise<void> {
      await switchBackend(input.path, input.name, { backend_type: 'json', backend_config: null }, input.stamp);
    },
  };
}

export type BackupActivities = ReturnType<typeof createBackupActivities>;
