import type { WorkflowHandle } from '@temporalio/client';
import type { BackupCodec } from '../../core/backup';
import { describeTarget } from '../../core/connection';
import { DEFAULT_COLLECTION_PARALLELISM, JOB_DEFAULTS, type TemporalSettings } from '../../core/config';
import type { JobContext } from '../../core/migration/types';
import { readState, stateTimestamp, writeState, type MigrationState } from '../../core/state/stateFile';
import type { MigrationInput, MigrationResult } from '../../workflows/migration';
import { DATABASE_ATTRIBUTE } from '../../workflows/searchAttributes';
import type { DatabaseRef } from '../database';
import { UserError } from '../errors';
import type { WorkerMode } from '../runner';
import { migrationWorkflowId, newJobId } from './ids';
import { runWorkflow } from './run';
import { preflightTarget, resolveTarget, type ResolvedTarget } from './target';

/** Everything a migration job is asked with, by the CLI's flags or the API's options. */
export interface MigrationRequest {
  db: DatabaseRef;
  /** postgresql://user:pass@host:port/db (default $DATABASE_URL); the password stays in this process */
  connection?: string | undefined;
  mode: 'staged' | 'direct';
  workspace?: string | undefined;
  layout?: JobContext['layout'] | undefined;
  embeddingModel?: string | undefined;
  highDimensionIndex?: 'none' | 'halfvec' | undefined;
  /** how the backup archive is stored (staged): plain tar (default) or gzip */
  backupCompression?: BackupCodec | undefined;
  batchSize?: number | undefined;
  parallelism?: number | undefined;
  batchesPerActivity?: number | undefined;
  skipVerify?: boolean | undefined;
  /** refuse to promote when a value had to be fitted or a record was left out */
  strict?: boolean | undefined;
  /** a job id to resume (also a failed one); default: the state file's unfinished job, else a new one */
  resume?: string | undefined;
  worker?: WorkerMode | undefined;
  temporal?: Partial<TemporalSettings> | undefined;
}

/** The job a request resolves to: new, or the one the state file (or --resume) names, with what it began with. */
export interface ResolvedJob {
  jobId: string;
  workflowId: string;
  existingBackupId: string | null;
  /** batch boundaries are the exactly-once keys: a resumed job keeps the size it began with */
  batchSize: number;
  /** set when an earlier run of this job is carried on */
  resumed?: { by: 'flag' | 'state'; phase: string; mode: string };
  state: MigrationState | undefined;
}

export interface MigrationHooks {
  /** the job is known (new or resumed), before anything else happens */
  onResolved?(job: ResolvedJob): void;
  /** asked before anything is written (the CLI's prompt); throwing starts nothing */
  confirm?(question: string): Promise<void>;
  /** right before the workflow starts (the CLI pauses the watcher); returns what undoes it */
  hold?(): Promise<() => void>;
  onStarted?(
    handle: WorkflowHandle,
    context: { running: boolean; link: string; job: ResolvedJob },
  ): () => Promise<void>;
}

const FINISHED: readonly string[] = ['promoted', 'rolled_back'];

export async function resolveMigrationJob(request: MigrationRequest, target: ResolvedTarget): Promise<ResolvedJob> {
  const state = await readState(request.db.path).catch((error: Error) => {
    throw new UserError(error.message);
  });
  const workspace = request.workspace ?? JOB_DEFAULTS.workspace;
  const workflowId = migrationWorkflowId(request.db.name, target.target, workspace);
  const requested = request.batchSize ?? JOB_DEFAULTS.batchSize;
  if (request.resume) {
    const same = state?.job_id === request.resume;
    return {
      jobId: request.resume,
      workflowId,
      existingBackupId: same ? state.backup_id : null,
      batchSize: (same && state.batch_size) || requested,
      resumed: { by: 'flag', phase: same ? state.phase : 'unknown', mode: request.mode },
      state,
    };
  }
  if (state && !FINISHED.includes(state.phase)) {
    return {
      jobId: state.job_id,
      workflowId,
      existingBackupId: state.backup_id,
      batchSize: state.batch_size ?? requested,
      resumed: { by: 'state', phase: state.phase, mode: state.mode ?? 'staged' },
      state,
    };
  }
  return { jobId: newJobId(), workflowId, existingBackupId: null, batchSize: requested, state };
}

export function migrationInput(
  request: MigrationRequest,
  target: ResolvedTarget,
  job: ResolvedJob,
  extra: Partial<MigrationInput> = {},
): MigrationInput {
  return {
    job: {
      jobId: job.jobId,
      databaseName: request.db.name,
      databasePath: request.db.path,
      target: target.target,
      workspace: request.workspace ?? JOB_DEFAULTS.workspace,
      layout: request.layout ?? JOB_DEFAULTS.layout,
      ...(request.embeddingModel ? { embeddingModel: request.embeddingModel } : {}),
      ...(request.highDimensionIndex === 'halfvec' ? { highDimensionIndex: 'halfvec' as const } : {}),
    },
    mode: request.mode,
    batchSize: job.batchSize,
    skipVerify: request.skipVerify ?? false,
    ...(request.strict ? { strict: true } : {}),
    ...(request.backupCompression === 'gzip' ? { backupCodec: 'gzip' as const } : {}),
    parallelism: request.parallelism ?? JOB_DEFAULTS.parallelism,
    ...(request.batchesPerActivity ? { batchesPerActivity: request.batchesPerActivity } : {}),
    collectionParallelism: DEFAULT_COLLECTION_PARALLELISM,
    existingBackupId: job.existingBackupId,
    ...(request.db.registry ? { registry: request.db.registry } : {}),
    ...extra,
  };
}

async function writeFirstState(request: MigrationRequest, target: ResolvedTarget, job: ResolvedJob): Promise<void> {
  if (job.state?.job_id === job.jobId) return;
  await writeState(request.db.path, {
    phase: 'initial',
    backup_id: job.existingBackupId,
    staging_complete: false,
    verification_passed: false,
    promoted: false,
    errors: [],
    updated_at: stateTimestamp(new Date()),
    job_id: job.jobId,
    workflow_id: job.workflowId,
    mode: request.mode,
    target: describeTarget(target.target),
    workspace: request.workspace ?? JOB_DEFAULTS.workspace,
    batch_size: job.batchSize,
  });
}

/**
 * Runs (or attaches to) the migration workflow of a request, the same for the CLI and the API:
 * resolve the job, and unless it already runs, check the target (one sentence when it cannot be
 * used), confirm, write the first state; then run the workflow to its result.
 */
export async function runMigrationJob(
  request: MigrationRequest,
  hooks: MigrationHooks = {},
  extra: Partial<MigrationInput> = {},
): Promise<{ job: ResolvedJob; result: MigrationResult }> {
  const target = resolveTarget(request.connection);
  const job = await resolveMigrationJob(request, target);
  hooks.onResolved?.(job);
  const workspace = request.workspace ?? JOB_DEFAULTS.workspace;
  const result = await runWorkflow<MigrationResult>({
    workflowType: 'migrationWorkflow',
    workflowId: job.workflowId,
    args: [migrationInput(request, target, job, extra)],
    credentials: target.credentials,
    worker: request.worker,
    temporal: request.temporal,
    searchAttributes: { [DATABASE_ATTRIBUTE]: [request.db.name] },
    async beforeStart({ running }) {
      if (!running) {
        await preflightTarget(target, { jobId: job.jobId, workspace, layout: request.layout ?? JOB_DEFAULTS.layout });
        await hooks.confirm?.(
          `Migrate '${request.db.name}' (${request.db.path}) into ${describeTarget(target.target)}, workspace '${workspace}'?`,
        );
        await writeFirstState(request, target, job);
      }
      return hooks.hold?.();
    },
    onStarted: hooks.onStarted ? (handle, context) => hooks.onStarted!(handle, { ...context, job }) : undefined,
  });
  return { job, result };
}
