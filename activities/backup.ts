import { Context } from '@temporalio/activity';
import { createBackup, restoreBackup, type BackupCodec } from '../core/backup';
import { switchBackend } from '../core/registry/registry';
import { rollbackPromote } from '../core/postgres';
import type { TargetContext } from '../core/migration/types';
import { startStep } from './steps';
import { classified } from './failures';
import { withHeartbeat } from './heartbeat';
import { backupReports } from './stepReports';
import { targetPlanOf } from './targetPlan';
import type { PoolRegistry } from './pools';

export interface BackupActivityDependencies {
  pools: PoolRegistry;
}

/**
 * Runs a long file operation of core/backup: cancellation from Temporal, its progress reported as
 * heartbeats (and repeated on a timer while it is between progress callbacks), errors classified.
 */
function withFileProgress<T>(
  body: (options: { signal: AbortSignal; onProgress: (p: object) => void }) => Promise<T>,
): Promise<T> {
  const ctx = Context.current();
  let progress: unknown = 'starting';
  return classified(undefined, () =>
    withHeartbeat(
      () => progress,
      () => body({ signal: ctx.cancellationSignal, onProgress: (p) => ctx.heartbeat((progress = p)) }),
    ),
  );
}

export function createBackupActivities({ pools }: BackupActivityDependencies) {
  return {
    /** Phase 1: a streaming tar (plain by default) of the database's data files, with per-file sha256. */
    async backupDatabase(input: {
      databasePath: string;
      databaseName: string;
      /** send the progress to the workflow (the migration workflow takes it; the backup-only one has no handler) */
      reportProgress?: boolean;
      /** how the archive is stored (default: DEFAULT_BACKUP_CODEC) */
      codec?: BackupCodec;
    }): Promise<{ backupId: string; files: number; bytes: number }> {
      const reports = input.reportProgress ? backupReports() : undefined;
      const result = await withFileProgress((options) =>
        createBackup(input.databasePath, input.databaseName, {
          ...options,
          ...(input.codec ? { codec: input.codec } : {}),
          onProgress: (p) => {
            options.onProgress(p);
            reports?.onProgress(p);
          },
        }),
      );
      await reports?.reporter.flush();
      return { backupId: result.id, files: result.meta.file_count, bytes: result.meta.total_size };
    },

    /** Rollback, files: verifies the backup's checksums, then swaps the files back into place. */
    async restoreFiles(input: {
      databasePath: string;
      backupId: string;
    }): Promise<{ restored: number; displaced: string[] }> {
      const result = await withFileProgress((options) => restoreBackup(input.databasePath, input.backupId, options));
      return { restored: result.restored.length, displaced: result.displaced };
    },

    /** Rollback, PostgreSQL: puts the generation the job replaced back in one transaction. */
    async rollbackTarget(ctx: TargetContext): Promise<{ rolledBack: boolean; tables: string[] }> {
      return classified(ctx.job.target, async () => {
        const result = await rollbackPromote(await startStep(pools, ctx.job, 'rollback'), targetPlanOf(ctx));
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
