import path from 'node:path';
import {
  createBackup,
  listBackups,
  restoreBackup,
  type BackupInfo,
  type BackupResult,
  type RestoreResult,
} from '../core/backup';
import { parseConnectionString, type DatabaseTarget } from '../core/connection';
import { CredentialStore } from '../core/credentials';
import { DEFAULT_COLLECTION_PARALLELISM, temporalSettings, type TemporalSettings } from '../core/config';
import { openPool } from '../core/database/connect';
import { planCollections } from '../core/migration/planning';
import { readState, stateTimestamp, writeState } from '../core/state/stateFile';
import { planTarget } from '../core/postgres/plan';
import { verifyProduction, writeReport, type VerificationReport } from '../core/verify';
import type { MigrationInput, MigrationResult } from '../workflows/migration';
import type { RollbackInput, RollbackResult } from '../workflows/backup';
import { fullBackupId } from './backupIds';
import { failureMessage } from './failures';
import { migrationWorkflowId, newJobId } from './jobs';
import { awaitResult, hostWorker, type WorkerMode } from './runner';
import { connectTemporal, runningExecution, startOrAttach } from './temporal';

/** What every programmatic entry point needs: the database, the target, how to reach Temporal. */
export interface MigrationOptions {
  databaseName: string;
  sourcePath: string;
  /** postgresql://user:pass@host:port/db — the password stays in this process */
  targetConnection: string;
  workspace?: string;
  layout?: 'lightrag' | 'hybridrag';
  batchSize?: number;
  embeddingModel?: string;
  /** vectors over 2000 dimensions: 'halfvec' stores them as halfvec with an HNSW index; 'none' (default) keeps them exact, unindexed */
  highDimensionIndex?: 'none' | 'halfvec';
  /** load activities at once per collection */
  parallelism?: number;
  /** consecutive batches per load activity (default: about 64 MiB of source) */
  batchesPerActivity?: number;
  temporal?: Partial<TemporalSettings>;
  worker?: WorkerMode;
  /** the HybridRAG registry entry to switch after promote */
  registry?: { path: string; name: string };
}

abstract class WorkflowDriver {
  protected readonly target: DatabaseTarget;
  protected readonly credentials = new CredentialStore();
  protected readonly sourcePath: string;

  constructor(protected readonly options: MigrationOptions) {
    const parsed = parseConnectionString(options.targetConnection);
    this.target = parsed.target;
    if (parsed.password !== undefined) this.credentials.remember(parsed.target, parsed.password);
    this.sourcePath = path.resolve(options.sourcePath);
  }

  protected get workspace(): string {
    return this.options.workspace ?? 'default';
  }

  /** Runs one workflow to its result with a worker (external or embedded), as the CLI does. */
  protected async runWorkflow<R>(workflowType: string, workflowId: string, args: unknown[]): Promise<R> {
    const session = await connectTemporal(temporalSettings(process.env, this.options.temporal ?? {}));
    const host = await hostWorker(session, this.credentials, this.options.worker ?? 'auto', {
      workflowId,
      running: await runningExecution(session, workflowId),
    });
    try {
      const handle = await startOrAttach(session, workflowType, { workflowId, taskQueue: host.taskQueue, args });
      try {
        return await awaitResult<R>(handle, host, this.options.worker ?? 'auto');
      } catch (error) {
        throw new Error(failureMessage(error), { cause: error });
      }
    } finally {
      await host.stop();
      await session.close();
    }
  }

  protected migrationInput(jobId: string, mode: 'staged' | 'direct', extra: Partial<MigrationInput>): MigrationInput {
    return {
      job: {
        jobId,
        databaseName: this.options.databaseName,
        databasePath: this.sourcePath,
        target: this.target,
        workspace: this.workspace,
        layout: this.options.layout ?? 'lightrag',
        ...(this.options.embeddingModel ? { embeddingModel: this.options.embeddingModel } : {}),
        ...(this.options.highDimensionIndex === 'halfvec' ? { highDimensionIndex: 'halfvec' as const } : {}),
      },
      mode,
      batchSize: this.options.batchSize ?? 1000,
      skipVerify: false,
      parallelism: this.options.parallelism ?? 4,
      ...(this.options.batchesPerActivity ? { batchesPerActivity: this.options.batchesPerActivity } : {}),
      collectionParallelism: DEFAULT_COLLECTION_PARALLELISM,
      ...(this.options.registry ? { registry: this.options.registry } : {}),
      ...extra,
    };
  }

  protected get workflowId(): string {
    return migrationWorkflowId(this.options.databaseName, this.target, this.workspace);
  }
}

/**
 * The staged migration of the original guide, one phase per call, each a run of the same
 * Temporal workflow for the same job (its completed batches are kept between calls):
 * prepare → migrateToStaging → verifyStaging → promote, and rollback.
 */
export class StagedMigration extends WorkflowDriver {
  private jobId: string | undefined;
  private backupId: string | null = null;

  /** The job this object drives: the one in `.migration_state.json` if unfinished, else a new one. */
  private async job(): Promise<string> {
    if (this.jobId) return this.jobId;
    const state = await readState(this.sourcePath);
    if (state && !['promoted', 'rolled_back'].includes(state.phase)) {
      this.jobId = state.job_id;
      this.backupId = state.backup_id;
    } else {
      this.jobId = newJobId();
      await writeState(this.sourcePath, {
        phase: 'initial',
        backup_id: null,
        staging_complete: false,
        verification_passed: false,
        promoted: false,
        errors: [],
        updated_at: stateTimestamp(new Date()),
        job_id: this.jobId,
        mode: 'staged',
        workspace: this.workspace,
      });
    }
    return this.jobId;
  }

  private async phase(extra: Partial<MigrationInput>): Promise<MigrationResult> {
    const jobId = await this.job();
    const result = await this.runWorkflow<MigrationResult>('migrationWorkflow', this.workflowId, [
      this.migrationInput(jobId, 'staged', { existingBackupId: this.backupId, ...extra }),
    ]);
    this.backupId = result.backupId;
    return result;
  }

  /** Phase 1: the backup. */
  async prepare(): Promise<{ backupId: string | null }> {
    const result = await this.phase({ stopAfter: 'prepared' });
    return { backupId: result.backupId };
  }

  /** Phase 2: every collection into this job's staging tables, indexes built. */
  async migrateToStaging(): Promise<MigrationResult> {
    return this.phase({ stopAfter: 'staged' });
  }

  /** Phase 3: staging compared with the source; `passed: false` blocks promote. */
  async verifyStaging(): Promise<NonNullable<MigrationResult['verification']>> {
    const result = await this.phase({ startAt: 'verify', stopAfter: 'verified' });
    if (!result.verification) throw new Error('The verification did not run.');
    return result.verification;
  }

  /** Phase 4: staging promoted to production in one transaction. */
  async promote(): Promise<MigrationResult> {
    const state = await readState(this.sourcePath);
    if (state?.phase !== 'verified') {
      throw new Error(
        `Promote needs a verified staging (the job is at phase ${state?.phase ?? 'initial'}); run verifyStaging() first.`,
      );
    }
    return this.phase({ startAt: 'promote' });
  }

  /** Restores the JSON files from a backup (default: this job's) and the previous PostgreSQL generation. */
  async rollback(backupId?: string): Promise<RollbackResult> {
    const state = await readState(this.sourcePath);
    const id = fullBackupId(backupId ?? this.backupId ?? state?.backup_id ?? '', this.options.databaseName);
    const input: RollbackInput = {
      databasePath: this.sourcePath,
      databaseName: this.options.databaseName,
      backupId: id,
      jobId: state?.job_id ?? 'none',
      ...(state?.promoted && state.dimension
        ? {
            target: {
              job: this.migrationInput(state.job_id, 'staged', {}).job,
              dimension: state.dimension,
              ...(state.embedding_model ? { embeddingModel: state.embedding_model } : {}),
            },
          }
        : {}),
      ...(this.options.registry ? { registry: this.options.registry } : {}),
    };
    return this.runWorkflow<RollbackResult>('rollbackWorkflow', `rollback/${this.options.databaseName}`, [input]);
  }
}

/** A direct migration (no backup): staging → verify → promote in one run. */
export class MigrationJob extends WorkflowDriver {
  /** Runs the whole job and returns its result. */
  async run(): Promise<MigrationResult> {
    return this.runWorkflow<MigrationResult>('migrationWorkflow', this.workflowId, [
      this.migrationInput(newJobId(), 'direct', {}),
    ]);
  }
}

/** Compares the production tables of a workspace with the source files (no Temporal involved). */
export class MigrationVerifier {
  private readonly target: DatabaseTarget;
  private readonly credentials = new CredentialStore();

  constructor(
    private readonly options: Pick<
      MigrationOptions,
      'databaseName' | 'sourcePath' | 'targetConnection' | 'workspace' | 'layout' | 'embeddingModel' | 'batchSize'
    >,
  ) {
    const parsed = parseConnectionString(options.targetConnection);
    this.target = parsed.target;
    if (parsed.password !== undefined) this.credentials.remember(parsed.target, parsed.password);
  }

  async verify(options: { reportJobId?: string } = {}): Promise<VerificationReport> {
    const sources = await planCollections(this.options.sourcePath, { batchSize: this.options.batchSize ?? 1000 });
    const model = this.options.embeddingModel ?? sources.embeddingModel;
    const plan = planTarget({
      migrationId: 'verify',
      workspace: this.options.workspace ?? 'default',
      layout: this.options.layout ?? 'lightrag',
      dimension: sources.dimension,
      ...(model ? { embeddingModel: model } : {}),
    });
    const pool = openPool(this.target, this.credentials, { max: 2 });
    try {
      const report = await verifyProduction(pool, plan, sources.collections, { rejectsTable: null });
      if (options.reportJobId) await writeReport(this.options.sourcePath, options.reportJobId, report);
      return report;
    } finally {
      await pool.end();
    }
  }
}

/** Backups of one database folder, as in the original guide (local, no Temporal needed). */
export class DatabaseBackup {
  constructor(
    readonly databaseName: string,
    readonly databasePath: string,
  ) {}

  createBackup(): Promise<BackupResult> {
    return createBackup(this.databasePath, this.databaseName);
  }

  listBackups(): Promise<BackupInfo[]> {
    return listBackups(this.databasePath, this.databaseName);
  }

  restoreBackup(backupId: string): Promise<RestoreResult> {
    return restoreBackup(this.databasePath, fullBackupId(backupId, this.databaseName));
  }
}
