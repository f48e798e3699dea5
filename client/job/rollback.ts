import { listBackups } from '../../core/backup';
import { parseConnectionString } from '../../core/connection';
import { CredentialStore } from '../../core/credentials';
import type { TemporalSettings } from '../../core/config';
import { readState } from '../../core/state/stateFile';
import type { RollbackInput, RollbackResult } from '../../workflows/backup';
import { fullBackupId, shortBackupId } from '../backupIds';
import type { DatabaseRef } from '../database';
import { UserError } from '../errors';
import type { WorkerMode } from '../runner';
import { isRunning, runWorkflow } from './run';

export interface RollbackRequest {
  db: DatabaseRef;
  /** a backup id, short (20251219_213814) or full; default: the state file's */
  backupId?: string | undefined;
  /** supplies the password for the target recorded in the state file (default $DATABASE_URL) */
  connection?: string | undefined;
  worker?: WorkerMode | undefined;
  temporal?: Partial<TemporalSettings> | undefined;
  /** how the user names this database in a command (for the sentences that say what to run) */
  commandName?: string | undefined;
}

export interface PreparedRollback {
  input: RollbackInput;
  credentials: CredentialStore;
  backupId: string;
}

/**
 * What a rollback restores, checked before anything runs: no migration of this database may be
 * running (it would go on and overwrite the rollback), the backup must exist, and the PostgreSQL
 * generation to restore is the one the state file recorded (its target, workspace, layout, model).
 */
export async function prepareRollback(request: RollbackRequest): Promise<PreparedRollback> {
  const { db } = request;
  const state = await readState(db.path).catch((error: Error) => {
    throw new UserError(error.message);
  });
  const name = request.commandName ?? db.name;
  if (state?.workflow_id && (await isRunning(state.workflow_id, request.temporal))) {
    throw new UserError(
      `A migration of '${db.name}' (job ${state.job_id}) is still running; cancel it first (hybridrag backend cancel ${name}) and roll back once it has stopped.`,
    );
  }
  const wanted = request.backupId ?? state?.backup_id;
  if (!wanted) throw new UserError(`'${db.name}' has no backup recorded; name one (see --list-backups).`);
  const backupId = fullBackupId(wanted, db.name);
  const backups = await listBackups(db.path, db.name).catch(() => []);
  if (!backups.some((b) => b.id === backupId)) {
    throw new UserError(
      `There is no backup ${shortBackupId(backupId)} of '${db.name}'; see hybridrag backend migrate ${name} --list-backups.`,
    );
  }
  const credentials = new CredentialStore();
  let target: RollbackInput['target'];
  if (state?.promoted && state.target && state.dimension && state.workspace) {
    const fromState = parseConnectionString(state.target).target;
    const given = request.connection ?? process.env.DATABASE_URL;
    const password = given ? parseConnectionString(given).password : undefined;
    if (password !== undefined) credentials.remember(fromState, password);
    target = {
      job: {
        jobId: state.job_id,
        databaseName: db.name,
        databasePath: db.path,
        target: fromState,
        workspace: state.workspace,
        layout: state.layout ?? 'lightrag',
        ...(state.embedding_model ? { embeddingModel: state.embedding_model } : {}),
      },
      dimension: state.dimension,
      ...(state.embedding_model ? { embeddingModel: state.embedding_model } : {}),
    };
  }
  const input: RollbackInput = {
    databasePath: db.path,
    databaseName: db.name,
    backupId,
    jobId: state?.job_id ?? 'none',
    ...(target ? { target } : {}),
    ...(db.registry ? { registry: db.registry } : {}),
  };
  return { input, credentials, backupId };
}

export function runRollback(request: RollbackRequest, prepared: PreparedRollback): Promise<RollbackResult> {
  return runWorkflow<RollbackResult>({
    workflowType: 'rollbackWorkflow',
    workflowId: `rollback/${request.db.name}`,
    args: [prepared.input],
    credentials: prepared.credentials,
    worker: request.worker,
    temporal: request.temporal,
  });
}
