import { isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { Activities } from '../activities';
import { loadCollections } from './collectionChildren';
import { cancelSignal, pauseSignal, progressQuery, resumeSignal, stepProgressSignal } from './control';
import { innermostFailureMessage } from './failureMessage';
import { MigrationRun, quick } from './migrationRun';
import {
  DEFAULT_HEARTBEAT_TIMEOUT,
  type JobContext,
  type LoadKnobs,
  type MigrationProgress,
  type SourceSummary,
  type TargetContext,
  type VerificationOutcome,
} from '../core/migration/types';
import type { VectorIndexType } from '../core/postgres/layouts/types';

export { cancelSignal, pauseSignal, progressQuery, resumeSignal, stepProgressSignal };

/** One job; how it loads (collections at once, parallelism, batches per activity and per run): LoadKnobs. */
export interface MigrationInput extends LoadKnobs {
  job: JobContext;
  /** staged: backup → staging → verify → promote; direct: the same without the backup */
  mode: 'staged' | 'direct';
  batchSize: number;
  skipVerify: boolean;
  /** refuse to promote when the verification found fitted values or left-out records (--strict) */
  strict?: boolean;
  /** the backup archive gzip-compressed (--backup-compression gzip); default a plain tar */
  backupCodec?: 'gzip';
  /** a backup made by an earlier run of the same job (resume): Phase 1 is not repeated */
  existingBackupId?: string | null;
  /** the HybridRAG registry entry switched to PostgreSQL after promote */
  registry?: { path: string; name: string };
  /**
   * How long a long activity may go without a heartbeat before Temporal retries it elsewhere,
   * i.e. how soon the work of a crashed worker is picked up (default 30 seconds; activities
   * heartbeat every 5 s, or a third of this when shorter). Tests shorten it.
   */
  heartbeatTimeout?: Duration;
  /** stop once this phase is reached (the programmatic API runs the phases one call at a time) */
  stopAfter?: 'prepared' | 'staged' | 'verified';
  /** an earlier run of this job got that far: skip loading (verify) or loading and verifying (promote) */
  startAt?: 'verify' | 'promote';
}

export type MigrationOutcome = 'promoted' | 'verification_failed' | 'cancelled' | 'stopped';

export interface MigrationResult {
  outcome: MigrationOutcome;
  jobId: string;
  backupId: string | null;
  progress: MigrationProgress;
  source: SourceSummary;
  verification?: VerificationOutcome;
  notes: string[];
  /** promoted: the vector index built (what LightRAG's POSTGRES_VECTOR_INDEX_TYPE must say) */
  vectorIndex?: VectorIndexType;
}

function longActivities(input: MigrationInput) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '12 hours',
    heartbeatTimeout: input.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT,
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
  });
}

/**
 * One migration job of one database into one target, in the four phases of the original guide:
 * backup (staged only) → staging → verify → promote. Between phases a pause holds the job and a
 * cancel ends it; `stopAfter` and `startAt` let the API run the phases one call at a time.
 */
export async function migrationWorkflow(input: MigrationInput): Promise<MigrationResult> {
  const run = new MigrationRun(input);
  const early: EarlySteps = {};
  try {
    if (input.mode === 'staged') {
      await backupPhase(run, input, early);
      if (input.stopAfter === 'prepared') return run.stopped();
      if (await run.betweenPhases()) return run.cancelled();
    }

    const { source, target } = await planPhase(run, input, early);
    if (!input.startAt) await stagingPhase(run, input, source, target, early);
    if (run.tracker.cancelRequested) return run.cancelled();
    if (input.stopAfter === 'staged') return run.stopped();
    if (await run.betweenPhases()) return run.cancelled();

    const verification = await verifyPhase(run, input, source, target, early);
    if (verification && !verification.passed) return run.verificationFailed(verification);
    if (input.stopAfter === 'verified') return run.stopped(verification);
    if (await run.betweenPhases()) return run.cancelled(verification);

    await promotePhase(run, input, target);
    return run.promoted(verification);
  } catch (error) {
    if (!isCancellation(error)) await run.recordFailure(innermostFailureMessage(error));
    throw error;
  }
}

/**
 * Steps started ahead of their phase, whose results the phase takes: planning runs alongside the
 * backup, the verification alongside the index build (each reads what the other does not write).
 */
interface EarlySteps {
  planning?: Promise<SourceSummary>;
  verification?: Promise<VerificationOutcome>;
}

/** Phase 1: backup of the database folder, unless an earlier run of the same job made one. */
async function backupPhase(run: MigrationRun, input: MigrationInput, early: EarlySteps): Promise<void> {
  const { job } = input;
  run.nextPhase();
  run.tracker.backupId = input.existingBackupId ?? null;
  if (!run.tracker.backupId) {
    await run.enter('creating backup');
    // The planning pass reads the files the backup reads and neither writes them (plans go to
    // .migration_plans, which is not backed up): it runs alongside, so the backup's reading and
    // the planner's scanning share the time. Its result is taken in Phase 2, as before.
    if (input.stopAfter !== 'prepared') {
      early.planning = longActivities(input).planSource({ job, batchSize: input.batchSize });
      early.planning.catch(() => undefined); // observed in planPhase; a failed backup ends the job first
    }
    const backup = {
      databasePath: job.databasePath,
      databaseName: job.databaseName,
      reportProgress: true,
      ...(input.backupCodec ? { codec: input.backupCodec } : {}),
    };
    const made = await run.longStep('backup', () => longActivities(input).backupDatabase(backup), 'backup');
    run.tracker.backupId = made.backupId;
  }
  await run.enter(`backup ${run.tracker.backupId}`, 'prepared');
}

/** Phase 2 begins: every source file planned in batches; what the target tables are follows from it. */
async function planPhase(
  run: MigrationRun,
  input: MigrationInput,
  early: EarlySteps,
): Promise<{ source: SourceSummary; target: TargetContext }> {
  const { job, batchSize } = input;
  run.nextPhase();
  await run.enter('planning the source files');
  const source = await run.longStep(
    'planning',
    () => early.planning ?? longActivities(input).planSource({ job, batchSize }),
  );
  const model = job.embeddingModel ?? source.embeddingModel;
  const target: TargetContext = { job, dimension: source.dimension, ...(model ? { embeddingModel: model } : {}) };
  run.planned(source, target);
  return { source, target };
}

/** Phase 2: staging tables, every collection loaded by its child workflow, then joins and indexes. */
async function stagingPhase(
  run: MigrationRun,
  input: MigrationInput,
  source: SourceSummary,
  target: TargetContext,
  early: EarlySteps,
): Promise<void> {
  const long = longActivities(input);
  run.tracker.segmentStarted('staging', Date.now());
  await run.enter('preparing staging tables');
  run.notes.push(...(await quick.prepareTarget({ ...target, batchSize: input.batchSize })).notes);
  await loadCollections(run, input, target, source.collections);
  if (run.tracker.cancelRequested || (await run.betweenPhases())) return;

  await run.enter('finishing staging (joins, duplicates)');
  run.notes.push(...(await run.longStep('staging', () => long.finishStaging(target))).notes);
  if (await run.betweenPhases()) return;

  await run.enter('building indexes');
  // The verification reads the staged rows, which the index build does not change: it starts
  // with the build (the build is PostgreSQL's CPU, the verify's source pass the worker's) and its
  // result is taken in Phase 3 as before. Not with halfvec, whose build rewrites the vector column.
  const { job } = input;
  if (
    !input.skipVerify &&
    !input.stopAfter &&
    !input.startAt &&
    job.vectorIndex !== 'hnsw_halfvec' &&
    job.highDimensionIndex !== 'halfvec'
  ) {
    run.tracker.expectAlongside('verify');
    early.verification = long.verifyStaging({ ...target, expected: source });
    early.verification.catch(() => undefined); // observed in verifyPhase
  }
  await run.longStep('indexBuild', () => long.buildIndexes(target), 'indexes');
  await run.enter('data in staging tables', 'staged');
}

/**
 * Phase 3 (direct: 2): the staged rows compared with the source (direct mode verifies too: staging
 * makes that free). Undefined when skipped, or verified by an earlier run of this job.
 */
async function verifyPhase(
  run: MigrationRun,
  input: MigrationInput,
  expected: SourceSummary,
  target: TargetContext,
  early: EarlySteps,
): Promise<VerificationOutcome | undefined> {
  run.nextPhase();
  if (input.startAt === 'promote') return undefined;
  if (input.skipVerify) {
    run.notes.push(
      'verification skipped (--skip-verify): the staged data was promoted without being compared to the source',
    );
    await run.enter('verification skipped', 'verified', { verificationPassed: false });
    return undefined;
  }
  await run.enter('verifying staged data');
  const verified = await run.longStep(
    'verify',
    () => early.verification ?? longActivities(input).verifyStaging({ ...target, expected }),
    'verify',
  );
  const refused = input.strict ? strictRefusal(verified) : undefined;
  const verification = refused ? { ...verified, passed: false, summary: [...verified.summary, refused] } : verified;
  if (verification.passed) await run.enter('verification passed', 'verified');
  return verification;
}

/** Why --strict refuses to promote these staged rows, or undefined when every record is stored exactly. */
function strictRefusal(v: VerificationOutcome): string | undefined {
  if (v.fittedValues === 0 && v.leftOut === 0) return undefined;
  return `--strict: ${v.fittedValues} values fitted and ${v.leftOut} records left out (see ${v.reportFile})`;
}

/** Phase 4 (direct: 3): promote, in one transaction (the previous generation is kept for rollback). */
async function promotePhase(run: MigrationRun, input: MigrationInput, target: TargetContext): Promise<void> {
  run.nextPhase();
  await run.enter('promoting staging to production');
  const promoted = await run.longStep('promote', () => longActivities(input).promote(target), 'promote');
  run.notes.push(...promoted.notes);
  run.promotedWith(promoted.vectorIndex);
  if (input.registry) await quick.switchRegistry({ ...input.registry, job: input.job, stamp: input.job.jobId });
}
