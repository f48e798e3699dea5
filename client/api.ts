import path from 'node:path';
import {
  createBackup,
  listBackups,
  restoreBackup,
  type BackupInfo,
  type BackupResult,
  type RestoreResult,
} from '../core/backup';
import { JOB_DEFAULTS, type TemporalSettings } from '../core/config';
import { openPool } from '../core/database/connect';
import { planCollections } from '../core/migration/planning';
import { previewMigration, type MigrationPreview } from '../core/migration/preview';
import { planTarget } from '../core/postgres/plan';
import { readState } from '../core/state/stateFile';
import { verifyProduction, writeReport, type VerificationReport } from '../core/verify';
import type { RollbackResult } from '../workflows/backup';
import type { MigrationInput, MigrationResult } from '../workflows/migration';
import { fullBackupId } from './backupIds';
import { UserError } from './errors';
import { runMigrationJob, type MigrationRequest } from './job/migration';
import { prepareRollback, runRollback } from './job/rollback';
import { resolveTarget } from './job/target';
import type { WorkerMode } from './runner';

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
  /** the backup archive: 'none' (default) a plain .tar, 'gzip' a .tar.gz about 40 % smaller and several times slower to write */
  backupCompression?: 'none' | 'gzip';
  /** load activities at once per collection */
  parallelism?: number;
  /** consecutive batches per load activity (default: about 64 MiB of source) */
  batchesPerActivity?: number;
  temporal?: Partial<TemporalSettings>;
  worker?: WorkerMode;
  /** the HybridRAG registry entry to switch after promote */
  registry?: { path: string; name: string };
  /** refuse to promote unless every record is stored exactly (no value fitted, none left out), as --strict */
  strict?: boolean;
}

/** The job service's request for these options (the CLI builds the same from its flags). */
function requestOf(options: MigrationOptions, mode: 'staged' | 'direct'): MigrationRequest {
  return {
    db: {
      name: options.databaseName,
      path: path.resolve(options.sourcePath),
      ...(options.registry ? { registry: options.registry } : {}),
    },
    connection: options.targetConnection,
    mode,
    workspace: options.workspace,
    layout: options.layout,
    embeddingModel: options.embeddingModel,
    highDimensionIndex: options.highDimensionIndex,
    backupCompression: options.backupCompression,
    batchSize: options.batchSize,
    parallelism: options.parallelism,
    batchesPerActivity: options.batchesPerActivity,
    strict: options.strict,
    worker: options.worker,
    temporal: options.temporal,
  };
}

/**
 * The staged migration of the original guide, one phase per call, each a run of the same
 * Temporal workflow for the same job (its completed batches are kept between calls):
 * prepare → migrateToStaging → verifyStaging → promote, and rollback. Each call goes through the
 * same job service as the CLI: the state file's job (with its batch size and backup) is carried
 * on, the target is checked before anything starts, a rollback is refused while a migration runs.
 */
export class StagedMigration {
  private readonly request: MigrationRequest;
  private backupId: string | null = null;

  constructor(private readonly options: MigrationOptions) {
    this.request = requestOf(options, 'staged');
  }

  private async phase(extra: Partial<MigrationInput>): Promise<MigrationResult> {
    const { result } = await runMigrationJob(this.request, {}, extra);
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
    const state = await readState(this.request.db.path);
    if (state?.phase !== 'verified') {
      throw new UserError(
        `Promote needs a verified staging (the job is at phase ${state?.phase ?? 'initial'}); run verifyStaging() first.`,
      );
    }
    return this.phase({ startAt: 'promote' });
  }

  /** Restores the JSON files from a backup (default: this job's) and the previous PostgreSQL generation. */
  async rollback(backupId?: string): Promise<RollbackResult> {
    const request = {
      db: this.request.db,
      backupId: backupId ?? this.backupId ?? undefined,
      connection: this.options.targetConnection,
      worker: this.options.worker,
      temporal: this.options.temporal,
    };
    return runRollback(request, await prepareRollback(request));
  }
}

/** A direct migration (no backup): staging → verify → promote in one run. */
export class MigrationJob {
  constructor(private readonly options: MigrationOptions) {}

  /** Runs the whole job (or carries on the unfinished one of the state file) and returns its result. */
  async run(): Promise<MigrationResult> {
    return (await runMigrationJob(requestOf(this.options, 'direct'))).result;
  }
}

/** What a migration would do, without writing anything (the CLI's --dry-run). */
export function previewMigrationOf(
  options: Pick<
    MigrationOptions,
    'sourcePath' | 'workspace' | 'layout' | 'embeddingModel' | 'highDimensionIndex' | 'batchSize'
  > & { staged?: boolean },
): Promise<MigrationPreview> {
  return previewMigration(path.resolve(options.sourcePath), {
    ...options,
    staged: options.staged ?? true,
    verify: true,
  });
}

/** Compares the production tables of a workspace with the source files (no Temporal involved). */
export class MigrationVerifier {
  constructor(
    private readonly options: Pick<
      MigrationOptions,
      'databaseName' | 'sourcePath' | 'targetConnection' | 'workspace' | 'layout' | 'embeddingModel' | 'batchSize'
    >,
  ) {}

  async verify(options: { reportJobId?: string } = {}): Promise<VerificationReport> {
    const { target, credentials } = resolveTarget(this.options.targetConnection);
    const sources = await planCollections(this.options.sourcePath, {
      batchSize: this.options.batchSize ?? JOB_DEFAULTS.batchSize,
    });
    const model = this.options.embeddingModel ?? sources.embeddingModel;
    const plan = planTarget({
      migrationId: 'verify',
      workspace: this.options.workspace ?? JOB_DEFAULTS.workspace,
      layout: this.options.layout ?? JOB_DEFAULTS.layout,
      dimension: sources.dimension,
      ...(model ? { embeddingModel: model } : {}),
    });
    const pool = openPool(target, credentials, { max: 2 });
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
