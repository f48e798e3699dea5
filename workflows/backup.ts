import { proxyActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { DEFAULT_HEARTBEAT_TIMEOUT, type TargetContext } from '../core/migration/types';

export interface BackupOnlyInput {
  databasePath: string;
  databaseName: string;
  /** default: a plain tar (DEFAULT_BACKUP_CODEC) */
  codec?: 'gzip' | 'none';
}

export interface RollbackInput {
  databasePath: string;
  databaseName: string;
  backupId: string;
  /** the promoted job whose PostgreSQL generation is put back (absent: files only) */
  target?: TargetContext;
  /** the registry entry switched back to the JSON backend */
  registry?: { path: string; name: string };
  /** the state file's job id and mode, kept in the rolled_back record */
  jobId: string;
}

export interface RollbackResult {
  backupId: string;
  filesRestored: number;
  displaced: string[];
  postgresRolledBack: boolean;
  tables: string[];
}

const backups = proxyActivities<Activities>({
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: DEFAULT_HEARTBEAT_TIMEOUT,
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
const quick = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/** `--backup-only`: Phase 1 alone. */
export async function backupOnlyWorkflow(
  input: BackupOnlyInput,
): Promise<{ backupId: string; files: number; bytes: number }> {
  setCurrentDetails(`Backing up ${input.databaseName} (${input.databasePath})`);
  return backups.backupDatabase(input);
}

/**
 * `--rollback BACKUP_ID`: restores the JSON files from the backup (checksums verified first, then
 * swapped into place), puts back the PostgreSQL generation the promoted job replaced, switches the
 * registry entry back, and records `rolled_back`.
 */
export async function rollbackWorkflow(input: RollbackInput): Promise<RollbackResult> {
  setCurrentDetails(`Rolling back ${input.databaseName} to backup ${input.backupId}`);
  const files = await backups.restoreFiles({ databasePath: input.databasePath, backupId: input.backupId });
  const postgres = input.target ? await backups.rollbackTarget(input.target) : { rolledBack: false, tables: [] };
  if (input.registry) await quick.restoreRegistry({ ...input.registry, stamp: `rollback-${input.jobId}` });
  await quick.recordState({
    databasePath: input.databasePath,
    state: {
      phase: 'rolled_back',
      backup_id: input.backupId,
      staging_complete: false,
      verification_passed: false,
      promoted: false,
      errors: [],
      job_id: input.jobId,
      workflow_id: workflowInfo().workflowId,
    },
  });
  return {
    backupId: input.backupId,
    filesRestored: files.restored,
    displaced: files.displaced,
    postgresRolledBack: postgres.rolledBack,
    tables: postgres.tables,
  };
}
